"""Named dataset configs that reproduce the published setups in shared/REFERENCE.md.

Each preset is a function returning a DatasetConfig; ``preset(name, ...)`` applies the common overrides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from .balls import BallsConfig
from .dataset_config import DatasetConfig
from .double_pendulum import DoublePendulumConfig
from .errors import ConfigError
from .mass_spring import MassSpringConfig
from .pendulum import PendulumConfig
from .render import DM_GREY, DM_HUES, PALETTE, RenderConfig


def dvbf_pendulum16() -> DatasetConfig:
    """DVBF (Karl et al. 2017): m = l = 1, damping 0.5, g = 9.81, random torque; 16×16, 15 frames, 500/500/500."""
    params = PendulumConfig(damping=(0.5, 0.5), torque_max=2.0, bob_radius=0.3)
    return DatasetConfig(
        system="pendulum",
        params=params,
        render=RenderConfig(size=16),
        n_frames=15,
        dt=0.1,
        splits={"train": 500, "val": 500, "test": 500},
    )


def kvae_box32() -> DatasetConfig:
    """KVAE (Fraccaro et al. 2017): one ball, radius 3, speed U[10, 15], Δt 0.2; 32×32 binarized, 20 frames."""
    return DatasetConfig(
        system="balls",
        params=BallsConfig(n_balls=1, box=32.0, radius=(3.0, 3.0), speed=(10.0, 15.0), init="centre"),
        render=RenderConfig(size=32, binarize=True),
        n_frames=20,
        dt=0.2,
        splits={"train": 5000, "test": 1000},
    )


def kvae_box32_faithful() -> DatasetConfig:
    """kvae_box32 as KVAE's own generator draws it (shared/REFERENCE.md, section 2): a 28-unit box whose walls
    show as 1-px lines at pixels 2 and 30 of every frame, the start N(centre, 10²) per axis clipped inside the
    box, one physics step of 0.2 per frame, array row growing with y. Their spinning ball (a grey spoke) is not
    drawn: their loader's binarization (> 0) hides the spoke inside the disc."""
    cfg = kvae_box32()
    cfg.params = replace(cfg.params, box=28.0, margin=2.0, draw_walls=True, init="normal", substeps=1)
    cfg.render = replace(cfg.render, flip_y=True)
    return cfg


def kvae_box32_gravity() -> DatasetConfig:
    """KVAE's gravity variant: as kvae_box32 with gravity (0, −5)."""
    cfg = kvae_box32()
    cfg.params = replace(cfg.params, gravity=(0.0, -5.0))
    return cfg


DM_VIEW = 1.4  # half-width of the DM suite's PENDULUM and MASS_SPRING canvas (reach + ball radius)


def _dm_render() -> RenderConfig:
    """The DM suite's look: 32×32 RGB on their grey, a red object (hue 0), array row growing with y."""
    return RenderConfig(size=32, channels=3, background=DM_GREY, colors=[DM_HUES[0]], flip_y=True)


def dm_pendulum32() -> DatasetConfig:
    """DeepMind Hamiltonian suite PENDULUM: m 0.5, g 3, l 1, phase radius [1.3, 2.3]; 32×32 RGB on grey, Δt 0.05.

    Drawn as theirs: a red bob of radius √(m/π) on a canvas spanning ±1.4 (4.6 px at 32×32), array row growing
    with −cos q (the bob is at the top of the array at q = 0); q unwrapped and p = m l² q̇ are saved beside
    the other state columns. 256 frames, 50k train / 20k test as published: about 39 GB of frames; override
    splits for smaller runs.
    """
    params = PendulumConfig(
        mass=(0.5, 0.5),
        gravity=(3.0, 3.0),
        length=(1.0, 1.0),
        init="phase_radius",
        radius=(1.3, 2.3),
        radius_from_mass=True,
        view=DM_VIEW,
        phase_columns=True,
    )
    return DatasetConfig(
        system="pendulum",
        params=params,
        render=_dm_render(),
        n_frames=256,
        dt=0.05,
        splits={"train": 50000, "test": 20000},
    )


def dm_pendulum_colors32() -> DatasetConfig:
    """DM suite PENDULUM_COLORS: m ∈ [0.5, 1.5], g ∈ [3, 4], l ∈ [0.5, 1], one of their 6 hues per sequence."""
    cfg = dm_pendulum32()
    cfg.params = replace(cfg.params, mass=(0.5, 1.5), gravity=(3.0, 4.0), length=(0.5, 1.0))
    cfg.render = replace(cfg.render, colors=list(DM_HUES), random_colors=True)
    return cfg


def dm_mass_spring32() -> DatasetConfig:
    """DM suite MASS_SPRING: k = 2, m = 0.5, phase radius [0.1, 1.0]; 32×32 RGB on grey, Δt 0.05.

    Drawn as theirs: a red ball of radius √(m/π) moving vertically on a ±1.4 canvas, array row growing with q;
    p = m q̇ saved beside q. (Their ball also gets a random horizontal offset per sequence; ours stays at x = 0.)
    """
    cfg = dm_pendulum32()
    params = MassSpringConfig(radius_from_mass=True, vertical=True, view=DM_VIEW, phase_columns=True)
    return DatasetConfig(
        system="mass_spring",
        params=params,
        render=cfg.render,
        n_frames=cfg.n_frames,
        dt=cfg.dt,
        splits=dict(cfg.splits),
    )


def dm_double_pendulum32() -> DatasetConfig:
    """DM suite DOUBLE_PENDULUM (m = l = 1, g = 3 here); two bobs and rods, 32×32 RGB on grey, Δt 0.05.

    Our own drawing (white and red bobs, y up): shared/REFERENCE.md does not describe theirs."""
    cfg = dm_pendulum32()
    render = RenderConfig(size=32, channels=3, background=DM_GREY, colors=[PALETTE[0], PALETTE[1]])
    return DatasetConfig(
        system="double_pendulum",
        params=DoublePendulumConfig(),
        render=render,
        n_frames=cfg.n_frames,
        dt=cfg.dt,
        splits=dict(cfg.splits),
    )


PRESETS: dict[str, Callable[[], DatasetConfig]] = {
    "dvbf_pendulum16": dvbf_pendulum16,
    "kvae_box32": kvae_box32,
    "kvae_box32_faithful": kvae_box32_faithful,
    "kvae_box32_gravity": kvae_box32_gravity,
    "dm_pendulum32": dm_pendulum32,
    "dm_pendulum_colors32": dm_pendulum_colors32,
    "dm_mass_spring32": dm_mass_spring32,
    "dm_double_pendulum32": dm_double_pendulum32,
}


def preset(
    name: str,
    *,
    size: int | None = None,
    n_frames: int | None = None,
    seed: int | None = None,
    splits: dict[str, int] | None = None,
    ood: bool = False,
) -> DatasetConfig:
    """A preset with the common overrides.

    Args:
        name: key of PRESETS.
        size: image side in pixels.
        n_frames: frames per sequence.
        seed: root seed.
        splits: sequences per split, replacing the preset's.
        ood: add a "test_ood" split (as many sequences as "test") drawn outside the training ranges.
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known presets: {sorted(PRESETS)}")
    cfg = PRESETS[name]()
    if size is not None:
        cfg.render = replace(cfg.render, size=size)
    if n_frames is not None:
        cfg.n_frames = n_frames
    if seed is not None:
        cfg.seed = seed
    if splits is not None:
        cfg.splits = dict(splits)
    if ood:
        cfg.splits["test_ood"] = cfg.splits.get("test", max(cfg.splits.values()))
        cfg.ood_splits = ["test_ood"]
    return cfg
