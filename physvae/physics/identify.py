"""System identification: the parameters of stated physics (a ``KnownPhysics``) that best carry each frame's
state to the next one's, from state trajectories sampled Δt apart.

Used to say what a model's predictions *do* in physical units: the same fit on the true states (the estimator's
own error), on states read from the observed frames and on states read from the predicted ones. It needs no
linearization and holds at any amplitude, unlike the eigen-analysis of a one-step map at rest.

The fit is least squares (scipy) of x_{t+1} − Φ_Δt(x_t; θ) over every pair of consecutive frames, Φ classical
Runge–Kutta with ``substeps`` steps per interval, angle residuals wrapped to (−π, π], each state column scaled
by its spread. Parameters are fitted unconstrained, from ``param_init``: a damping the physics keeps positive can
come out negative here, which is what a model whose predictions gain energy should be told.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.optimize import least_squares

from simulators import ConfigError

from .base import PHYSICS, KnownPhysics


def readable(ph: KnownPhysics, names: Sequence[str]) -> bool:
    """Whether targets named ``names`` (see ``metrics.probe.probe_targets``) give every state column of ``ph``."""
    return all(
        {f"sin_{s}", f"cos_{s}"} <= set(names) if i in ph.angles else s in names
        for i, s in enumerate(ph.state_names)
    )


def read_states(ph: KnownPhysics, targets: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The state of ``ph`` (..., S) from probe targets (..., K) named ``names``: an angle as atan2 of its
    ``sin_``/``cos_`` targets, every other column by its own name."""
    if not readable(ph, names):
        raise ConfigError(
            f"targets {list(names)} do not give the state {ph.state_names} of physics {ph.name!r}"
        )
    idx = {n: i for i, n in enumerate(names)}
    cols = [
        np.arctan2(targets[..., idx[f"sin_{s}"]], targets[..., idx[f"cos_{s}"]])
        if i in ph.angles
        else targets[..., idx[s]]
        for i, s in enumerate(ph.state_names)
    ]
    return np.stack(cols, -1)


def physics_for(
    state_names: Sequence[str], param_names: Sequence[str], targets: Sequence[str], input_dim: int = 0
):
    """The registered physics taking ``input_dim`` control inputs whose state the targets give and whose every
    parameter follows from a dataset's parameters named ``param_names``; None where none does."""
    dummy = np.ones((1, len(param_names)))
    for ph in PHYSICS.values():
        if (
            ph.input_dim != input_dim
            or not readable(ph, targets)
            or not set(ph.state_names) <= set(state_names)
        ):
            continue
        if set(ph.true_params(param_names, dummy)) == set(ph.param_names):
            return ph
    return None


def needed_params(ph: KnownPhysics, limit: int = 16) -> list[str]:
    """The dataset parameter names ``ph``'s truth reads, found by asking it with ever more of them (a missing
    one raises its KeyError); [] where it has no truth."""
    if ph.truth is None:
        return []
    names: list[str] = []
    for _ in range(limit):
        try:
            ph.truth({n: np.ones(1) for n in names})
            return names
        except KeyError as e:
            names.append(str(e.args[0]))
    return names


def no_physics_reason(
    state_names: Sequence[str], param_names: Sequence[str], targets: Sequence[str], input_dim: int = 0
) -> str:
    """Why ``physics_for`` found none: what each registered physics taking ``input_dim`` inputs needs, beside
    what the dataset has."""
    wants = []
    for ph in PHYSICS.values():
        if ph.input_dim != input_dim:
            continue
        states = ", ".join(f"{s} (angle)" if i in ph.angles else s for i, s in enumerate(ph.state_names))
        if ph.truth is None and ph.param_names:
            wants.append(f"{ph.name} has no true parameters to compare with")
            continue
        wants.append(
            f"{ph.name} needs states {states} and parameters {', '.join(needed_params(ph)) or 'none'}"
        )
    have = f"the data has states {', '.join(state_names) or 'none'}; parameters {', '.join(param_names) or 'none'}"
    return (
        f"no registered physics with {input_dim} inputs has this dataset's state and parameters: "
        + "; ".join(wants)
        + f" ({have}; name them so at import: --state-names, --state-kinds, --param-names)"
    )


def flow(
    ph: KnownPhysics, x: torch.Tensor, params: torch.Tensor, dt: float, substeps: int, u: torch.Tensor | None
) -> torch.Tensor:
    """Φ_Δt: states x (N, S) -> (N, S) after Δt by ``substeps`` classical Runge–Kutta steps; params (P,), u
    (N, U) held over the interval or None."""
    p = params.expand(len(x), -1)
    h = dt / substeps
    for _ in range(substeps):
        k1 = ph.rhs(x, p, u)
        k2 = ph.rhs(x + h / 2 * k1, p, u)
        k3 = ph.rhs(x + h / 2 * k2, p, u)
        k4 = ph.rhs(x + h * k3, p, u)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def fit(
    ph: KnownPhysics, states: np.ndarray, dt: float, inputs: np.ndarray | None = None, substeps: int = 4
) -> dict[str, float]:
    """Parameters {name: value} of ``ph`` fitted to trajectories states (N, T, S), frames ``dt`` seconds apart;
    inputs (N, ≥ T − 1, U): u_t held from frame t to t + 1, for physics that takes them.

    Raises ConfigError for fewer than two frames, a state of the wrong width, non-finite states, or inputs that
    the physics does not take or of the wrong shape.
    """
    states = np.asarray(states, dtype=np.float64)
    if states.ndim != 3 or states.shape[1] < 2 or states.shape[2] != ph.state_dim:
        raise ConfigError(
            f"states must be (N, T ≥ 2, {ph.state_dim}) for physics {ph.name!r}, got {states.shape}"
        )
    if not np.isfinite(states).all():
        raise ConfigError("states hold NaN or inf: no parameters can be fitted to them")
    u = _inputs(ph, inputs, states.shape)
    x0 = torch.from_numpy(states[:, :-1].reshape(-1, ph.state_dim))
    x1 = torch.from_numpy(states[:, 1:].reshape(-1, ph.state_dim))
    angle = torch.zeros(ph.state_dim, dtype=torch.bool)
    angle[list(ph.angles)] = True
    scale = torch.where(angle, torch.ones(()), x1.std(0).clamp(min=1e-9))

    def residuals(w: np.ndarray) -> np.ndarray:
        r = ph.difference(x1, flow(ph, x0, torch.from_numpy(w), dt, substeps, u))
        return (r / scale).flatten().numpy()

    result = least_squares(
        residuals, np.asarray(ph.param_init, dtype=np.float64), method="trf", x_scale="jac"
    )
    return dict(zip(ph.param_names, result.x.tolist()))


def _inputs(ph: KnownPhysics, inputs: np.ndarray | None, shape: tuple) -> torch.Tensor | None:
    """inputs (N, ≥ T − 1, U) -> the ones acting over each interval, (N·(T − 1), U); None without."""
    if inputs is None and not ph.input_dim:
        return None
    n, t_len = shape[:2]
    if inputs is None or not ph.input_dim:
        raise ConfigError(
            f"physics {ph.name!r} takes {ph.input_dim} inputs; inputs given: {inputs is not None}"
        )
    u = np.asarray(inputs, dtype=np.float64)
    if u.ndim != 3 or u.shape[0] != n or u.shape[1] < t_len - 1 or u.shape[2] != ph.input_dim:
        raise ConfigError(f"inputs must be ({n}, ≥ {t_len - 1}, {ph.input_dim}), got {u.shape}")
    return torch.from_numpy(np.ascontiguousarray(u[:, : t_len - 1]).reshape(-1, ph.input_dim))
