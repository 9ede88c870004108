"""The trivial predictions, scored from the data alone: what a model's frame figures are read against.

- mean frame: the mean of the scored training sequences' frames, drawn at every time step;
- hold last: the last context frame, held over the prediction horizon.

Each gets its prediction MSE and its median valid prediction time over the prediction split's scored sequences
(the same threshold, context and horizon as the model's), and the mean frame its MSE over the whole test sequences
(the reconstruction's baseline). Where the data kept its frames before sensor noise, the VPT against those too
(``vpt_clean_median``), as the model's clean VPT is scored.

No model enters: ``trivial_predictions`` takes an evaluation context (``EvalContext``, whose model may be None)
and ``trivial_for_data`` the dataset folders, so that a record evaluated before a figure existed can get it from
its data (``physvae bench --refresh-baselines``).
"""

from __future__ import annotations

import numpy as np
import torch

from ..metrics import frames as fm


def trivial_predictions(ctx) -> dict:
    """{"mean_frame": {recon_mse, pred_mse, vpt_median[, vpt_clean_median]}, "hold_last": {pred_mse, vpt_median[,
    vpt_clean_median]}} of ``ctx`` (an ``EvalContext``): MSE per pixel of frames in [0, 1], VPT in frames."""
    mean = ctx.mean_frame  # (C, H, W)
    split, c = ctx.predict_split, ctx.cfg.n_context
    horizon = ctx.cfg.prediction_horizon(split.frames.shape[1], f"split {split.name!r}")
    window = slice(c, c + horizon)
    clean = split.frames_clean is not None
    scores: dict[str, dict[str, list]] = {k: {"mse": [], "err": [], "clean": []} for k in ("mean", "held")}
    start = count = 0  # sequences seen; frames scored
    with torch.no_grad():
        for b in ctx.batches(split):
            truth = b.frames[:, window]
            guesses = {"mean": mean.expand_as(truth), "held": b.frames[:, c - 1 : c].expand_as(truth)}
            truth_clean = ctx._clean_frames(split, start, len(truth))[:, window] if clean else None
            for k, guess in guesses.items():
                scores[k]["mse"].append(float(fm.mse(guess, truth).sum()))
                scores[k]["err"].append(fm.normalized_error(guess, truth).cpu().numpy())
                if clean:
                    scores[k]["clean"].append(fm.normalized_error(guess, truth_clean).cpu().numpy())
            start += len(truth)
            count += truth.shape[0] * truth.shape[1]
    out = {"mean_frame": _summary(scores["mean"], count), "hold_last": _summary(scores["held"], count)}
    out["mean_frame"] = {"recon_mse": _recon_mse(ctx, mean), **out["mean_frame"]}
    return out


def trivial_for_data(data, cfg, predict_data=None, device: str = "cpu") -> dict:
    """``trivial_predictions`` of dataset folders (or loaded datasets): ``data``'s ``cfg.train_split`` gives the
    mean frame, its ``cfg.test_split`` the reconstruction's baseline and (or ``predict_data``'s, where given) the
    prediction's. ``cfg``: the ``EvalConfig`` the model was evaluated under."""
    import simulators

    from .context import EvalContext

    data = data if isinstance(data, simulators.Dataset) else simulators.load_dataset(data)
    if predict_data is not None and not isinstance(predict_data, simulators.Dataset):
        predict_data = simulators.load_dataset(predict_data)
    ctx = EvalContext(None, data, cfg.validate(), predict_data, device=device)
    return trivial_predictions(ctx)


def _summary(s: dict[str, list], count: int) -> dict:
    """Prediction MSE (the batches' sums over ``count`` frames) and median VPT of one trivial prediction."""
    out = {
        "pred_mse": sum(s["mse"]) / max(count, 1),
        "vpt_median": _median_vpt(s["err"]),
    }
    if s["clean"]:
        out["vpt_clean_median"] = _median_vpt(s["clean"])
    return out


def _median_vpt(errors: list[np.ndarray]) -> float:
    return float(np.median(fm.valid_prediction_time(np.concatenate(errors))))


def _recon_mse(ctx, mean: torch.Tensor) -> float:
    """The mean frame's MSE over the scored test sequences' every frame."""
    return average(ctx, ctx.test, lambda b: fm.mse(mean.expand_as(b.frames), b.frames))


def average(ctx, split, score) -> float:
    """Mean of ``score(batch)`` (per-frame values) over the scored sequences of ``split``."""
    total, count = 0.0, 0
    with torch.no_grad():
        for b in ctx.batches(split):
            s = score(b)
            total, count = total + float(s.sum()), count + s.numel()
    return total / max(count, 1)
