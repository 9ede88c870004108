"""The interface every simulated system implements, and the objects that pass between simulation and drawing.

A system turns per-trajectory random generators into trajectories of true physical state (``simulate``) and
says what each frame shows (``scene``): discs and rods in world coordinates inside a fixed world extent.
Rendering, storage and loading are shared by all systems.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Trajectories:
    """True physical state of N trajectories of T frames.

    Attributes:
        states: (N, T, D) float64, the state that frame t shows (same instant, not one step ahead).
        params: (N, P) float64, per-sequence physical parameters.
        inputs: (N, T, U) float64 control inputs applied from frame t to t+1, or None.
    """

    states: np.ndarray
    params: np.ndarray
    inputs: np.ndarray | None = None


@dataclass(frozen=True)
class Scene:
    """What the frames show, in world coordinates (y up).

    Attributes:
        discs: (N, T, K, 2) centres of K discs per frame.
        radii: (N, K) disc radii in world units.
        extent: (xmin, xmax, ymin, ymax) of the world area the image covers.
        rods: (N, T, R, 2, 2) segment end points drawn under the discs, or None.
        rod_width: rod width in world units.
    """

    discs: np.ndarray
    radii: np.ndarray
    extent: tuple[float, float, float, float]
    rods: np.ndarray | None = None
    rod_width: float = 0.0


class System:
    """Base class of simulated systems. Subclasses set the class attributes and implement the three methods.

    Class attributes:
        name: registry key, e.g. "pendulum".
        config_class: the dataclass holding this system's parameters.
    """

    name: str = ""
    config_class: type = object

    def __init__(self, config=None):
        self.config = config if config is not None else self.config_class()
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the field if the config is invalid."""

    @property
    def state_names(self) -> list[str]:
        raise NotImplementedError

    @property
    def state_units(self) -> list[str]:
        raise NotImplementedError

    @property
    def param_names(self) -> list[str]:
        raise NotImplementedError

    @property
    def input_names(self) -> list[str]:
        return []

    @property
    def n_objects(self) -> int:
        """Number of discs drawn per frame (colours are assigned per object)."""
        raise NotImplementedError

    def simulate(self, rngs: Sequence[np.random.Generator], n_frames: int, dt: float) -> Trajectories:
        """Simulate one trajectory per generator; trajectory i draws only from rngs[i]."""
        raise NotImplementedError

    def scene(self, traj: Trajectories) -> Scene:
        """Describe what each frame of ``traj`` shows."""
        raise NotImplementedError

    def ood_config(self):
        """A config whose initial states or parameters lie outside this one's ranges (for an OOD test split)."""
        raise NotImplementedError
