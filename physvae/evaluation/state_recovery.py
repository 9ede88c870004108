"""State recovery: R² of the true state read from posterior latents (linear and polynomial probes, and the curved
probe: degree 3 of the top principal components, which tells a state held through a curved chart from one lost where
the linear probe misses it), from the latents the model predicts after the context (the rollout probe) and from the
predicted frames re-encoded by the model (the same linear probe on ``Predictions.z_frames``: what the rendered
prediction shows, where the predicted latents may lie off the posterior's region and mislead the rollout probe); for
a model with per-frame codes (the Kalman VAE's a_t) also a linear probe from the codes. Beside them, the same linear
probe from the true positions of frames t−1, t, t+1 (``position_window``): no model, the reference a velocity R² is
read against. Targets follow the dataset's state kinds.

What the predicted frames show is read with no model too (``pixel_read``: ``pixel_reader``'s ridge from pixels, fit
on the training frames) from the predicted frames, the true frames of the horizon (the reader's ceiling), the held
last context frame and the mean training frame; ``frames_position_r2`` gives the mean R² of the position targets of
each, beside the last context frame's true state held (``hold_last_state``). The model's re-reading above fuses its
transition's prior, so it follows the predicted latents and can misread frames that show the state: on the quick
suite's box the default NeuralODE's predicted frames re-read by the model gave x, y a mean R² of −7.66 where the
pixel reader reads 0.13 from the same frames. ``rollout_frames_shows_position`` says whether any position target
read by the pixel reader from the predicted frames beats the test states' own mean (R² > 0), where the reader reads
the true frames (``READABLE``); ``physvae evaluate`` warns where none does. The baselines section judges the pixel
reads of the predicted, the held and the mean frames. The same reads frame by frame (``position_r2_curve``: the
position targets' mean R² over the sequences at each frame of the horizon) give ``position_valid_frames``, how many
leading frames the predicted frames show the position better than both trivial predictions and the states' own mean
at that frame."""

from __future__ import annotations

import numpy as np

from ..metrics.probe import (
    POSITION_KINDS,
    linear_probe,
    pca_poly_probe,
    poly_probe,
    position_window,
    r2_per_target,
    target_kinds,
)
from .pixel_reader import READABLE
from .sections import Section


class StateRecovery(Section):
    name = "physics"
    columns = {
        "r2_linear": "linear.r2",
        "r2_poly": "poly.r2",
        "r2_curved": "curved.r2",
        "r2_rollout": "rollout_linear.r2",
        "r2_rollout_frames": "rollout_frames_linear.r2",
        "r2_pixel_frames": "pixel_read.predicted",
        "r2_pixel_truth": "pixel_read.truth",
        "r2_hold_state": "hold_last_state.r2",
        "r2_codes": "codes_linear.r2",
        "r2_position_window": "position_window_linear.r2",
        "position_valid_frames": "position_valid_frames",
    }

    def run(self, ctx) -> dict:
        if not ctx.test.state_names:
            return {
                "skipped": "the dataset has no true states (imported video without states): no physics metrics"
            }
        train, test = ctx.train_latents, ctx.test_latents
        (y_train, names), (y_test, _) = ctx.targets(train.states), ctx.targets(test.states)
        kinds = target_kinds(ctx.test.state_names, ctx.test.state_kinds)
        out = {
            "targets": names,
            "kinds": kinds,
            "linear": linear_probe(train.z, y_train, test.z, y_test, names).to_dict(),
            "curved": pca_poly_probe(train.z, y_train, test.z, y_test, names).to_dict(),
        }
        if (
            train.codes is not None
        ):  # the frame VAE's codes alone: what the state space model adds beyond them
            out["codes_linear"] = linear_probe(train.codes, y_train, test.codes, y_test, names).to_dict()
        w_train, w_test = position_window(y_train, kinds), position_window(y_test, kinds)
        if w_train is not None:  # a reference, not a model: the true positions around t, read linearly
            out["position_window_linear"] = linear_probe(w_train, y_train, w_test, y_test, names).to_dict()
        if ctx.cfg.poly_probe:
            out["poly"] = poly_probe(train.z, y_train, test.z, y_test, names, train.var).to_dict()
        pred = ctx.predictions
        y_future, _ = ctx.targets(pred.states)
        out["rollout_linear"] = linear_probe(train.z, y_train, pred.z, y_future, names).to_dict()
        out["rollout_frames_linear"] = linear_probe(
            train.z, y_train, pred.z_frames, y_future, names
        ).to_dict()
        y_last, _ = ctx.targets(pred.last_states)
        out["hold_last_state"] = {"r2": r2_per_target(y_last[:, None], y_future, names)}
        reads = pred.reads
        out["pixel_read"] = {
            "predicted": r2_per_target(reads.predicted, y_future, names),
            "truth": r2_per_target(reads.truth, y_future, names),
            "held": r2_per_target(reads.held[:, None], y_future, names),
            "mean_frame": r2_per_target(reads.mean_frame, y_future, names),
        }
        if position_r2(out["pixel_read"]["truth"], kinds) is not None:
            out["frames_position_r2"] = {
                **{k: position_r2(r2, kinds) for k, r2 in out["pixel_read"].items()},
                "held_state": position_r2(out["hold_last_state"]["r2"], kinds),
            }
            out["pixel_readable"] = bool(out["frames_position_r2"]["truth"] >= READABLE)
            if len(y_future) > 1:  # an R² over the sequences at each frame needs two of them
                out["position_r2_curve"] = {
                    k: position_r2_curve(getattr(reads, k), y_future, names, kinds)
                    for k in ("predicted", "truth", "held", "mean_frame")
                }
            if out["pixel_readable"]:
                out["rollout_frames_shows_position"] = shows_position(out["pixel_read"]["predicted"], kinds)
                if "position_r2_curve" in out:
                    out["position_valid_frames"] = position_valid_frames(out["position_r2_curve"])
        return out


CURVED_GAIN = 0.05  # the curved probe's gain over the linear one that says "a curved chart"


def curved_only(physics: dict) -> dict[str, tuple[float, float]]:
    """Targets the curved probe reads better than the linear one by more than ``CURVED_GAIN``, from a physics
    section's output: target → (linear R², curved R²); empty where the section has no curved probe."""
    linear, curved = physics.get("linear", {}).get("r2", {}), physics.get("curved", {}).get("r2", {})
    return {n: (linear[n], curved[n]) for n in linear if n in curved and curved[n] - linear[n] > CURVED_GAIN}


def position_r2_curve(read: np.ndarray, truth: np.ndarray, names: list[str], kinds: list[str]) -> list[float]:
    """The position targets' mean R² at each frame of the horizon, over the sequences: ``read`` broadcastable to
    ``truth`` (N, H, K), or (N, K): one read per sequence held over the horizon; (K,): one for all) -> H values."""
    read = np.broadcast_to(read[:, None] if read.ndim == 2 else read, truth.shape)
    residual = ((truth - read) ** 2).sum(0)  # (H, K), summed over the sequences
    spread = ((truth - truth.mean(0)) ** 2).sum(0)
    # a target that does not vary at a frame scores 1 where read exactly, else 0, as sklearn's r2_score does
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(spread > 0, 1 - residual / spread, np.where(residual > 0, 0.0, 1.0))
    return [position_r2(dict(zip(names, row.tolist())), kinds) for row in r2]


def position_valid_frames(curves: dict[str, list[float]]) -> int:
    """How many leading frames of the horizon the predicted frames show the position better (per-frame R², see
    ``position_r2_curve``) than both trivial predictions do at the same frame, the held last context frame and the
    mean training frame, and better than the test states' own mean at that frame (R² > 0: where a pendulum
    settles, the states vary little at late frames and every reading's R² falls far below 0, the trivial ones'
    furthest). The physics front's counterpart of VPT: the frames may stay sharp after the state is lost, or blur
    while still showing it."""
    for h, (model, held, mean) in enumerate(zip(curves["predicted"], curves["held"], curves["mean_frame"])):
        if not model > max(held, mean, 0.0):
            return h
    return len(curves["predicted"])


def position_r2(r2: dict[str, float], kinds: list[str]) -> float | None:
    """Mean R² of the position targets (``POSITION_KINDS``) of ``r2`` (target → R², in the order of ``kinds``);
    None where there is none. NaN where any is NaN."""
    position = _positions(r2, kinds)
    return float(np.mean(position)) if position else None


def shows_position(r2: dict[str, float], kinds: list[str]) -> bool | None:
    """Whether any position target (``POSITION_KINDS``) of ``r2`` (target → R², in the order of ``kinds``) is read
    better than the targets' own mean (R² > 0); None where there is no position target."""
    position = _positions(r2, kinds)
    return any(value > 0 for value in position) if position else None


def _positions(r2: dict[str, float], kinds: list[str]) -> list[float]:
    """The R² of the position targets (``POSITION_KINDS``) of ``r2``, paired with ``kinds`` by order (the probe's
    dict keeps the targets' order; targets and kinds that do not pair one to one raise ValueError)."""
    return [value for value, kind in zip(r2.values(), kinds, strict=True) if kind in POSITION_KINDS]
