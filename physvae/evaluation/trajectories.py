"""What the motion says in physical units: the dataset system's stated physics (``physvae.physics``) fitted to
state trajectories by ``physics.identify.fit``, with no linearization.

Four fits of the same physics, each against the dataset's true parameters (their mean over the sequences):
- ``true_states``: the true states of the predicted frames (the estimator's own error; near zero);
- ``observed``: states read by the posterior linear probe from the test frames (the read-out's error);
- ``predicted_frames``: states read by that probe from the *predicted* frames re-encoded by the model
  (``Predictions.z_frames``): the physics the model's rendered predictions follow;
- ``predicted_latents``: states read by the probe from the predicted latents themselves.

``predicted_frames`` against ``observed`` is what the learned dynamics add to the read-out's error. The
predicted frames are also fitted over each third of the horizon (``predicted_frames_by_third``): a model trained
on short windows may follow the physics early in its prediction and drift later (on the DVBF pendulum, trained on
15-frame sequences, the damping its predicted frames follow is 0.42 and 0.45 over the first two thirds of 45
frames, −0.20 over the last), which one fit over the whole horizon averages away.

The section runs where a registered physics taking the data's control inputs has its state among the probe targets
and its parameters computable from the dataset's (the pendulum: g/l and γ, and the torque gain where it is driven;
the mass on a spring: k/m and γ), on evenly timed frames.
"""

from __future__ import annotations

import numpy as np

from ..metrics.probe import linear_reader
from ..physics.identify import fit, no_physics_reason, physics_for, read_states
from .sections import Section


class Trajectories(Section):
    name = "trajectories"
    columns = {
        "traj_params": "predicted_frames.params",
        "traj_param_error": "predicted_frames.relative_error",
        "traj_observed_error": "observed.relative_error",
        "traj_latent_error": "predicted_latents.relative_error",
        "traj_thirds": "predicted_frames_by_third.by_name",
    }

    def run(self, ctx) -> dict:
        split = ctx.predict_split
        if not ctx.test.state_names or ctx.test.dt is None:
            return {"skipped": "the dataset has no true states: no physics to fit"}
        train = ctx.train_latents
        y_train, targets = ctx.targets(train.states)
        u_dim = 0 if split.inputs is None else split.inputs.shape[-1]
        ph = physics_for(ctx.test.state_names, split.param_names, targets, u_dim)
        if ph is None:
            return {"skipped": no_physics_reason(ctx.test.state_names, split.param_names, targets, u_dim)}
        if split.times is not None or ctx.test.times is not None:
            return {"skipped": "the fit steps by one Δt; these frames are unevenly timed"}
        truth = ph.true_params(split.param_names, np.asarray(split.params)[: ctx.count(split)])
        read = linear_reader(train.z, y_train)
        pred, dt, c = ctx.predictions, ctx.test.dt, ctx.cfg.n_context
        u_pred = _inputs(split, ctx.count(split), c, pred.horizon)
        u_test = _inputs(ctx.test, ctx.count(ctx.test), 0, ctx.test_latents.z.shape[1])
        runs = {
            "true_states": (read_states(ph, ctx.targets(pred.states)[0], targets), u_pred),
            "observed": (read_states(ph, read(ctx.test_latents.z), targets), u_test),
            "predicted_frames": (read_states(ph, read(pred.z_frames), targets), u_pred),
            "predicted_latents": (read_states(ph, read(pred.z), targets), u_pred),
        }
        out: dict = {
            "system": ph.name,
            "units": dict(zip(ph.param_names, ph.param_units)),
            "true": {k: float(v.mean()) for k, v in truth.items()},
        }
        if ph.orientation_free:
            out["compared_by_magnitude"] = list(ph.orientation_free)
        for name, (s, u) in runs.items():
            out[name] = _scored(ph, s, dt, u, out["true"])
        out["predicted_frames_by_third"] = _by_third(ph, *runs["predicted_frames"], dt, out["true"])
        return out


def _by_third(ph, states: np.ndarray, inputs, dt: float, true: dict[str, float]) -> dict:
    """The fit over each third of the horizon: {"frames": [[start, stop], ...] (predicted frames, 0 = the first
    after the context), "params": {name: [3 values]}, "relative_error": {name: [3 values]}, "by_name":
    {"<name>.<1|2|3>": value} (the table's columns)}; skipped for a horizon under 6 frames (each third needs two
    transitions)."""
    t_len = states.shape[1]
    if t_len < 6:
        return {"skipped": f"a horizon of {t_len} frames is too short to split in thirds"}
    cuts = [round(i * t_len / 3) for i in range(4)]
    parts = [
        _scored(ph, states[:, a:b], dt, None if inputs is None else inputs[:, a:b], true)
        for a, b in zip(cuts[:-1], cuts[1:])
    ]
    if any("skipped" in p for p in parts):
        return {"skipped": "the read states hold NaN or inf"}
    params = {k: [p["params"][k] for p in parts] for k in parts[0]["params"]}
    return {
        "frames": [[a, b] for a, b in zip(cuts[:-1], cuts[1:])],
        "params": params,
        "by_name": {f"{k}.{i + 1}": v for k, vs in params.items() for i, v in enumerate(vs)},
        "relative_error": {k: [p["relative_error"][k] for p in parts] for k in parts[0]["relative_error"]},
    }


def _inputs(split, n: int, start: int, length: int) -> np.ndarray | None:
    """The split's inputs of its first n sequences from frame ``start`` on, (n, length, U); None without."""
    return None if split.inputs is None else np.asarray(split.inputs[:n, start : start + length])


def _scored(ph, states: np.ndarray, dt: float, inputs, true: dict[str, float]) -> dict:
    """The fit to states (N, T, S) and its relative error per parameter ({"skipped": why} for non-finite reads)."""
    if not np.isfinite(states).all():
        return {"skipped": "the read states hold NaN or inf"}
    params = fit(ph, states, dt, inputs)
    shown = {k: abs(v) if k in ph.orientation_free else v for k, v in params.items()}
    return {
        "params": params,
        "relative_error": {k: abs(shown[k] - v) / abs(v) if v else abs(shown[k]) for k, v in true.items()},
    }


def describe(out: dict) -> list[str]:
    """Lines for a person: each parameter the predicted frames follow, beside the data's and what the same fit
    reads from the observed frames and from the true states."""
    pred = out.get("predicted_frames", {})
    if "params" not in pred:
        return [f"trajectory fit: {out.get('skipped') or pred.get('skipped')}"] if out else []
    seen, exact = out["observed"].get("params", {}), out["true_states"].get("params", {})
    parts = [
        f"{k} {v:.3g} (data {out['true'][k]:.3g}, {pred['relative_error'][k]:.0%} off; observed frames "
        f"{seen.get(k, float('nan')):.3g}, true states {exact.get(k, float('nan')):.3g})"
        for k, v in pred["params"].items()
        if k in out["true"]
    ]
    lines = [f"motion of the predicted frames, fitted with the {out['system']} physics: " + "; ".join(parts)]
    thirds = out.get("predicted_frames_by_third", {})
    if "params" in thirds:
        lines.append(
            "  by thirds of the horizon (frames "
            + ", ".join(f"{a}–{b}" for a, b in thirds["frames"])
            + "): "
            + "; ".join(f"{k} " + " → ".join(f"{v:.3g}" for v in vs) for k, vs in thirds["params"].items())
        )
    return lines
