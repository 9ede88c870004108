"""What the learned dynamics say in physical units, beside the reference dynamics the dataset declares (e.g.
small-angle frequency and damping per sequence).

Every transition is linearized at rest: the one-step map's Jacobian at the posterior latent of the test frames of
lowest true energy (the mean latent of the lowest 1 %), whose observed oscillating eigen-pair (the one whose
modal coordinates in the test latents best read the true velocities, ``metrics.dynamics.observed_oscillation``;
without states the slowest-decaying pair) gives a frequency and a damping comparable with a small-angle
reference. Where the data has no energy column (video imported without one), the rest point is where the learned
dynamics themselves rest: their most stable fixed point among the test latents (``rest_point``), where it is stable
(spectral radius at most ``STABLE``); ``at_rest.rest`` says which rest point was used, ``no_rest_point`` why there
is none. Where the data seldom rests (an undamped pendulum swinging wide), even its lowest-energy frames move,
the rest point lies outside what the model saw and its linearization extrapolates: ``at_rest.motion`` (the RMS
true velocity of those frames over the data's, 0 at rest, about 1 where they move as fast as the data does)
says how far, and ``describe`` warns above ``RESTLESS``. A (locally) linear transition also reports the
eigen-analysis of its usage-weighted mean map and of each regime. Beside the learned figures, where the data has
an energy column, the baseline that needs no transition model: a linear map fitted by least squares to the test
posterior's consecutive latents near rest (``posterior_map``; ``recovered.*.posterior_map``), what the inferred
latents do there, and its ceiling, the same map fitted to the true state's angle, coordinate and velocity columns
(``state_map``). The posterior fuses the frames' evidence with the transition's prior, so its map is not free of
the transition: it shows whether the inferred motion (frames and dynamics together) holds the data's dynamics.
``recovered`` compares the at-rest figures with
the reference (the mean map's where no rest point is found)."""

from __future__ import annotations

import numpy as np
import torch

from ..metrics.dynamics import modes, observed_oscillation, oscillation
from ..metrics.probe import target_kinds
from .posterior_map import SHARE, posterior_map
from .rest_point import find_rest_point, jacobian, one_step
from .sections import Section


class Dynamics(Section):
    name = "dynamics"
    columns = {
        "learned_frequency": "recovered.natural_frequency.learned",
        "learned_damping": "recovered.damping.learned",
        "damping_error": "recovered.damping.relative_error",
        "frequency_error": "recovered.natural_frequency.relative_error",
        "rest_motion": "at_rest.motion",
        "posterior_map_frequency": "recovered.natural_frequency.posterior_map",
        "posterior_map_damping": "recovered.damping.posterior_map",
        "state_map_frequency": "recovered.natural_frequency.state_map",
        "state_map_damping": "recovered.damping.state_map",
    }

    def run(self, ctx) -> dict:
        split, tr, dt = ctx.test, ctx.model.transition, ctx.test.dt
        out: dict = {"transition": type(tr).__name__, "dt": dt}
        reference = _reference(split)
        if reference:
            out["reference"] = reference
        z = ctx.test_latents.z
        states, kinds = ctx.test_latents.states, ctx.test.state_kinds
        picked = _rest_frames(states, kinds)
        pick = _picker(ctx, z)
        osc = None
        if picked is not None:
            rest = z.reshape(-1, z.shape[-1])[picked].mean(0)
            J = step_jacobian(tr, torch.from_numpy(rest).float().to(ctx.device), dt)
            osc = pick(J)
            out["at_rest"] = {
                "rest": "lowest-energy frames",
                "oscillation": osc,
                "modes": [m.to_dict() for m in modes(J, dt)],
            }
            motion = rest_motion(states, kinds, picked)
            if motion is not None:
                out["at_rest"]["motion"] = motion
        else:  # no energy column: where the learned dynamics themselves rest
            out.update(_at_fixed_point(ctx, z, pick))
            osc = (out.get("at_rest") or {}).get("oscillation")
        if picked is not None:
            out.update(_maps_near_rest(ctx, z, pick))
        with torch.no_grad():
            maps = tr.linear_maps(torch.from_numpy(z.reshape(-1, z.shape[-1])).float().to(ctx.device))
        if maps is not None:
            mean_map = maps.mean_map.cpu().numpy()
            out["mean_map"] = {
                "oscillation": pick(mean_map),
                "modes": [m.to_dict() for m in modes(mean_map, dt)],
            }
            out["regimes"] = [
                {"usage": float(u), "oscillation": oscillation(A, dt), "eigenvalues": _eigenvalues(A)}
                for u, A in zip(maps.usage.cpu().numpy(), maps.maps.detach().cpu().numpy())
            ]
            osc = osc if "at_rest" in out else out["mean_map"]["oscillation"]
        if osc and reference:
            out["recovered"] = {
                k: {"learned": osc[k], "true": v, "relative_error": abs(osc[k] - v) / abs(v) if v else None}
                for k, v in reference.items()
                if k in osc
            }
            for name in ("posterior_map", "state_map"):
                base = (out.get(name) or {}).get("oscillation") or {}
                for k, r in out["recovered"].items():
                    if k in base:
                        r[name] = base[k]
        return out


# the true state's columns its own linear map (the posterior map's ceiling) is fitted on
STATE_MAP_KINDS = ("angle", "coordinate", "velocity")
CARRIED_KINDS = ("angle", "coordinate", "derived", "velocity")  # what the observed pair may be asked to read


def _picker(ctx, z: np.ndarray):
    """map (D, D) -> its observed oscillation given the test latents z (N, T, D) and their true states: the pair
    that best reads the velocity targets (only the dynamics reveal them; a second-order quantity such as cos θ
    near rest is no linear mode's), or the angle, coordinate and derived ones where the data has no velocity;
    the slowest-decaying pair where it has none of these."""
    dt, states = ctx.test.dt, ctx.test_latents.states
    names, kinds = ctx.test.state_names, ctx.test.state_kinds
    if not names or not states.size:
        return lambda A: oscillation(A, dt)
    y, _ = ctx.targets(states)
    target = target_kinds(names, kinds)
    wanted = ("velocity",) if "velocity" in target else CARRIED_KINDS
    keep = [i for i, k in enumerate(target) if k in wanted]
    if not keep:
        return lambda A: oscillation(A, dt)
    zf, yf = z.reshape(-1, z.shape[-1]), y.reshape(-1, y.shape[-1])[:, keep]
    return lambda A: observed_oscillation(A, dt, zf, yf)


WEAK_PAIR = 0.5  # a read pair whose modal coordinates read the state at a lower R² is no clear mode of it


def describe(out: dict) -> list[str]:
    """Lines for a person from the section's output: the recovered figures beside the data's, which pair they
    were read from, and a warning where that pair reads the state weakly (the figures may mean nothing)."""
    recovered = out.get("recovered")
    if not recovered:
        return []
    figures = ", ".join(
        f"{name.replace('_', ' ')} {r['learned']:.3g} (data {r['true']:.3g}"
        + (f", {r['relative_error']:.0%} off)" if r["relative_error"] is not None else ")")
        for name, r in recovered.items()
    )
    rest = (out.get("at_rest") or {}).get("rest", "")
    suffix = f" ({rest})" if "fixed" in rest else ""
    where = "at rest" + suffix if "at_rest" in out else "from the mean map"
    osc = (out.get("at_rest") or out.get("mean_map") or {}).get("oscillation") or {}
    lines = [f"dynamics {where}: {figures}"]
    if "r2" in osc:
        runner = "" if osc.get("runner_up") is None else f", next pair {osc['runner_up']:.2f}"
        lines[0] += (
            f"; read from the pair whose modal coordinates read the state at R² {osc['r2']:.2f}{runner}"
        )
        if osc["r2"] < WEAK_PAIR:
            lines.append(
                f"warning: no oscillating pair of the learned dynamics reads the state well (best R² "
                f"{osc['r2']:.2f} < {WEAK_PAIR}); these frequency and damping figures may not describe the data"
            )
    elif osc.get("selected"):
        lines[0] += f"; {osc['selected']}"
    base = {k: r["posterior_map"] for k, r in recovered.items() if r.get("posterior_map") is not None}
    if base:
        ceiling = {k: r["state_map"] for k, r in recovered.items() if r.get("state_map") is not None}
        lines.append(
            "baseline: the posterior latents' own linear map near rest (least squares on the lowest-energy "
            f"{SHARE:.0%} of consecutive test latents): "
            + ", ".join(f"{k.replace('_', ' ')} {v:.3g}" for k, v in base.items())
            + (
                "; the same map of the true state: "
                + ", ".join(f"{k.replace('_', ' ')} {v:.3g}" for k, v in ceiling.items())
                if ceiling
                else ""
            )
        )
    lines += _damping_resolution(out)
    motion = (out.get("at_rest") or {}).get("motion")
    if motion is not None and motion > RESTLESS:
        lines.append(
            f"warning: the data seldom rests: its lowest-energy frames still move ({motion:.2f} of the velocities' "
            f"RMS spread > {RESTLESS}), so the linearization at rest extrapolates beyond the frames the model saw; "
            "trust the learned energy (energy section) or the stated system fitted to the predictions (trajectories)"
        )
    return lines


FAR_OFF = 0.5  # a recovered damping off by more than this (relative) gets its resolution explained


def _damping_resolution(out: dict) -> list[str]:
    """Where the recovered damping is far off: how little of one step's map it rests on. γ is read from the
    modulus of the pair's eigenvalue, |λ| = exp(−γ Δt / 2), which at a small γ Δt sits within a hair of 1, so
    a map a fraction of a percent off moves γ by a lot while the motion over many steps still follows the data."""
    r = (out.get("recovered") or {}).get("damping")
    dt = out.get("dt")
    if not r or not dt or r["relative_error"] is None or r["relative_error"] <= FAR_OFF:
        return []
    learned, true = (float(np.exp(-g * dt / 2)) for g in (r["learned"], r["true"]))
    per_mille = 2 * 1e-3 / dt  # γ moved by a 0.1 % change of |λ|
    return [
        f"note: the damping comes from one step's eigenvalue modulus |λ| = exp(−γ Δt/2): {learned:.4f} learned "
        f"against {true:.4f} for the data's γ ({abs(learned - true) / true:.2%} apart); at Δt = {dt:g} s a 0.1 % "
        f"change of |λ| moves γ by {per_mille:.2g} 1/s — the damping the predicted frames follow (trajectories, "
        "where the dataset names its physics) reads the whole motion"
    ]


def step_jacobian(tr, z: torch.Tensor, dt: float) -> np.ndarray:
    """The Jacobian (D, D) of the transition's one-step mean at latent z (D,), no control, initial state."""
    return jacobian(one_step(tr, dt, z.device), z, z.device)


def _at_fixed_point(ctx, z: np.ndarray, pick) -> dict:
    """The section's ``at_rest`` read at the learned dynamics' most stable fixed point among the test latents z
    (N, T, D) where it is a rest, else ``no_rest_point`` (and the unstable point where there is one)."""
    tr, dt = ctx.model.transition, ctx.test.dt
    point = find_rest_point(one_step(tr, dt, ctx.device), _sample(z), ctx.device)
    if point is None or point.radius > STABLE:
        out = {"no_rest_point": _no_rest(point)}
        if point is not None:  # where the learned dynamics come nearest to resting, and grow
            out["unstable_fixed_point"] = point.to_dict()
        return out
    at_rest = {
        "rest": "fixed point of the learned dynamics",
        "fixed_point": point.to_dict(),
        "oscillation": pick(point.jacobian),
        "modes": [m.to_dict() for m in modes(point.jacobian, dt)],
    }
    return {"at_rest": at_rest}


def _maps_near_rest(ctx, z: np.ndarray, pick) -> dict:
    """The baselines beside the learned figures (data with an energy column): the least-squares linear map near
    rest of the posterior latents z (N, T, D) (``posterior_map``) and of the true state (``state_map``)."""
    states, kinds, dt = ctx.test_latents.states, ctx.test.state_kinds, ctx.test.dt
    energy, inputs = states[..., kinds.index("energy")], _inputs(ctx)
    out = {}
    A = posterior_map(z, energy, inputs)
    if A is not None:
        out["posterior_map"] = {"oscillation": pick(A), "share": SHARE}
    carried = [i for i, k in enumerate(kinds) if k in STATE_MAP_KINDS]
    A = posterior_map(states[..., carried], energy, inputs) if carried else None
    if A is not None:
        out["state_map"] = {
            "oscillation": oscillation(A, dt),
            "columns": [ctx.test.state_names[i] for i in carried],
        }
    return out


STABLE = 1.01  # a fixed point whose Jacobian's spectral radius exceeds this: the learned dynamics grow there


def _no_rest(point) -> str:
    """Why data without an energy column got no rest point: no fixed point among the test latents, or only ones
    where the learned dynamics grow (``point``: the most stable of them)."""
    why = "the data have no energy column and "
    if point is None:
        return why + "no fixed point of the learned one-step map lies among the test latents"
    return why + (
        f"the learned one-step map's most stable fixed point among the test latents has spectral radius "
        f"{point.radius:.4f} > {STABLE}: the learned dynamics grow there, they have no rest"
    )


def _inputs(ctx) -> np.ndarray | None:
    """The scored test sequences' control inputs (N, T, U), or None where the data has none."""
    inputs = ctx.test.inputs
    return None if inputs is None else np.asarray(inputs[: len(ctx.test_latents.z)], dtype=np.float64)


FIXED_POINT_FRAMES = 2000  # test latents the fixed-point search scores its starts on (evenly spaced)


def _sample(z: np.ndarray) -> np.ndarray:
    """At most ``FIXED_POINT_FRAMES`` of the test latents z (N, T, D), evenly spaced: (M, D)."""
    flat = z.reshape(-1, z.shape[-1])
    return flat[np.linspace(0, len(flat) - 1, min(len(flat), FIXED_POINT_FRAMES)).astype(int)]


def _rest_frames(states: np.ndarray, kinds: list[str]) -> np.ndarray | None:
    """Flat indices of the 1 % of frames (at least one) of lowest true energy in states (N, T, S); None without
    an energy column."""
    if "energy" not in kinds or not states.size:
        return None
    energy = states[..., kinds.index("energy")].ravel()
    return np.argsort(energy)[: max(1, len(energy) // 100)]


RESTLESS = 0.3  # at_rest.motion above this: the "rest" frames still move; the linearization extrapolates


def rest_motion(states: np.ndarray, kinds: list[str], picked: np.ndarray) -> float | None:
    """How far from rest the frames ``picked`` (flat indices) are: the RMS of their true velocities over the RMS
    spread of all frames' velocities (summed over velocity columns). 0 where they rest; None without velocity
    columns or spread."""
    cols = [i for i, k in enumerate(kinds) if k == "velocity"]
    if not cols:
        return None
    v = states.reshape(-1, states.shape[-1])[:, cols]
    spread = float(v.var(0).sum())
    if not spread > 0:
        return None
    return float(np.sqrt((v[picked] ** 2).sum(-1).mean() / spread))


def _reference(split) -> dict[str, float]:
    """The dataset's reference dynamics, averaged over the split's sequences: {name: value}."""
    if split.reference is None or not split.reference_names:
        return {}
    ref = np.asarray(split.reference, dtype=np.float64)
    return {n: float(ref[:, i].mean()) for i, n in enumerate(split.reference_names)}


def _eigenvalues(A: np.ndarray) -> list[list[float]]:
    """[[re, im], ...] of a map's eigenvalues."""
    return [[float(v.real), float(v.imag)] for v in np.linalg.eigvals(np.asarray(A, dtype=np.float64))]
