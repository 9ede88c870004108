import numpy as np
import pytest
import torch

from physvae.metrics import readout as ro
from simulators import DM_GREY, DM_HUES, PALETTE, RenderConfig, Scene
from simulators.render import add_noise, render

HALF = 1.4  # the scene spans [−HALF, HALF]² in world units


def _drawn(cfg: RenderConfig, n: int = 40, t: int = 3, seed: int = 0):
    """Frames (n, t, H, W, C) in [0, 1] of one disc at random known positions, radii and palette colours, with
    the true (row, col) centres (n, t, 2), radii (n,) in pixels and colours (n, C)."""
    rng = np.random.default_rng(seed)
    scale = cfg.size / (2 * HALF)
    radius = rng.uniform(2.0, 5.0, n) / scale  # world units
    centre = rng.uniform(-HALF, HALF, (n, t, 1, 2)) * (1 - 1.2 * radius[:, None, None, None] / HALF)
    palette = np.asarray(cfg.colors, dtype=np.float32)
    colors = palette[rng.integers(0, len(palette), n)][:, None, :]  # (n, 1, 3)
    if cfg.channels == 1:
        colors = (colors @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    scene = Scene(discs=centre, radii=radius[:, None], extent=(-HALF, HALF, -HALF, HALF))
    frames = render(scene, colors, cfg) / 255.0
    rowcol = np.stack([(HALF - centre[..., 0, 1]) * scale, (centre[..., 0, 0] + HALF) * scale], -1)
    return frames, rowcol, radius * scale, colors[:, 0]


RGB = RenderConfig(size=32, channels=3, background=DM_GREY, colors=list(DM_HUES))
GREY = RenderConfig(size=32, channels=1, colors=list(PALETTE))


@pytest.mark.parametrize("cfg", [RGB, GREY], ids=["rgb-on-grey", "luminance-on-black"])
def test_readout_of_discs_drawn_at_known_places(cfg):
    """Centroid within a tenth of a pixel, colour within one grey level, area within 3 % of the drawn coverage's
    integral ∫ clip(r + ½ − ρ, 0, 1) dA = π (r² + 1/12)."""
    frames, rowcol, radius, colors = _drawn(cfg)
    bg = cfg.background if cfg.channels == 3 else 0.0
    np.testing.assert_allclose(ro.centroids(frames, bg), rowcol, atol=0.1)
    np.testing.assert_allclose(
        ro.mean_color(frames, bg), np.broadcast_to(colors[:, None], (40, 3, cfg.channels)), atol=1 / 255
    )
    np.testing.assert_allclose(
        ro.area(frames, bg), np.broadcast_to(np.pi * (radius[:, None] ** 2 + 1 / 12), (40, 3)), rtol=0.03
    )


def test_mask_holds_the_disc_and_nothing_far_from_it():
    frames, rowcol, radius, _ = _drawn(RGB, n=10, t=1)
    mask = ro.object_mask(frames, DM_GREY)[:, 0]  # (n, H, W)
    centres = np.arange(32) + 0.5
    dist = np.hypot(
        centres[None, :, None] - rowcol[:, 0, 0, None, None],
        centres[None, None, :] - rowcol[:, 0, 1, None, None],
    )
    assert mask[dist < radius[:, None, None] - 0.5].all()
    assert not mask[dist > radius[:, None, None] + 0.5].any()


def test_channels_first_and_torch_give_the_same_numbers():
    frames, *_ = _drawn(RGB, n=5)
    first = torch.from_numpy(np.moveaxis(frames, -1, -3)).float().requires_grad_()
    for fn in (ro.centroids, ro.mean_color, ro.area):
        np.testing.assert_allclose(fn(first, DM_GREY, channel_axis=-3), fn(frames, DM_GREY), atol=1e-5)
    u8 = np.rint(frames * 255).astype(np.uint8)
    np.testing.assert_allclose(ro.centroids(u8, DM_GREY), ro.centroids(frames, DM_GREY), atol=1e-9)


def test_background_image_with_lines():
    """A per-pixel background (a border drawn in the line colour) is subtracted pixel by pixel."""
    cfg = RenderConfig(size=32, channels=3, background=DM_GREY, colors=list(DM_HUES), border=2)
    frames, rowcol, _, colors = _drawn(cfg, n=10, t=1)
    empty = Scene(
        discs=np.full((1, 1, 1, 2), 10 * HALF), radii=np.full((1, 1), 0.1), extent=(-HALF, HALF, -HALF, HALF)
    )
    bg = render(empty, np.zeros((1, 1, 3), np.float32), cfg)[0, 0] / 255.0  # (H, W, C), border included
    inside = (rowcol[:, 0] > 7).all(-1) & (rowcol[:, 0] < 25).all(-1)  # discs clear of the border
    np.testing.assert_allclose(ro.centroids(frames, bg)[inside, 0], rowcol[inside, 0], atol=0.1)
    np.testing.assert_allclose(ro.mean_color(frames, bg)[inside, 0], colors[inside], atol=1 / 255)


def test_sensor_noise_moves_the_centroid_little():
    frames, rowcol, *_ = _drawn(RGB, n=20, t=1)
    noisy = add_noise(
        np.rint(frames * 255).astype(np.uint8), [np.random.default_rng(i) for i in range(20)], 0.01
    )
    np.testing.assert_allclose(ro.centroids(noisy, DM_GREY), rowcol, atol=0.25)


def test_empty_frames_and_bad_layouts():
    empty = np.broadcast_to(np.asarray(DM_GREY), (2, 8, 8, 3))
    assert np.isnan(ro.centroids(empty, DM_GREY)).all() and np.isnan(ro.mean_color(empty, DM_GREY)).all()
    np.testing.assert_array_equal(ro.area(empty, DM_GREY), 0.0)
    assert not ro.object_mask(empty, DM_GREY).any()
    with pytest.raises(ValueError, match="channel_axis must be -1"):
        ro.centroids(empty, DM_GREY, channel_axis=1)
    with pytest.raises(ValueError, match="frames must be"):
        ro.area(np.zeros((8, 8)), 0.0)
