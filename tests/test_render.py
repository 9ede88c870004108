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
