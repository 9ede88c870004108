"""Stated physics for the ``physics`` transition: a right-hand side dy/dt = f(y, θ, u) in torch, with named
unknown parameters θ, in the form of a ``simulators.ODESystem`` right-hand side.

A ``KnownPhysics`` says which state columns are angles (embedded in the latent as (cos, sin)), which parameters
are positive (learned through their logarithm) and how the parameters follow from a dataset's own parameters
(``truth``), so that evaluation can score what was recovered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from simulators import ConfigError

Rhs = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]
Points = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Truth = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


@dataclass
class KnownPhysics:
    """dy/dt = rhs(y, params, u) for a batch: y (B, S), params (B, P), u (B, U) or None -> (B, S).

    Attributes:
        name: registry key (``model.physics.system``).
        state_names: the S state columns of y, e.g. ["theta", "omega"].
        angles: indices of y that are angles (rad); each takes two latent dimensions (cos, sin).
        param_names: the P unknown parameters.
        param_init: their starting values (a positive parameter's must be > 0).
        positive: which parameters are kept > 0 (learned as logarithms); default all.
        param_units: units of each parameter, for reports.
        input_dim: controls the right-hand side takes (0: none).
        truth: the dataset's parameters by name ({name: (N,)}) -> the true value of each of ``param_names`` that
            can be computed from them ({name: (N,)}); None where the physics has no such mapping.
        driven: the same physics with control inputs, used where the data has them.
        orientation_free: parameters whose sign depends on the latent's orientation (a torque gain: the
            equations are unchanged by θ -> −θ except for the input's sign), compared with the truth by magnitude.
        points: where the drawn bodies are, for the ``render`` decoder: y (..., S), shape (G,) -> (..., K, 2),
            positions in the plane of motion (any units: the decoder's camera learns the scale); None: the
            physics cannot be drawn that way.
        velocities: {velocity column: position column} for the state columns that are time derivatives of
            others (the pendulum's ω = θ̇), so that velocity evidence can come from positions in neighbouring frames
            (``model.physics.velocity_evidence = "difference"``).
        shape_init: the G drawing constants ``points`` takes (e.g. an arm's length relative to another), learned
            by the decoder from these starting values.
        flow: the flow itself, for physics RK4 on ``rhs`` would get wrong (walls a ball bounces off):
            (y (B, S), params (B, P), u, Δt, substeps) -> y after Δt; None: RK4 on ``rhs`` (``advance``).
        frame_columns: {state column: dataset parameter} for parameters a dataset may save per frame as a state
            column (a drifting gravity as ``g``), so that ``frame_truth`` gives their truth frame by frame.
    """

    name: str
    state_names: list[str]
    rhs: Rhs
    param_names: list[str]
    param_init: list[float]
    angles: Sequence[int] = ()
    positive: list[bool] | None = None
    param_units: list[str] = field(default_factory=list)
    input_dim: int = 0
    truth: Truth | None = None
    driven: KnownPhysics | None = None  # the variant to use where the data has control inputs
    orientation_free: list[str] = field(default_factory=list)
    points: Points | None = None
    velocities: dict[int, int] = field(default_factory=dict)
    shape_init: list[float] = field(default_factory=list)
    flow: Callable | None = None
    frame_columns: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.positive = [True] * len(self.param_names) if self.positive is None else list(self.positive)
        self.param_units = self.param_units or [""] * len(self.param_names)
        self.validate()

    def validate(self) -> None:
        where = f"physics {self.name!r}"
        p = len(self.param_names)
        if not self.state_names:
            raise ConfigError(f"{where}: state_names must not be empty")
        if len(self.param_init) != p or len(self.positive) != p or len(self.param_units) != p:
            raise ConfigError(
                f"{where}: param_init, positive and param_units need one entry per parameter ({p})"
            )
        bad = [n for n, v, pos in zip(self.param_names, self.param_init, self.positive) if pos and not v > 0]
        if bad:
            raise ConfigError(f"{where}: the initial value of positive parameter {bad[0]!r} must be > 0")
        if any(not 0 <= i < len(self.state_names) for i in self.angles):
            raise ConfigError(f"{where}: angles must index state_names (0..{len(self.state_names) - 1})")
        pairs = list(self.velocities.items())
        if any(not 0 <= i < len(self.state_names) for pair in pairs for i in pair):
            raise ConfigError(f"{where}: velocities must map state columns (0..{len(self.state_names) - 1})")
        if any(v in self.angles for v, _ in pairs):
            raise ConfigError(f"{where}: a velocity cannot be an angle")

    def for_inputs(self, input_dim: int) -> KnownPhysics:
        """The variant for data with ``input_dim`` control inputs (this one, or ``driven``); a clear error where
        the stated physics cannot take them."""
        if input_dim == self.input_dim:
            return self
        if input_dim and self.driven is not None and self.driven.input_dim == input_dim:
            return self.driven
        if not input_dim:
            return self  # inputs are optional: u = None leaves them out of the right-hand side
        raise ConfigError(
            f"model.physics.system {self.name!r} takes {self.input_dim} control inputs but the data has {input_dim}"
        )

    @property
    def n_points(self) -> int:
        """K, the bodies ``points`` draws (0 where it cannot be drawn)."""
        if self.points is None:
            return 0
        shape = torch.tensor(self.shape_init, dtype=torch.get_default_dtype())
        return self.points(torch.zeros(1, self.state_dim), shape).shape[-2]

    @property
    def state_dim(self) -> int:
        return len(self.state_names)

    @property
    def embed_dim(self) -> int:
        """Latent dimensions the state takes: two per angle, one per other column."""
        return self.state_dim + len(self.angles)

    def embed(self, y: torch.Tensor) -> torch.Tensor:
        """State y (..., S) -> its latent coordinates (..., E): angles as (cos, sin), the rest as they are."""
        cols = []
        for i in range(self.state_dim):
            yi = y[..., i]
            cols += [torch.cos(yi), torch.sin(yi)] if i in self.angles else [yi]
        return torch.stack(cols, -1)

    def chart(self, e: torch.Tensor) -> torch.Tensor:
        """Latent coordinates (..., E) -> state y (..., S); an angle is atan2(sin, cos) of its pair."""
        cols, k = [], 0
        for i in range(self.state_dim):
            if i in self.angles:
                cols.append(torch.atan2(e[..., k + 1], e[..., k]))
                k += 2
            else:
                cols.append(e[..., k])
                k += 1
        return torch.stack(cols, -1)

    def advance(self, y: torch.Tensor, params: torch.Tensor, u, dt, substeps: int) -> torch.Tensor:
        """y (B, S) after Δt with params (B, P) and inputs u held: ``flow`` where the physics has one, else
        ``substeps`` RK4 steps of ``rhs``."""
        if self.flow is not None:
            return self.flow(y, params, u, dt, substeps)
        return rk4(lambda v: self.rhs(v, params, u), y, dt, substeps)

    def difference(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a ⊖ b (..., S) of two states: angles wrapped to [−π, π), the rest subtracted."""
        d = a - b
        if not self.angles:
            return d
        angle = torch.zeros(self.state_dim, dtype=torch.bool, device=d.device)
        angle[list(self.angles)] = True
        return torch.where(angle, torch.remainder(d + torch.pi, 2 * torch.pi) - torch.pi, d)

    def true_params(self, names: Sequence[str], values: np.ndarray) -> dict[str, np.ndarray]:
        """True values of this physics' parameters from a dataset's params (N, P_data) named ``names``:
        {param: (N,)} for those it can compute (empty when ``truth`` is None or a needed name is missing)."""
        if self.truth is None or values is None or len(values) == 0:
            return {}
        by_name = {n: np.asarray(values, dtype=np.float64)[:, i] for i, n in enumerate(names)}
        try:
            truth = self.truth(by_name)
        except KeyError:
            return {}
        return {k: np.asarray(v, dtype=np.float64) for k, v in truth.items() if k in self.param_names}

    def frame_truth(
        self, names: Sequence[str], values: np.ndarray, state_names: Sequence[str], states: np.ndarray
    ) -> dict[str, np.ndarray]:
        """``true_params`` at every frame, {param: (N, T)}: the dataset's params (N, P_data) named ``names``, with
        those it saves per frame (``frame_columns``, found in states (N, T, S) named ``state_names``) taken from
        there."""
        n, t = states.shape[:2]
        by_name = {
            k: np.repeat(np.asarray(values, dtype=np.float64)[:, i, None], t, 1) for i, k in enumerate(names)
        }
        columns = dict(zip(state_names, np.moveaxis(np.asarray(states, dtype=np.float64), -1, 0)))
        by_name.update(
            {k: columns[c] for c, k in self.frame_columns.items() if c in columns and k in by_name}
        )
        flat = list(by_name)
        truth = self.true_params(flat, np.stack([by_name[k].reshape(-1) for k in flat], -1)) if flat else {}
        return {k: v.reshape(n, t) for k, v in truth.items()}


def rk4(f: Callable[[torch.Tensor], torch.Tensor], y: torch.Tensor, dt: float, substeps: int) -> torch.Tensor:
    """y (B, S) after Δt of dy/dt = f(y) by ``substeps`` classical Runge–Kutta steps of Δt / substeps."""
    h = dt / substeps
    for _ in range(substeps):
        k1 = f(y)
        k2 = f(y + 0.5 * h * k1)
        k3 = f(y + 0.5 * h * k2)
        k4 = f(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


PHYSICS: dict[str, KnownPhysics] = {}


def register_physics(physics: KnownPhysics) -> KnownPhysics:
    """Make ``physics`` available as ``model.physics.system = "<name>"``; returns it."""
    if not isinstance(physics, KnownPhysics):
        raise ConfigError(f"register_physics needs a KnownPhysics, got {physics!r}")
    PHYSICS[physics.name] = physics
    return physics
