import numpy as np
import pytest

from simulators import DM_GREY, PALETTE, SYSTEMS, RenderConfig, Scene
from simulators.render import object_colors, render, render_dense


def _scene(name, n=6, n_frames=12, dt=0.1):
    """A system's default scene, reduced to its first disc (no rods) so the centroid is that disc's centre."""
    system = SYSTEMS[name]()
    rngs = [np.random.default_rng(i) for i in range(n)]
    traj = system.simulate(rngs, n_frames, dt)
    full = system.scene(traj)
    return system, traj, Scene(discs=full.discs[:, :, :1], radii=full.radii[:, :1], extent=full.extent), rngs


@pytest.mark.parametrize("name", sorted(SYSTEMS))
@pytest.mark.parametrize("size", [16, 32, 64])
def test_centroid_matches_state_of_same_frame(name, size):
    """Intensity-weighted centroid of each frame = the drawn object's position in that frame (catches off-by-one
    frames and flipped axes)."""
    system, traj, scene, rngs = _scene(name)
    cfg = RenderConfig(size=size)
    frames = render(scene, object_colors(cfg, rngs, 1), cfg)[..., 0].astype(float)  # (N, T, H, W)
    centres = np.arange(size) + 0.5
    mass = frames.sum(axis=(-1, -2))
    col = (frames.sum(axis=-2) * centres).sum(-1) / mass
    row = (frames.sum(axis=-1) * centres).sum(-1) / mass
    xmin, xmax, ymin, ymax = scene.extent
    scale = size / (xmax - xmin)
    x, y = scene.discs[..., 0, 0], scene.discs[..., 0, 1]
    inside = (x - xmin > scene.radii[:, :1] + 1 / scale) & (xmax - x > scene.radii[:, :1] + 1 / scale)
    inside &= (y - ymin > scene.radii[:, :1] + 1 / scale) & (ymax - y > scene.radii[:, :1] + 1 / scale)
    assert inside.mean() > 0.5
    np.testing.assert_allclose(col[inside], ((x - xmin) * scale)[inside], atol=0.1)
    np.testing.assert_allclose(row[inside], ((ymax - y) * scale)[inside], atol=0.1)


def test_binarized_frames_hold_only_two_values():
    _, _, scene, rngs = _scene("balls")
    cfg = RenderConfig(size=32, binarize=True)
    frames = render(scene, object_colors(cfg, rngs, 1), cfg)
    assert set(np.unique(frames)) == {0, 255}


@pytest.mark.parametrize(
    "cfg",
    [
        RenderConfig(size=16),
        RenderConfig(size=32, channels=3, background=DM_GREY, colors=list(PALETTE), random_colors=True),
        RenderConfig(size=32, flip_y=True, shape="bar", border=1, line_color=(0.3, 0.3, 0.3)),
    ],
)
def test_patch_renderer_matches_dense_reference(cfg):
    from simulators import BallsConfig, BouncingBalls

    system = BouncingBalls(BallsConfig(n_balls=3, init="uniform"))
    rngs = [np.random.default_rng(i) for i in range(5)]
    scene = system.scene(system.simulate(rngs, 10, 0.2))
    colors = object_colors(cfg, rngs, 3)
    fast, slow = render(scene, colors, cfg), render_dense(scene, colors, cfg)
    assert np.abs(fast.astype(int) - slow).max() <= 1  # 8-bit compositing where discs overlap


def test_rod_is_drawn_between_pivot_and_bob():
    from simulators import Pendulum, PendulumConfig

    system = Pendulum(PendulumConfig(draw_rod=True, theta0=(0.0, 0.0), omega0=(0.0, 0.0)))
    rngs = [np.random.default_rng(0)]
    scene = system.scene(system.simulate(rngs, 2, 0.1))
    cfg = RenderConfig(size=32)
    img = render(scene, object_colors(cfg, rngs, 1), cfg)[0, 0, ..., 0]
    assert img[16:24, 15:17].min() > 0  # hanging straight down: a vertical rod under the centre
    assert img[:14].max() == 0  # nothing above the pivot


def _one_disc(x, y, r, extent=(0.0, 32.0, 0.0, 32.0), walls=None):
    """One sequence, one frame, one disc of radius r at (x, y): in a 32-unit extent, one pixel per unit at 32×32."""
    return Scene(discs=np.array([[[[x, y]]]]), radii=np.array([[r]]), extent=extent, walls=walls)


def _draw_one(scene, **kw):
    cfg = RenderConfig(size=32, **kw)
    return render(scene, object_colors(cfg, [np.random.default_rng(0)], 1), cfg)[0, 0]


def test_flip_y_makes_array_row_grow_with_y():
    scene = _one_disc(16.0, 8.0, 3.0)  # low in the world: y = 8 of 32
    rows = np.arange(32) + 0.5
    for flip, row in [(False, 24.0), (True, 8.0)]:
        img = _draw_one(scene, flip_y=flip)[..., 0].astype(float)
        assert abs((img.sum(1) * rows).sum() / img.sum() - row) < 0.05


def test_bar_is_2r_long_and_2r_over_3_thick():
    img = _draw_one(_one_disc(16.0, 16.0, 6.0), shape="bar")[..., 0]
    lit = np.argwhere(img > 0)
    assert (lit.min(0) == [14, 10]).all() and (lit.max(0) == [17, 21]).all()  # rows 14-17, columns 10-21
    assert (img[14:18, 10:22] == 255).all() and (img > 0).sum() == 4 * 12
    disc = _draw_one(_one_disc(16.0, 16.0, 6.0))[..., 0]
    assert disc[10, 16] > 0 and img[10, 16] == 0  # a disc reaches 6 px above its centre, a bar does not


def test_border_is_drawn_along_the_edges():
    img = _draw_one(_one_disc(16.0, 16.0, 3.0), border=2, line_color=(0.5, 0.5, 0.5))[..., 0]
    edge = np.ones((32, 32), dtype=bool)
    edge[2:-2, 2:-2] = False
    assert (img[edge] == 128).all() and edge.sum() == 240
    assert img[2:10, 2:10].max() == 0  # inside the border, away from the disc: background


def test_walls_are_1px_lines_through_their_pixels():
    """KVAE's box: walls at world 0 and 28 in a view from −2 to 30 light pixels 2 and 30 of each axis."""
    scene = _one_disc(14.0, 14.0, 3.0, extent=(-2.0, 30.0, -2.0, 30.0), walls=(0.0, 28.0, 0.0, 28.0))
    for flip in (False, True):
        img = _draw_one(scene, flip_y=flip)[..., 0]
        lines = np.zeros((32, 32), dtype=bool)
        lines[[2, 30], 2:31] = lines[2:31, [2, 30]] = True
        assert (img[lines] == 255).all() and lines.sum() == 4 * 28
        assert img[~lines & (np.abs(np.arange(32) - 16)[:, None] > 5)].max() == 0


@pytest.mark.parametrize(
    "channels,background,expect", [(1, (0.5, 0.5, 0.5), [128]), (3, (0.2, 0.4, 0.6), [51, 102, 153])]
)
def test_background_level_and_colour(channels, background, expect):
    img = _draw_one(_one_disc(16.0, 16.0, 3.0), channels=channels, background=background)
    assert (img[0, 0] == expect).all() and (img[:8, :8] == img[0, 0]).all()


def test_sensor_noise_is_seeded_zero_mean_and_of_its_std():
    from simulators import preset
    from simulators.generate import make_chunk

    cfg = preset("dvbf_pendulum16", splits={"train": 4}, n_frames=6)
    cfg.render.background = (0.5, 0.5, 0.5)  # mid-grey: no clipping at 0 or 255 around the background
    clean = make_chunk(cfg, "train", 0, 4)["frames"].astype(float)
    cfg.render.noise = 0.05
    noisy, again = (make_chunk(cfg, "train", 0, 4)["frames"] for _ in range(2))
    assert (noisy == again).all()  # drawn from each sequence's own stream
    diff = noisy.astype(float) - clean
    assert abs(diff.mean()) < 0.5 and abs(diff.std() - 0.05 * 255) < 0.5


def test_noisy_data_keeps_its_frames_before_the_noise(tmp_path):
    from simulators import generate, load_dataset, preset
    from simulators.generate import make_chunk

    cfg = preset("dvbf_pendulum16", splits={"train": 3, "test": 2}, n_frames=5)
    plain = make_chunk(cfg, "test", 0, 2)
    assert "frames_clean" not in plain
    cfg.render.binarize, cfg.render.noise = False, 0.05
    chunk = make_chunk(cfg, "test", 0, 2)
    cfg.render.noise = 0.0
    np.testing.assert_array_equal(chunk["frames_clean"], make_chunk(cfg, "test", 0, 2)["frames"])
    assert (chunk["frames"] != chunk["frames_clean"]).mean() > 0.4  # black: half the draws clip to 0
    cfg.render.noise = 0.05
    data = load_dataset(generate(cfg, tmp_path / "d"))  # written, checksummed and read back
    np.testing.assert_array_equal(data["test"].frames_clean, chunk["frames_clean"])
    np.testing.assert_array_equal(data["test"].frames, chunk["frames"])


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("shape", "square", "render.shape must be one of"),
        ("border", 16, "render.border 16 leaves no image"),
        ("border", -1, "render.border must be an integer >= 0"),
        ("noise", -0.1, "render.noise must be a finite number >= 0"),
        ("line_color", (1.0, 2.0, 0.0), "render.line_color must be three numbers"),
    ],
)
def test_render_options_are_validated(field, value, message):
    from simulators import ConfigError

    with pytest.raises(ConfigError, match=message):
        RenderConfig(size=32, **{field: value}).validate()
    with pytest.raises(ConfigError, match="render.noise needs render.binarize = false"):
        RenderConfig(noise=0.1, binarize=True).validate()
