"""Posterior collapse: the latents carry nothing (KL near zero) and the decoder draws the mean frame.

Training checks it at every step from numbers it already has: the KL per frame, the MSE of the decoded posterior
means, and the MSE of the mean training frame on the same batch. It is reported in the progress bar, in every
line of ``metrics.jsonl`` (``collapsed``) and in ``summary.json`` (``collapse``), with what to try.

A model can also fail without collapsing: latents in use (KL well above zero) and a decoder that still draws the
frames worse than their mean (a background it has not learned, a video it cannot draw). ``summary.json``'s
``mean_frame`` section says so at the end of training, and the progress bar from a quarter of the steps on.
"""

from __future__ import annotations

import numpy as np
import torch

KL_FLOOR = 0.01  # nats per frame, all latent dimensions together: below this the latents say (almost) nothing
RATIO = 0.95  # a reconstruction within 5 % of the mean frame's MSE is no better than drawing the mean frame
ADVICE = (
    "the model draws the mean frame and its latents carry nothing: try a KL warm-up (--train.kl_warmup=500), "
    "free bits (--train.free_bits=0.05), the multi-step prediction term if it was off (--train.predict_weight=1), "
    "a smaller learning rate, or a fixed pixel noise (--model.obs_std=0.05) if the learned one grew large"
)


def collapsed(kl: float, recon_mse: float, mean_frame_mse: float) -> bool:
    """True when the KL per frame is below ``KL_FLOOR`` and the reconstruction is no better than the mean frame."""
    return kl < KL_FLOOR and no_better(recon_mse, mean_frame_mse)


WORSE_ADVICE = (
    "the decoded frames are no closer to the data than the mean training frame, though the latents are in use: "
    "train longer, try a smaller learning rate, or check that the decoder can draw this video "
    "(model.decoder=conv draws anything; the render decoder only bodies over a background)"
)


def no_better(recon_mse: float, mean_frame_mse: float) -> bool:
    """True when the reconstruction's MSE is within ``RATIO`` of the mean frame's or above it."""
    return recon_mse >= RATIO * mean_frame_mse


def mean_frame(frames: np.ndarray, device, max_sequences: int = 256) -> torch.Tensor:
    """The mean of uint8 frames (N, T, H, W, C) over the first ``max_sequences`` sequences: (C, H, W) in [0, 1]."""
    m = np.asarray(frames[:max_sequences], dtype=np.float64).mean((0, 1)) / 255.0
    return torch.from_numpy(m).float().permute(2, 0, 1).to(device)


def summarize(lines: list[dict]) -> dict:
    """What summary.json says about collapse, from the logged metric lines of the whole run."""
    flagged = [m["step"] for m in lines if m.get("collapsed")]
    last = lines[-1] if lines else {}
    out = {"at_end": bool(last.get("collapsed", False)), "logged_steps_collapsed": len(flagged)}
    if flagged:
        out["first_step"] = flagged[0]
    if out["at_end"]:
        out["advice"] = ADVICE
    return out


def against_mean_frame(lines: list[dict]) -> dict:
    """What summary.json says about the last logged reconstruction against the mean frame on the same batch:
    both MSEs, their ratio, ``no_better_at_end`` and, when it is true and training did not collapse, advice."""
    logged = [m for m in lines if "recon_mse" in m]
    if not logged:
        return {}
    last = logged[-1]
    worse = no_better(last["recon_mse"], last["mean_frame_mse"])
    out = {
        "recon_mse": last["recon_mse"],
        "mean_frame_mse": last["mean_frame_mse"],
        "ratio": last["recon_mse"] / max(last["mean_frame_mse"], 1e-12),
        "no_better_at_end": worse,
    }
    if worse and not last.get("collapsed"):
        out["advice"] = WORSE_ADVICE
    return out
