"""Controllable synthesis: set one physical quantity in a sequence's latent, roll the dynamics out, decode, and
measure from the rendered frames (no model) whether the change is the one requested.

Steps for each test sequence and each requested value v:
    1. z_c: the posterior mean after the first ``n_context`` frames (the filter sees those frames only).
    2. the edit, ``via``:
        probe — the linear probe (fit on the training split's posterior means, as the evaluation's) is moved to
            read v, by the smallest change of z_c (in the latents' own covariance, ``LinearProbe.edit``) that sets
            the quantity's rows and holds the rows named beside it (the angle holds θ̇; θ̇ and a speed hold the
            position; the energy sets the angle and θ̇ of the state of that energy nearest the one read, with the
            sequence's true m, l, g);
        latent — the physical latent of the ``physics`` transition: its state y = chart(z) gets the value, or a
            stated parameter does (for the whole rollout).
    3. the transition's mean rolled out ``horizon`` frames from the edited z_c; every latent decoded.
    4. measured from the decoded frames with ``physvae.metrics.motion`` (object centroid -> world position ->
       angle, angular velocity, energy, speed, or the stated parameters fitted to the angle's path).
The figure of merit is the Pearson correlation of requested and measured values over the sweep (pooled over
sequences); measured angles are unwrapped along the sweep (see ``correlation``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from simulators import ConfigError, Dataset, integer

from .metrics import motion
from .metrics.probe import probe_targets
from .physics.quantities import LATENT_STATE, QUANTITIES, probe_targets_for, quantity_truth

FIRST_INTERVALS = 3  # frame intervals after the edit over which rates (θ̇, energy, speed) are measured


VIA = ("probe", "latent")


@dataclass
class SynthesisConfig:
    """What to set and how to sweep it."""

    quantity: str = "angle"  # key of QUANTITIES, or a stated parameter of a ``physics`` run (via="latent")
    via: str = "probe"  # "probe": along the linear probe's rows; "latent": the physics transition's latent
    values: list[float] = field(
        default_factory=list
    )  # requested values ([]: ``steps`` from the data's range)
    steps: int = 9  # values in the default sweep
    n_sequences: int = 8  # test sequences edited (the first ones)
    n_context: int = 5  # frames the posterior is inferred from before the edit
    horizon: int = 20  # frames rolled out after the edited one
    split: str = "test"  # sequences edited
    train_split: str = "train"  # the probe is fit here

    def validate(self) -> SynthesisConfig:
        if self.via not in VIA:
            raise ConfigError(f"synthesis via must be one of {VIA}, got {self.via!r}")
        for name in ("steps", "n_sequences", "n_context", "horizon"):
            integer(f"synthesis.{name}", getattr(self, name), minimum=2 if name == "steps" else 1)
        if self.horizon < FIRST_INTERVALS + 1:
            raise ConfigError(f"synthesis.horizon must be at least {FIRST_INTERVALS + 1}, got {self.horizon}")
        return self


@dataclass
class LinearProbe:
    """target (..., K) = z (..., D) @ weight.T + bias; one row per name. ``cov`` (D, D) is the covariance of the
    latents it was fit on (None: the identity)."""

    weight: np.ndarray  # (K, D)
    bias: np.ndarray  # (K,)
    names: list[str]
    cov: np.ndarray | None = None

    def read(self, z: np.ndarray) -> dict[str, np.ndarray]:
        y = z @ self.weight.T + self.bias
        return {n: y[..., i] for i, n in enumerate(self.names)}

    def edit(self, z: np.ndarray, targets: dict[str, np.ndarray], holds: tuple[str, ...]) -> np.ndarray:
        """The smallest change of z (N, D), in the Mahalanobis norm of the latents' covariance Σ, after which
        the rows A in ``targets`` read their values (N,) and the rows in ``holds`` read what they read before:
        Δ = Σ Aᵀ (A Σ Aᵀ)⁺ r. Measured in Σ, a change runs along the directions in which the latents do vary
        with the quantity (the probe's pattern), not along its weights alone, which may lean on directions the
        decoder ignores."""
        rows = [self.names.index(n) for n in (*targets, *holds)]
        now = self.read(z)
        r = np.stack([targets[n] - now[n] for n in targets] + [np.zeros(len(z))] * len(holds), -1)  # (N, K')
        a = self.weight[rows]  # (K', D)
        cov = np.eye(a.shape[1]) if self.cov is None else self.cov
        gain = cov @ a.T @ np.linalg.pinv(a @ cov @ a.T)  # (D, K')
        return z + r @ gain.T


def fit_probe(z: np.ndarray, states: np.ndarray, names: list[str], kinds: list[str]) -> LinearProbe:
    """OLS from latents z (N, T, D) to the probe targets of states (N, T, S) (``probe_targets``), with the
    latents' covariance for ``LinearProbe.edit``."""
    from sklearn.linear_model import LinearRegression

    y, target_names = probe_targets(states, names, kinds)
    flat = z.reshape(-1, z.shape[-1])
    reg = LinearRegression().fit(flat, y.reshape(-1, y.shape[-1]))
    cov = np.atleast_2d(np.cov(flat, rowvar=False))
    return LinearProbe(np.atleast_2d(reg.coef_), np.atleast_1d(reg.intercept_), target_names, cov)


def check_quantity(name: str, via: str, system: str, transition) -> None:
    """ConfigError unless ``name`` can be set ``via`` for a run of ``transition`` on data of ``system``."""
    stated = getattr(transition, "physics", None)  # a latent that holds a stated system's state
    has_params = stated is not None and callable(getattr(transition, "global_params", None))
    params = list(stated.param_names) if has_params else []
    if name in params:
        if via != "latent":
            raise ConfigError(
                f"quantity {name!r} is a stated parameter of the physics transition: use via='latent'"
            )
        if system != "pendulum":
            raise ConfigError(f"measuring {name!r} from frames is done for the pendulum only, not {system!r}")
        return
    if name not in QUANTITIES:
        known = sorted(QUANTITIES) + params
        raise ConfigError(f"unknown quantity {name!r}; known quantities: {known}")
    want = QUANTITIES[name].system
    if system != want:
        raise ConfigError(f"quantity {name!r} belongs to {want} data; this data is {system!r}")
    if via == "latent" and (stated is None or name not in ("angle", "angular_velocity")):
        raise ConfigError(
            f"via='latent' sets the state (angle, angular_velocity) a latent holds in a stated system's "
            f"coordinates (physics, or hamiltonian or neural_ode with coordinates) or a physics transition's "
            f"parameters {params}; quantity {name!r} on a {type(transition).__name__} transition needs via='probe'"
        )


def latent_edit(transition, z: torch.Tensor, state, name: str, value: float):
    """Set ``name`` in the physics transition's latent z (N, D) (its state) or in its parameters (carried as the
    transition's per-sequence offsets, ``state``): returns (z, state)."""
    ph = transition.physics
    if name in ph.param_names:
        i = _position(ph.param_names, name)
        w = transition.w.expand(len(z), -1) if state is None else transition.w + state
        w = w.clone()
        w[:, i] = transition.unconstrain(torch.full_like(transition.w, value))[i]
        return z, w - transition.w
    e = transition.embed_dim
    y = ph.chart(z[:, :e]).clone()
    y[:, _position(ph.state_names, LATENT_STATE[name])] = value
    return torch.cat([ph.embed(y), z[:, e:]], -1), state


@torch.no_grad()
def rollout_edits(model, z0: torch.Tensor, state, u, edit, values, horizon: int) -> torch.Tensor:
    """Edited rollouts decoded to mean frames (N, V, 1 + horizon, C, H, W), frame 0 the edited one.

    Args:
        model: a TemporalVAE (its transition, decoder and likelihood are used).
        z0: (N, D) latents to edit; state: the transition's state with them (``Posterior.state``).
        u: (N, horizon, U) controls of the rollout, or None.
        edit: (z (N, D), state, value) -> (edited z, state).
        values: the V requested values.
    """
    out = []
    for v in values:
        z, s = edit(z0, state, v)
        z = torch.cat([z[:, None], model.transition.rollout(z, horizon, model.spec.dt, u, s)], 1)
        out.append(model.likelihood.mean(model.decode(z)))
    return torch.stack(out, 1)


def measure(name: str, xy: np.ndarray, dt: float, params: np.ndarray | None = None, u=None) -> np.ndarray:
    """The quantity read from object positions xy (N, V, T, 2) of rendered rollouts (frame 0 the edited one):
    (N, V). ``params`` (N, 4) are the true pendulum parameters (energy), ``u`` (N, T) the torques (parameters)."""
    k = FIRST_INTERVALS
    if name == "speed":
        return motion.speed(xy[..., : k + 1, :], dt).mean(-1)
    theta = motion.pendulum_angle(xy)  # (N, V, T)
    if name == "angle":
        return theta[..., 0]
    if name == "angular_velocity":
        return motion.angular_velocity(theta[..., : k + 1], dt).mean(-1)
    if name == "energy":
        omega = motion.angular_velocity(theta[..., : k + 1], dt)
        mid = theta[..., :k] + 0.5 * omega * dt
        return motion.pendulum_energy(mid, omega, params[:, None, None, :]).mean(-1)
    uu = None if u is None else np.broadcast_to(u[:, None], theta.shape)
    fitted = motion.pendulum_parameters(theta, dt, uu)
    return fitted[name]


def correlation(requested: np.ndarray, measured: np.ndarray, circular: bool = False) -> dict:
    """Pearson r, least-squares slope and RMS error of measured (N, V) against requested (V,), pooled over
    sequences; ``circular``: each sequence's measured angles unwrapped along the sweep (steps under π), then
    moved by whole turns to lie nearest the requested ones. NaNs (an empty frame) are left out and counted."""
    req = np.broadcast_to(requested, measured.shape)
    meas = np.stack([_unwrap_near(m, requested) for m in measured]) if circular else measured
    ok = np.isfinite(meas)
    x, y = req[ok], meas[ok]
    r = float(np.corrcoef(x, y)[0, 1]) if ok.sum() > 1 and x.std() > 0 and y.std() > 0 else float("nan")
    slope = float(np.polyfit(x, y, 1)[0]) if ok.sum() > 1 and x.std() > 0 else float("nan")
    rmse = float(np.sqrt(np.mean((y - x) ** 2))) if ok.any() else float("nan")
    return {"pearson_r": r, "slope": slope, "rmse": rmse, "n": int(ok.sum()), "missing": int((~ok).sum())}


def _unwrap_near(angles: np.ndarray, requested: np.ndarray) -> np.ndarray:
    """Angles (V,) unwrapped along the sweep, shifted by the whole turns that bring them nearest ``requested``."""
    out, ok = np.full(angles.shape, np.nan), np.isfinite(angles)
    if ok.any():
        a = np.unwrap(angles[ok])
        out[ok] = a + 2 * np.pi * np.round(np.mean(requested[ok] - a) / (2 * np.pi))
    return out


@dataclass
class SynthesisResult:
    """A sweep: requested values (V,), measured values (N, V) (angles unwrapped along the sweep), the decoded rollouts (N, V, T, C, H, W) in [0, 1]
    and the summary (``correlation``'s dict plus the settings)."""

    requested: np.ndarray
    measured: np.ndarray
    frames: np.ndarray
    summary: dict


def synthesize(model, data: Dataset, cfg: SynthesisConfig) -> SynthesisResult:
    """Sweep ``cfg.quantity`` over ``cfg.values`` in the first test sequences of ``data`` (see the module
    docstring). Raises ConfigError for a quantity this model or data cannot set, before any work."""
    from .evaluation import EvalConfig
    from .evaluation.context import EvalContext

    cfg.validate()
    system = str(data.meta.get("system", ""))
    check_quantity(cfg.quantity, cfg.via, system, model.transition)
    test = data[cfg.split]
    if len(test) == 0 or test.frames.shape[1] < cfg.n_context:
        raise ConfigError(
            f"split {cfg.split!r} must hold sequences of at least synthesis.n_context = {cfg.n_context} frames"
        )
    ctx = EvalContext(model, data, EvalConfig(train_split=cfg.train_split, test_split=cfg.split))
    train = ctx.train_latents
    values = np.asarray(cfg.values or default_sweep(cfg, model, train.states, test.state_names), dtype=float)
    n = min(cfg.n_sequences, len(test))
    edit = _edit_fn(cfg, model, train, test, np.asarray(test.params[:n]))
    frames, u = _edited_rollouts(model, ctx.dataset(test).batch(np.arange(n)), cfg, edit, values)
    xy = _calibration(data[cfg.train_split]).positions(frames, channel_axis=-3)
    measured = measure(cfg.quantity, xy, model.spec.dt, np.asarray(test.params[:n]), u)
    if cfg.quantity == "angle":  # reported as compared: unwrapped along the sweep
        measured = np.stack([_unwrap_near(m, values) for m in measured])
    summary = {
        "quantity": cfg.quantity,
        "via": cfg.via,
        "unit": _unit(cfg.quantity, model.transition),
        "requested": values.tolist(),
        "sequences": n,
        "n_context": cfg.n_context,
        "horizon": cfg.horizon,
        **correlation(values, measured),
    }
    return SynthesisResult(values, measured, frames, summary)


def _unit(quantity: str, transition) -> str:
    """The unit of a motion quantity, or of a stated parameter of the physics transition ('' where none is known)."""
    if quantity in QUANTITIES:
        return QUANTITIES[quantity].unit
    physics = getattr(transition, "physics", None)
    if physics is not None and quantity in physics.param_names:
        return dict(zip(physics.param_names, physics.param_units))[quantity]
    return ""


def _edited_rollouts(
    model, batch, cfg: SynthesisConfig, edit, values
) -> tuple[np.ndarray, np.ndarray | None]:
    """Decoded rollouts (N, V, 1 + horizon, C, H, W) of a Batch edited after its first ``n_context`` frames
    (the filter over the context alone, as ``TemporalVAE.predict`` conditions; the sequence's own controls
    drive the rollout, zeros after they run out), and the rollout's first control (N, 1 + horizon) (u_t acts
    after frame t; the last is 0), or None."""
    c, batch = cfg.n_context, batch.to(model.device)
    inputs = batch.inputs
    with torch.no_grad():
        post = model.infer(batch.frames[:, :c], None, None if inputs is None else inputs[:, :c], sample=False)
    u = None if inputs is None else _controls(inputs[:, c - 1 :], cfg.horizon)
    frames = rollout_edits(model, post.z[:, -1], post.state, u, edit, values, cfg.horizon).cpu().numpy()
    if u is None:
        return frames, None
    return frames, np.concatenate([u[..., 0].cpu().numpy(), np.zeros((len(u), 1))], 1)


def _controls(u: torch.Tensor, horizon: int) -> torch.Tensor:
    """The first ``horizon`` controls of u (N, T, U); zeros after the sequence's own run out."""
    pad = torch.zeros(len(u), max(0, horizon - u.shape[1]), u.shape[2], dtype=u.dtype, device=u.device)
    return torch.cat([u[:, :horizon], pad], 1)


def default_sweep(cfg: SynthesisConfig, model, states: np.ndarray, state_names: list[str]) -> np.ndarray:
    """``cfg.steps`` values from the 5th to the 95th percentile of the quantity in the training data (a stated
    parameter: from half to twice its learned global value)."""
    if cfg.quantity not in QUANTITIES:
        ph = model.transition.physics
        base = float(model.transition.global_params().detach()[_position(ph.param_names, cfg.quantity)])
        return base * np.geomspace(0.5, 2.0, cfg.steps)
    truth = quantity_truth(cfg.quantity, states, state_names)
    lo, hi = np.percentile(truth, [5, 95])
    return np.linspace(lo, hi, cfg.steps)


def _edit_fn(cfg: SynthesisConfig, model, train, test, params: np.ndarray):
    """(z, state, value) -> (z, state) for ``cfg.via``; ``params`` (N, P) of the edited sequences."""
    if cfg.via == "latent":
        return lambda z, state, v: latent_edit(model.transition, z, state, cfg.quantity, v)
    probe = fit_probe(train.z, train.states, test.state_names, test.state_kinds)
    holds = QUANTITIES[cfg.quantity].holds

    def edit(z, state, v):
        z_np = z.cpu().numpy().astype(np.float64)
        moved = probe.edit(z_np, probe_targets_for(cfg.quantity, probe, z_np, v, params), holds)
        return torch.as_tensor(moved, dtype=z.dtype, device=z.device), state

    return edit


def _position(names: list[str], name: str) -> int:
    """Where the requested ``name`` (already checked by ``check_quantity``) sits in ``names``."""
    return {n: i for i, n in enumerate(names)}[name]


def _calibration(split) -> motion.Calibration:
    """The pixel -> world map of a split's frames and true positions (pendulum bob x, y; the first ball)."""
    names = split.state_names
    cols = [names.index(c) for c in (("x", "y") if "x" in names else ("x0", "y0"))]
    return motion.calibrate(np.asarray(split.frames), np.asarray(split.states)[..., cols])


def write_synthesis(result: SynthesisResult, out) -> list:
    """``synthesis.json`` (the summary and the measured values), ``synthesis.png`` and ``synthesis.gif`` in
    folder ``out``; returns their paths."""
    from pathlib import Path

    from simulators import write_json_atomic

    from .viz.synthesis import sweep_figure, sweep_gif

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    record = {
        **result.summary,
        "measured": np.where(np.isfinite(result.measured), result.measured, None).tolist(),
    }
    return [
        write_json_atomic(out / "synthesis.json", record),
        sweep_figure(result, out / "synthesis.png"),
        sweep_gif(result, out / "synthesis.gif"),
    ]
