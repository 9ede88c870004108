"""Posterior collapse: the latents carry nothing (KL near zero) and the decoder draws the mean frame.

Training checks it at every step from numbers it already has: the KL per frame, the MSE of the decoded posterior
means, and the MSE of the mean training frame on the same batch. It is reported in the progress bar, in every
line of ``metrics.jsonl`` (``collapsed``) and in ``summary.json`` (``collapse``), with what to try.
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
    return kl < KL_FLOOR and recon_mse >= RATIO * mean_frame_mse


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
