"""Recovered physical parameters: what a transition that states its physics (``physics``) learned, against the
true values the dataset holds. Global parameters: the learned value and its relative error to the split's mean
truth; per-sequence ones (inferred from each test sequence's context frames): R² and median relative error.

``sequence_fit``, for any physics transition (global parameters too): each sequence's parameters read from the
model's own posterior over its context frames by fitting the stated physics to that trajectory
(``physvae.physics.shooting``: initial state and parameters, positions only, from the learned values and half
and twice them). A network that reads parameters from the evidence (``params = "sequence"``) learns it from the
prediction error alone; this read-out asks what the inferred motion itself says. Measured on the DM colours
pendulum (PhysicsSeqRender, 16×16, 2000 steps; ``benchmarks/results/colors_parameters_cpu2``): the network's g/l
R² 0.14–0.24 (median error 13–15 %), this fit's R² 0.85–0.90 (median error 2.3–2.5 %) from 40 context frames and
0.52–0.63 (6.4 %) from 20. Least squares: a sequence that swings over the top can land far off, and R² shows it
(its median and 90th-percentile errors do not)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import r2_score

from ..physics.shooting import shooting_fit
from .sections import Section


class Parameters(Section):
    name = "parameters"
    columns = {
        "param_learned": "learned",
        "param_error": "relative_error",
        "param_r2": "sequence.r2",
        "param_median_error": "sequence.median_relative_error",
        "param_fit_r2": "sequence_fit.r2",
        "param_fit_median_error": "sequence_fit.median_relative_error",
        "param_fit_p90_error": "sequence_fit.p90_relative_error",
        "residual_share": "residual_share",
        "coord_agreement": "coordinates.agreement",
        "coord_slope": "coordinates.slope",
    }

    def run(self, ctx) -> dict:
        tr = ctx.model.transition
        if not callable(getattr(tr, "global_params", None)):
            return {"skipped": f"the {tr.name} transition states no physical parameters"}
        ph = tr.physics
        split = ctx.predict_split
        known = dict(tr.cfg.known)  # given by the user, held: not recovered, so not scored
        values = dict(zip(ph.param_names, tr.global_params().detach().cpu().double().tolist()))
        learned = {k: v for k, v in values.items() if k not in known}
        truth = ph.true_params(split.param_names, np.asarray(split.params)[: ctx.count(split)])
        truth = {k: v for k, v in truth.items() if k not in known}
        out: dict = {
            "system": ph.name,
            "units": dict(zip(ph.param_names, ph.param_units)),
            "learned": learned,
        }
        if known:
            out["known"] = known
        if truth:
            out["true"] = {k: float(v.mean()) for k, v in truth.items()}
            out["relative_error"] = {
                k: _rel(abs(learned[k]) if k in ph.orientation_free else learned[k], float(v.mean()))
                for k, v in truth.items()
            }
            if ph.orientation_free:
                out["compared_by_magnitude"] = list(ph.orientation_free)
        else:
            out["note"] = f"the dataset's parameters {split.param_names} do not give {ph.param_names}"
        if truth:
            states, per_seq = _context_posteriors(ctx, tr)
            if per_seq is not None:
                out["sequence"] = _score_sequences(per_seq, truth, ph.param_names, ph.orientation_free)
            out["sequence_fit"] = _fit_sequences(ctx, tr, states, truth)
        coords = _coordinates(ctx, ph)
        if coords is not None:
            out["coordinates"] = coords
        share = _residual_share(ctx, tr)
        if share is not None:
            out["residual_share"] = share
        return out


def _rel(learned: float, true: float) -> float:
    """|learned − true| / |true|; the absolute error where the truth is 0."""
    return abs(learned - true) / abs(true) if true else abs(learned - true)


def _context_posteriors(ctx, tr) -> tuple[torch.Tensor, np.ndarray | None]:
    """One pass over the predict split's first ``n_context`` frames of each sequence: the posterior means' states
    (N, n_context, S) (float64, CPU) and the transition's per-sequence parameters (N, P), None for global ones."""
    c, states, params = ctx.cfg.n_context, [], []
    with torch.no_grad():
        for b in ctx.batches(ctx.predict_split):
            inputs = None if b.inputs is None else b.inputs[:, :c]
            times = None if b.times is None else b.times[:, :c]
            post = ctx.model.infer(b.frames[:, :c], None, inputs, sample=False, times=times)
            states.append(tr.physics.chart(post.q_mean[..., : tr.embed_dim]).double().cpu())
            if tr.cfg.params != "global":
                params.append(tr.sequence_params(post.state).double().cpu().numpy())
    return torch.cat(states), (np.concatenate(params) if params else None)


def _fit_sequences(ctx, tr, states: torch.Tensor, truth: dict) -> dict:
    """Per-sequence parameters fitted to the posterior states (N, n_context, S) of the predict split's context
    frames (``_context_posteriors``; see the module docstring), scored against ``truth``; {"skipped": why} where
    the fit cannot apply (control inputs or uneven times: the shooting fit integrates without either)."""
    split, ph = ctx.predict_split, tr.physics
    if split.inputs is not None or split.times is not None:
        what = "control inputs" if split.inputs is not None else "uneven frame times"
        return {"skipped": f"the data has {what}; the shooting fit integrates without them"}
    weight = torch.tensor([0.0 if i in ph.velocities else 1.0 for i in range(ph.state_dim)])
    known = dict(tr.cfg.known)
    learned = tr.global_params().detach().double().cpu()
    positive = torch.tensor(ph.positive)
    start = torch.where(positive, learned.clamp(min=1e-3), learned)  # a vanished damping starts just above 0
    starts = [torch.where(positive, start * f, start).tolist() for f in (1.0, 0.5, 2.0)]
    fitted = shooting_fit(ph, states, weight, float(ctx.model.spec.dt), starts, fixed=known or None)
    est = fitted.params.numpy()
    out = _score_sequences(est, truth, ph.param_names, ph.orientation_free)
    out["context_frames"] = states.shape[1]
    out.update(_context_coverage(ctx, states.shape[1]))
    out["fitted_columns"] = [n for n, w in zip(ph.state_names, weight.tolist()) if w > 0]
    return out


SHORT_CONTEXT = 0.5  # periods of the learned oscillation below which a context rarely pins a parameter down


def _context_coverage(ctx, frames: int) -> dict:
    """How much of the learned field's oscillation (the ``dynamics`` section's natural frequency at rest) the
    context spans: {"context_periods": …} and a note where it is under ``SHORT_CONTEXT`` (on the undamped DM
    pendulum, 5 frames span 0.06 of a period and the fit's median error is 100 %); {} where no frequency is known."""
    osc = getattr(ctx, "results", {}).get("dynamics", {}).get("at_rest", {}).get("oscillation") or {}
    omega = osc.get("natural_frequency")
    if not omega:
        return {}
    periods = frames * float(ctx.model.spec.dt) * omega / (2 * np.pi)
    out = {"context_periods": periods}
    if periods < SHORT_CONTEXT:
        out["note"] = (
            f"the {frames} context frames span {periods:.2f} of the learned period; per-sequence parameters are "
            "rarely pinned down by less than half a period (evaluate with a longer --n-context)"
        )
    return out


def _score_sequences(est: np.ndarray, truth: dict, names: list[str], orientation_free: list[str]) -> dict:
    """R², median and 90th-percentile relative error (absolute where the truth is 0) of each parameter; R² moves
    with a few sequences far off, the quantiles show whether the rest are."""
    out: dict = {"r2": {}, "median_relative_error": {}, "p90_relative_error": {}}
    for k, v in truth.items():
        e = est[:, names.index(k)]
        e = np.abs(e) if k in orientation_free else e
        if np.ptp(v) > 1e-12 * max(1.0, abs(v).max()):  # R² needs the truth to vary
            out["r2"][k] = float(r2_score(v, e))
        rel = np.abs(e - v) / np.where(v != 0, np.abs(v), 1.0)
        out["median_relative_error"][k] = float(np.median(rel))
        out["p90_relative_error"][k] = float(np.quantile(rel, 0.9))
    return out


def _coordinates(ctx, ph) -> dict | None:
    """How the latent's physical coordinates match the true state columns of the same names (see the module
    docstring); None where the data has none of them."""
    names = ctx.test.state_names
    if not set(ph.state_names) & set(names):
        return None
    lat = ctx.test_latents
    z = torch.from_numpy(lat.z.reshape(-1, lat.z.shape[-1])[:, : ph.embed_dim]).double()
    y = ph.chart(z).numpy()  # (N·T, S) latent coordinates
    true = lat.states.reshape(-1, lat.states.shape[-1])
    out: dict = {"orientation": 1, "agreement": {}, "slope": {}}
    for i in ph.angles:  # the orientation comes from the (first) angle, and applies to every coordinate
        if ph.state_names[i] in names:
            t = true[:, names.index(ph.state_names[i])]
            agree = {s: float(np.abs(np.exp(1j * (y[:, i] - s * t)).mean())) for s in (1, -1)}
            out["orientation"] = max(agree, key=agree.get)
            out["agreement"][ph.state_names[i]] = agree[out["orientation"]]
            break
    for i, name in enumerate(ph.state_names):
        if i in ph.angles or name not in names:
            continue
        t = true[:, names.index(name)]
        a, b = np.polyfit(t, y[:, i], 1)
        out["slope"][name] = float(a)
        out["agreement"][name] = float(r2_score(y[:, i], a * t + b))
    return out


def _residual_share(ctx, tr) -> float | None:
    z = ctx.test_latents.z
    z = torch.from_numpy(z.reshape(-1, z.shape[-1])[:4096]).float().to(ctx.device)
    with torch.no_grad():
        return tr.residual_share(z)


def describe(out: dict) -> list[str]:
    """Lines for a person: each learned parameter in its units beside the truth, and how well the per-sequence
    read-outs (the transition's own, the fit to the posterior) follow the sequences."""
    if not out or "skipped" in out:
        return []
    units, true, err = out["units"], out.get("true", {}), out.get("relative_error", {})

    def off(k: str, e: float) -> str:  # relative, or absolute in the parameter's units where the truth is 0
        return f"{e:.3g} {units[k]}" if true.get(k) == 0 else f"{e:.1%}"

    parts = [
        f"{k} {v:.4g} {units[k]}" + (f" (data {true[k]:.4g}, {off(k, err[k])} off)" if k in true else "")
        for k, v in out["learned"].items()
    ]
    lines = [f"parameters of the {out['system']} physics: " + "; ".join(parts)]
    for key, what in (
        ("sequence", "inferred by the transition"),
        ("sequence_fit", "fitted to the posterior"),
    ):
        seq = out.get(key)
        if seq is None:
            continue
        if "skipped" in seq:
            lines.append(f"  per sequence, {what}: {seq['skipped']}")
            continue
        p90 = seq.get("p90_relative_error", {})
        parts = [
            (f"{k} R² {seq['r2'][k]:.3f}, " if k in seq["r2"] else f"{k} ")
            + f"median error {off(k, e)}"
            + (f" (90 % within {off(k, p90[k])})" if k in p90 else "")
            for k, e in seq["median_relative_error"].items()
        ]
        lines.append(f"  per sequence, {what}: " + "; ".join(parts))
        if "note" in seq:
            lines.append(f"    note: {seq['note']}")
    return lines
