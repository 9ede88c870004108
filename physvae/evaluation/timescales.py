"""Two time scales: is a slowly varying physical parameter held in the slow latent, and does the model predict far?

For a model whose transition declares slow latent dimensions (``Transition.slow_dims``: the ``hierarchical``
transition's slow latent, the ``physics`` transition's drifting parameters) on data that saves a varying parameter per frame as a state column (``g``, ``l``, ``gamma``: a
drifting gravity or length, a switching damping), this section reads the parameter from the posterior means:
    r2          linear least squares from the slow, the fast and all latent dimensions to the parameter, fit on
                the training split, R² on the test split over every frame;
    r2_within   the same with each sequence's own mean taken out of latents and parameter: how well the drift
                within a sequence is followed, not only which sequence it is;
    sequence_mean_baseline   R² of a trivial reader that knows each test sequence's mean parameter exactly and
                nothing of its drift (what reading "which sequence" alone reaches);
    time_baseline   R² (and within R²) of a linear reader of the frame index alone (the average drift);
and scores long-horizon prediction: the frame MSE over the second half of the prediction horizon, the model's
and the mean training frame's, and the median valid prediction time. For the physics transition's drifting
parameters it also scores the model's own value at every frame against the truth (``own``: no probe fitted).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import r2_score

from ..collapse import mean_frame
from ..metrics import frames as fm
from ..metrics.probe import linear_probe
from ..sampled_prediction import supports_sampling
from .sections import Section
from .trivial import average

PARAMETER_COLUMNS = ("g", "l", "gamma")  # state columns in which simulators save a parameter that varies


def varying_parameters(names: list[str], states: np.ndarray) -> list[int]:
    """Indices of the parameter columns (``PARAMETER_COLUMNS``) of states (N, T, S) that change within some
    sequence."""
    return [
        i for i, n in enumerate(names) if n in PARAMETER_COLUMNS and np.ptp(states[..., i], axis=1).max() > 0
    ]


def within(x: np.ndarray) -> np.ndarray:
    """x (N, T, K) less each sequence's mean over time."""
    return x - x.mean(axis=1, keepdims=True)


def sequence_mean_r2(y: np.ndarray, names: list[str]) -> dict[str, float]:
    """R² of predicting every frame's y (N, T, K) by its own sequence's mean: 1 − within / total variance."""
    guess = np.broadcast_to(y.mean(axis=1, keepdims=True), y.shape)
    return {n: float(r2_score(y[..., j].ravel(), guess[..., j].ravel())) for j, n in enumerate(names)}


def parameter_r2(train_z, train_y, test_z, test_y, names: list[str], groups: dict[str, list[int]]) -> dict:
    """Linear read-outs of parameters y (N, T, K) from groups of latent dimensions of z (N, T, D).

    Returns:
        {"r2": {group: {name: R²}}, "r2_within": {group: {name: R²}}, "sequence_mean_baseline": {name: R²},
        "time_baseline": {"r2": {name: R²}, "r2_within": {name: R²}}}: fit on the training arrays, scored on
        the test ones; "within" takes each sequence's mean out first. The time baseline reads the frame index
        alone: the drift shared by all sequences, which a latent that merely counts frames would also give.
    """
    out: dict = {"r2": {}, "r2_within": {}}
    for group, dims in groups.items():
        ztr, zte = train_z[..., dims], test_z[..., dims]
        out["r2"][group] = linear_probe(ztr, train_y, zte, test_y, names).r2
        out["r2_within"][group] = linear_probe(
            within(ztr), within(train_y), within(zte), within(test_y), names
        ).r2
    out["sequence_mean_baseline"] = sequence_mean_r2(test_y, names)
    t_tr, t_te = _frame_index(train_y), _frame_index(test_y)
    out["time_baseline"] = {
        "r2": linear_probe(t_tr, train_y, t_te, test_y, names).r2,
        "r2_within": linear_probe(within(t_tr), within(train_y), within(t_te), within(test_y), names).r2,
    }
    return out


def _frame_index(y: np.ndarray) -> np.ndarray:
    """The frame index t (N, T, 1) of every frame of y (N, T, K)."""
    return np.broadcast_to(np.arange(y.shape[1], dtype=np.float64)[None, :, None], (*y.shape[:2], 1))


def own_parameters(transition, z: np.ndarray, truth: dict[str, np.ndarray]) -> dict:
    """The physics transition's own drifting parameters at every frame of latents z (N, T, D) against their truth
    ({name: (N, T)}, ``KnownPhysics.frame_truth``): {name: {"r2", "r2_within", "median_rel_error"}} for those with
    a truth."""
    with torch.no_grad():
        drifting = transition.drifting_params(torch.as_tensor(z, dtype=torch.float32))
    out = {}
    for name, values in drifting.items():
        if name not in truth:
            continue
        learned, true = values.double().cpu().numpy(), truth[name]
        out[name] = {
            "r2": float(r2_score(true.ravel(), learned.ravel())),
            "r2_within": float(r2_score(within(true[..., None]).ravel(), within(learned[..., None]).ravel())),
            "median_rel_error": float(np.median(np.abs(learned / true - 1))),
        }
    return out


def own_drifting(ctx) -> dict | None:
    """``own_parameters`` on the test split's posterior means, the truth from its parameters and state columns;
    None where the transition has no drifting parameters (only the physics transition has)."""
    tr, test, split = ctx.model.transition, ctx.test_latents, ctx.test
    if not hasattr(tr, "drifting_params") or not tr.slow_dims:
        return None
    values = np.asarray(split.params)[: len(test.z)]
    truth = tr.physics.frame_truth(list(split.param_names), values, split.state_names, test.states)
    return own_parameters(tr, test.z, truth)


def long_horizon(ctx) -> dict:
    """Prediction over the second half of the horizon: the model's frame MSE and the mean training frame's
    (over the same frames), the median valid prediction time (frames) and the frames scored; with
    ``eval.prediction_samples``, also the frame MSE of the predictive mean over that many sampled trajectories
    (``sampled_mse``)."""
    p = ctx.predictions
    first = p.horizon // 2
    window = slice(p.n_context + first, p.n_context + p.horizon)
    mean = mean_frame(ctx.train.frames, ctx.device, ctx.count(ctx.train))  # (C, H, W)
    baseline = average(
        ctx, ctx.predict_split, lambda b: fm.mse(mean.expand_as(b.frames[:, window]), b.frames[:, window])
    )
    return {
        "frames": [window.start, window.stop],
        "mse": float(p.scores[:, first:, 0].mean()),
        "mean_frame_mse": baseline,
        "vpt_median": float(np.median(fm.valid_prediction_time(p.scores[..., 3]))),
        **({"sampled_mse": float(ctx.sampled_scores[:, first:, 0].mean())} if _sampled(ctx) else {}),
    }


def _sampled(ctx) -> bool:
    """Whether the protocol asks for the predictive mean over samples and the model can give it."""
    return bool(ctx.cfg.prediction_samples) and supports_sampling(ctx.model)


class Timescales(Section):
    name = "timescales"
    columns = {
        "slow_param_r2": "r2.slow",
        "fast_param_r2": "r2.fast",
        "slow_param_r2_within": "r2_within.slow",
        "long_pred_mse": "long_horizon.mse",
    }

    def run(self, ctx) -> dict:
        slow = list(ctx.model.transition.slow_dims)
        if not slow:
            return {
                "skipped": f"the {ctx.model.transition.name} transition declares no slow latent dimensions"
            }
        train, test = ctx.train_latents, ctx.test_latents
        names = ctx.test.state_names
        cols = varying_parameters(names, test.states)
        if not cols:
            return {"skipped": f"no state column of {list(PARAMETER_COLUMNS)} varies in the data {names}"}
        dims = test.z.shape[-1]
        groups = {"slow": slow, "fast": [d for d in range(dims) if d not in slow], "all": list(range(dims))}
        params = [names[i] for i in cols]
        out = {"parameters": params, "slow_dims": slow}
        out.update(
            parameter_r2(train.z, train.states[..., cols], test.z, test.states[..., cols], params, groups)
        )
        own = own_drifting(ctx)
        if own is not None:  # the physics transition: its drifting parameters' own values
            out["own"] = own
        out["long_horizon"] = long_horizon(ctx)
        return out
