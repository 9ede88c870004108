"""The trivial baselines every frame metric is shown beside, and whether the model beats them.

- mean frame: the mean training frame, drawn at every time step;
- hold last: the last context frame, held over the prediction horizon;
- always lit (binarized data): only the pixels lit in every training frame (a border, a static background).

``pred_over_mean_frame`` is the model's prediction MSE over the mean frame's on the same horizon (below 1: it
beats the mean frame); unlike VPT, whose error is relative to the frames' own energy and so shrinks when a
background is lit, it compares across backgrounds. The trivial predictions (scored from the data alone in
``trivial.py``) get their own VPT (``vpt_median`` of the mean frame and of the held frame, same threshold and
horizon; ``vpt_clean_median`` too where the data kept its frames before sensor noise): on a lit background the
mean frame itself can stay under VPT's threshold over the whole horizon (an outside renderer's pendulum on a
gradient: 44 of 44 frames),
and a model's VPT no longer than the mean frame's says nothing about its dynamics — ``vpt_uninformative`` says so
(a note, not a flag: VPT 0 against 0 is the common tie on dark backgrounds, where VPT's threshold fails first).

On the physics front (where the data has true positions), both trivial predictions are judged by the position
they show: the position targets' mean R² read by the pixel reader (``pixel_reader``, no model) from the held last
context frame is ``hold_last.position_r2`` and from the mean training frame ``mean_frame.position_r2`` (a constant:
at most 0, below it by how far the training mean sits from the horizon's), beside the model's ``pred_position_r2``
(its predicted frames read the same way), the reader's ceiling ``reader_position_r2`` (the true frames of the
horizon) and the held true state ``hold_last.position_r2_state``. A prediction that beats the mean frame's MSE
while its frames show the position no better than the held frame has carried no motion; one whose frames show it
no better than the mean frame has lost where the state is (on long horizons the held frame scores far below 0, so
the mean frame is the stronger of the two there). Where the reader reads the true frames' position below
``pixel_reader.READABLE`` the comparison is not judged (``position_judged`` false).

A model that does not beat them has learned the background, not the dynamics (posterior collapse looks exactly
like this): each such comparison is listed in ``flags``, and ``beats_all`` is 0. Where the prediction loses and
the reconstruction does not, ``advice`` lists what to try (``advice.prediction_advice``).
"""

from __future__ import annotations

import numpy as np
import torch

from ..frame_stats import median_frame
from ..metrics import frames as fm
from .advice import prediction_advice
from .sections import Section
from .trivial import average, trivial_predictions


class Baselines(Section):
    name = "baselines"
    columns = {
        "baseline_mean_frame_mse": "mean_frame.recon_mse",
        "baseline_mean_frame_hamming": "mean_frame.hamming",
        "baseline_hold_last_mse": "hold_last.pred_mse",
        "baseline_mean_frame_vpt": "mean_frame.vpt_median",
        "baseline_hold_last_vpt": "hold_last.vpt_median",
        "baseline_mean_frame_vpt_clean": "mean_frame.vpt_clean_median",
        "beats_baselines": "beats_all",
        "pred_over_mean_frame": "pred_over_mean_frame",
        "pred_position_r2": "pred_position_r2",
        "baseline_hold_last_position_r2": "hold_last.position_r2",
        "baseline_mean_frame_position_r2": "mean_frame.position_r2",
        "reader_position_r2": "reader_position_r2",
    }

    def run(self, ctx) -> dict:
        out = trivial_predictions(ctx)
        if ctx.data.meta.get("binarized"):
            lit = self._always_lit(ctx)
            out["always_lit"] = {
                "hamming": average(ctx, ctx.test, lambda b: fm.hamming(lit.expand_as(b.frames), b.frames))
            }
            mean = ctx.mean_frame
            out["mean_frame"]["hamming"] = average(
                ctx, ctx.test, lambda b: fm.hamming(mean.expand_as(b.frames), b.frames)
            )
        if "prediction" in ctx.results:  # a background-free score: VPT's error shrinks on a lit background
            out["pred_over_mean_frame"] = ctx.results["prediction"]["mse"] / max(
                out["mean_frame"]["pred_mse"], 1e-12
            )
            note = vpt_note(ctx.results["prediction"], out)
            if note:
                out["vpt_uninformative"] = note
        physics = ctx.results.get("physics", {})
        position = physics.get("frames_position_r2")
        if position:
            out["pred_position_r2"] = position["predicted"]
            out["reader_position_r2"] = position["truth"]
            out["hold_last"]["position_r2"] = position["held"]
            out["hold_last"]["position_r2_state"] = position["held_state"]
            out["mean_frame"]["position_r2"] = position["mean_frame"]
            out["position_judged"] = physics["pixel_readable"]
        out["flags"] = _flags(ctx.results, out) + _position_flags(out)
        out["beats_all"] = float(not out["flags"])
        if _moves_wrong(out["flags"]):
            model = ctx.model
            median = median_frame(np.asarray(ctx.train.frames[: ctx.count(ctx.train)]))
            out["advice"] = prediction_advice(
                getattr(model, "transition", None), getattr(model, "encoder", None), median
            )
        return out

    def _always_lit(self, ctx) -> torch.Tensor:
        lit = None
        for b in ctx.batches(ctx.train):
            on = (b.frames > 0.5).all(1).all(0)
            lit = on if lit is None else lit & on
        return lit.float()


def vpt_note(prediction: dict, base: dict) -> str | None:
    """Why VPT says nothing here, where the mean frame's VPT is positive and at least the model's (both against
    the frames before sensor noise where the data kept them)."""
    clean = "clean" in prediction and "vpt_clean_median" in base["mean_frame"]
    model = prediction["clean"]["vpt_median"] if clean else prediction["vpt_median"]
    mean = base["mean_frame"]["vpt_clean_median" if clean else "vpt_median"]
    if not (mean > 0 and mean >= model):
        return None
    return (
        f"VPT cannot tell this prediction from the mean training frame: the mean frame stays under VPT's threshold "
        f"for {mean:.0f} of {prediction['horizon']} frames (the model: {model:.0f}); VPT's error is relative to the "
        "frames' own energy, which a lit background fills. Read pred_over_mean_frame and the position valid frames"
    )


def _flags(results: dict, base: dict) -> list[str]:
    """Every comparison the model loses: its figure is no better than a trivial baseline's."""
    checks = []
    if "reconstruction" in results:
        checks.append(
            (
                "reconstruction MSE",
                results["reconstruction"]["mse"],
                "the mean frame",
                base["mean_frame"]["recon_mse"],
            )
        )
    if "prediction" in results:
        model = results["prediction"]["mse"]
        checks.append(("prediction MSE", model, "the mean frame", base["mean_frame"]["pred_mse"]))
        checks.append(
            ("prediction MSE", model, "holding the last context frame", base["hold_last"]["pred_mse"])
        )
    checks += _imputation_checks(results.get("imputation", {}), base)
    return [
        f"{what} {model:.4g} does not beat {name} ({ref:.4g})"
        for what, model, name, ref in checks
        if not model < ref or np.isnan(model)
    ]


def _position_flags(base: dict) -> list[str]:
    """The position read from the predicted frames, where it is no better (R², higher is better) than read from the
    held last context frame or from the mean training frame (all by the pixel reader); judged only where the reader
    reads the true frames."""
    if not base.get("position_judged"):
        return []
    model = base["pred_position_r2"]
    refs = [
        ("holding the last context frame", base["hold_last"]["position_r2"]),
        ("the mean frame", base["mean_frame"]["position_r2"]),
    ]
    return [
        f"position R² read from the predicted frames {model:.4g} does not beat {name} ({ref:.4g}; both read by the "
        "pixel reader)"
        for name, ref in refs
        if not model > ref
    ]


def _moves_wrong(flags: list[str]) -> bool:
    """The prediction loses to a baseline (by MSE, or by the position its frames show) while the reconstruction
    does not: the frames are drawn, the motion is not carried (collapse, where the reconstruction loses too, has
    its own advice)."""
    return any(f.startswith(("prediction MSE", "position R²")) for f in flags) and not any(
        f.startswith("reconstruction MSE") for f in flags
    )


def _imputation_checks(imputation: dict, base: dict) -> list[tuple[str, float, str, float]]:
    """(what, model's figure, baseline's name, baseline's figure) for every imputation point, random drops and
    gaps alike: on binarized data against the always-lit pixels and the mean frame (Hamming), else the mean frame
    (MSE)."""
    metric = imputation.get("metric")
    if metric == "mse":
        refs = [("the mean frame", base["mean_frame"]["recon_mse"])]
    elif metric == "hamming" and "always_lit" in base:
        refs = [
            ("drawing only the always-lit pixels", base["always_lit"]["hamming"]),
            ("the mean frame", base["mean_frame"]["hamming"]),
        ]
    else:
        return []
    name = {"mse": "MSE", "hamming": "Hamming"}[metric]
    return [
        (f"imputation {name} at {kind} {point}", value, ref_name, ref)
        for kind in ("drop", "gap")
        for point, value in imputation.get(kind, {}).items()
        for ref_name, ref in refs
    ]
