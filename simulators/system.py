"""The interface every simulated system implements, and the objects that pass between simulation and drawing.

A system turns per-trajectory random generators into trajectories of true physical state (``simulate``) and
says what each frame shows (``scene``): discs and rods in world coordinates inside a fixed world extent.
Rendering, storage and loading are shared by all systems.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError
from .events import EventLabels

STATE_KINDS = (
    "angle",  # wrapped angle, rad: read through its sin and cos (the raw value jumps at ±π)
    "coordinate",  # a position or generalized coordinate
    "velocity",  # a time derivative of a coordinate: only the dynamics reveal it, one frame does not
    "derived",  # a function of other columns (sin θ, a bob's x): shown in the frame, not a new degree of freedom
    "energy",  # a conserved or dissipated energy
    "other",
)


def check_kinds(kinds: Sequence[str], n: int, where: str) -> list[str]:
    """Return ``kinds`` as a list if it holds ``n`` entries of STATE_KINDS, else raise ConfigError naming ``where``."""
    kinds = list(kinds)
    if len(kinds) != n:
        raise ConfigError(f"{where}: {len(kinds)} state kinds for {n} state columns")
    bad = [k for k in kinds if k not in STATE_KINDS]
    if bad:
        raise ConfigError(f"{where}: unknown state kind {bad[0]!r}; known kinds: {list(STATE_KINDS)}")
    return kinds


@dataclass(frozen=True)
class Trajectories:
    """True physical state of N trajectories of T frames.

    Attributes:
        states: (N, T, D) float64, the state that frame t shows (same instant, not one step ahead).
        params: (N, P) float64, per-sequence physical parameters.
        inputs: (N, T, U) float64 control inputs applied from frame t to t+1, or None.
        events: the anomaly labels (``events.EventLabels``), or None without events.
    """

    states: np.ndarray
    params: np.ndarray
    inputs: np.ndarray | None = None
    events: EventLabels | None = None


@dataclass(frozen=True)
class Scene:
    """What the frames show, in world coordinates (y up).

    Attributes:
        discs: (N, T, K, 2) centres of K discs per frame.
        radii: (N, K) disc radii in world units.
        extent: (xmin, xmax, ymin, ymax) of the world area the image covers.
        rods: (N, T, R, 2, 2) segment end points drawn under the discs, or None.
        rod_width: rod width in world units.
        walls: (xmin, xmax, ymin, ymax) of a box drawn as 1-px lines under everything else, or None.
    """

    discs: np.ndarray
    radii: np.ndarray
    extent: tuple[float, float, float, float]
    rods: np.ndarray | None = None
    rod_width: float = 0.0
    walls: tuple[float, float, float, float] | None = None


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
    def state_kinds(self) -> list[str]:
        """One of STATE_KINDS per state column; evaluation reads angles through sin and cos and probes the rest.
        Default: every column a plain coordinate."""
        return ["coordinate"] * len(self.state_names)

    @property
    def param_units(self) -> list[str]:
        """Units of the per-sequence parameters (default: unitless)."""
        return [""] * len(self.param_names)

    @property
    def input_names(self) -> list[str]:
        return []

    @property
    def event_kinds(self) -> list[str]:
        """Anomaly event kinds this config injects (``events.EVENT_NAMES``); [] when it injects none."""
        return []

    reference_names: tuple[
        str, ...
    ] = ()  # what ``reference_dynamics`` gives, e.g. ("natural_frequency", "damping")
    reference_units: tuple[str, ...] = ()

    def reference_dynamics(self, params: np.ndarray) -> np.ndarray:
        """The true dynamics a learned model should recover, per sequence: params (N, P) -> (N, R) with R =
        len(reference_names). ``natural_frequency`` is the small-oscillation angular frequency ω₀ (rad per time
        unit), ``damping`` the γ of ẍ = −ω₀² x − γ ẋ (per time unit). Default: none."""
        return np.zeros((len(params), 0))

    @property
    def n_objects(self) -> int:
        """Number of discs drawn per frame (colours are assigned per object)."""
        raise NotImplementedError

    def simulate(self, rngs: Sequence[np.random.Generator], n_frames: int, dt: float) -> Trajectories:
        """Simulate one trajectory per generator; trajectory i draws only from rngs[i]."""
        raise NotImplementedError

    def substeps(self, dt: float) -> int:
        """Solver steps per frame interval of ``dt``: what one frame costs (checked before generating)."""
        return 1

    def scene(self, traj: Trajectories) -> Scene:
        """Describe what each frame of ``traj`` shows."""
        raise NotImplementedError

    def ood_config(self):
        """A config whose initial energies (or parameters) lie outside this one's ranges, for an OOD test split.

        Raises ConfigError where a system defines none, so asking for ``--ood`` is an error rather than an
        in-distribution split marked out of distribution."""
        raise ConfigError(
            f"system {self.name!r} defines no out-of-distribution config; drop --ood / ood_splits"
        )
