"""Recovered physical parameters: what a transition that states its physics (``physics``) learned, against the
true values the dataset holds. Global parameters: the learned value and its relative error to the split's mean
truth; per-sequence ones (inferred from each test sequence's context frames): R² and median relative error."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import r2_score

from .sections import Section


class Parameters(Section):
    name = "parameters"
    columns = {
        "param_learned": "learned",
        "param_error": "relative_error",
        "param_r2": "sequence.r2",
        "param_median_error": "sequence.median_relative_error",
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
        per_seq = _sequence_params(ctx, tr)
        if per_seq is not None and truth:
            out["sequence"] = _score_sequences(per_seq, truth, ph.param_names, ph.orientation_free)
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


def _sequence_params(ctx, tr) -> np.ndarray | None:
    """Per-sequence parameters (N, P) inferred from each sequence's first ``n_context`` frames, or None."""
    if tr.cfg.params == "global":
        return None
    c, rows = ctx.cfg.n_context, []
    with torch.no_grad():
        for b in ctx.batches(ctx.predict_split):
            inputs = None if b.inputs is None else b.inputs[:, :c]
            times = None if b.times is None else b.times[:, :c]
            post = ctx.model.infer(b.frames[:, :c], None, inputs, sample=False, times=times)
            rows.append(tr.sequence_params(post.state).double().cpu().numpy())
    return np.concatenate(rows)


def _score_sequences(est: np.ndarray, truth: dict, names: list[str], orientation_free: list[str]) -> dict:
    out: dict = {"r2": {}, "median_relative_error": {}}
    for k, v in truth.items():
        e = est[:, names.index(k)]
        e = np.abs(e) if k in orientation_free else e
        if np.ptp(v) > 1e-12 * max(1.0, abs(v).max()):  # R² needs the truth to vary
            out["r2"][k] = float(r2_score(v, e))
        out["median_relative_error"][k] = float(np.median(np.abs(e - v) / np.where(v != 0, np.abs(v), 1.0)))
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
