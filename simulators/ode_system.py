"""Add a system in about 30 lines: subclass ODESystem, say how to sample, the ODE, and what to draw.

Example (see ``mass_spring.py`` for a complete one)::

    @dataclass
    class SpringConfig:
        k: tuple[float, float] = (2.0, 2.0)

    @register_system
    class Spring(ODESystem):
        name, config_class = "spring", SpringConfig
        state_names, state_units, param_names = ["q", "v"], ["m", "m/s"], ["k"]

        def sample(self, rng):                      # one trajectory: parameters (P,) and initial state (S,)
            return np.array([rng.uniform(*self.config.k)]), rng.uniform(-1, 1, size=2)

        def rhs(self, y, params):                   # vectorized: (N, S), (N, P) -> (N, S)
            return np.stack([y[:, 1], -params[:, 0] * y[:, 0]], axis=1)

        def draw(self, states, params):             # what each frame shows, world coordinates
            xy = np.stack([states[..., 0], 0 * states[..., 0]], -1)[:, :, None]   # (N, T, 1, 2)
            return Scene(discs=xy, radii=np.full((len(states), 1), 0.2), extent=(-1.5, 1.5, -1.5, 1.5))

Registered systems work with DatasetConfig, ``generate`` (pass jobs=1 for a system defined in a notebook or
script: worker processes only know systems defined in importable modules), presets, loaders and ``physvae``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .integrate import rk4_frames, substeps
from .system import Scene, System, Trajectories


class ODESystem(System):
    """A system whose state follows dy/dt = rhs(y, params), integrated by batch RK4.

    Subclasses set ``name``, ``config_class``, ``state_names``, ``state_units``, ``param_names`` and implement
    ``sample``, ``rhs`` and ``draw``; ``observe`` adds derived state columns (energy, positions) if wanted.
    """

    max_step: float = 0.01  # largest RK4 sub-step, in the system's time unit
    n_objects: int = 1  # discs drawn per frame

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Parameters (P,) and initial state (S,) of one trajectory, drawn from ``rng`` only."""
        raise NotImplementedError

    def rhs(self, y: np.ndarray, params: np.ndarray) -> np.ndarray:
        """dy/dt for a batch: y (N, S), params (N, P) -> (N, S)."""
        raise NotImplementedError

    def observe(self, y: np.ndarray, params: np.ndarray) -> np.ndarray:
        """The stored state columns (N, T, D) from the integrated state (N, T, S); default: y itself."""
        return y

    def draw(self, states: np.ndarray, params: np.ndarray) -> Scene:
        """What the frames show, from the stored states (N, T, D) and parameters (N, P)."""
        raise NotImplementedError

    def simulate(self, rngs: Sequence[np.random.Generator], n_frames: int, dt: float) -> Trajectories:
        draws = [self.sample(rng) for rng in rngs]
        params = np.stack([d[0] for d in draws]).astype(np.float64)
        y0 = np.stack([d[1] for d in draws]).astype(np.float64)
        y = rk4_frames(lambda y, p, u: self.rhs(y, p), y0, params, n_frames, dt, self.max_step)
        return Trajectories(states=self.observe(y, params), params=params)

    def substeps(self, dt: float) -> int:
        return substeps(dt, self.max_step)

    def scene(self, traj: Trajectories) -> Scene:
        return self.draw(traj.states, traj.params)
