"""Posterior collapse: the latents carry nothing and the decoder draws the mean frame.

Training checks it at every logged step from numbers it already has: the KL per frame, the MSE of the decoded
posterior means, the MSE of the mean training frame on the same batch, and how much the decoded frames vary over the
batch against how much the frames do (``spread_ratio``). "Carry nothing" is either sign: a KL near zero, or
decoded frames that hardly vary whatever the latents — the second catches a collapse whose KL stays above zero
(measured: the robustness suite's box drawn as a bar, LocallyLinear, seed 1, kept 0.25 nats per frame while its
decoded frames varied 1.3 % as much as the data's and its posterior read the state at R² 0.00). It is reported in
the progress bar, in every line of ``metrics.jsonl`` (``collapsed``, ``decoded_spread``) and in ``summary.json``
(``collapse``), with what to try.

A model can also fail without collapsing: latents in use (KL well above zero) and a decoder that still draws the
frames worse than their mean (a background it has not learned, a video it cannot draw). ``summary.json``'s
``mean_frame`` section says so at the end of training, and the progress bar from a quarter of the steps on.
"""

from __future__ import annotations

import numpy as np
import torch

KL_FLOOR = 0.01  # nats per frame, all latent dimensions together: below this the latents say (almost) nothing
RATIO = 0.95  # a reconstruction within 5 % of the mean frame's MSE is no better than drawing the mean frame
# Decoded frames varying less than 5 % as much as the data's: one frame, whatever the latents.
SPREAD_FLOOR = 0.05
# Every decoder draws one frame at first: the spread is judged from this step on, and from a quarter of the steps
# (``spread_judged``).
SPREAD_MIN_STEP = 100
ADVICE = (
    "the model draws the mean frame and its latents carry nothing: try a KL warm-up (--train.kl_warmup=500), "
    "free bits (--train.free_bits=0.05), the multi-step prediction term if it was off (--train.predict_weight=auto), "
    "a smaller learning rate, or a fixed pixel noise (--model.obs_std=0.05) if the learned one grew large"
)


def collapsed(kl: float, recon_mse: float, mean_frame_mse: float, spread: float | None = None) -> bool:
    """True when the reconstruction is no better than the mean frame and the latents carry nothing: the KL per
    frame below ``KL_FLOOR``, or the decoded frames' ``spread`` (``spread_ratio``; None: not judged) below
    ``SPREAD_FLOOR``."""
    unused = kl < KL_FLOOR or (spread is not None and spread < SPREAD_FLOOR)
    return unused and no_better(recon_mse, mean_frame_mse)


def spread_ratio(decoded: torch.Tensor, frames: torch.Tensor) -> float | None:
    """How much decoded frames vary over a batch against how much the frames do: the mean squared departure of
    ``decoded`` (B, T, C, H, W) from its own mean over (B, T), over the same for ``frames`` (same intensity
    units). 1: as varied as the data; 0: one frame drawn whatever the latents. None where the frames are all
    alike (nothing to draw: not judged)."""

    def spread(x: torch.Tensor) -> float:
        return (x - x.mean((0, 1))).pow(2).mean().item()

    data = spread(frames)
    return spread(decoded) / data if data > 0 else None


def spread_judged(step: int, steps: int) -> bool:
    """Whether the decoded frames' spread counts at ``step`` of ``steps``: from a quarter of the steps and from
    ``SPREAD_MIN_STEP`` on (before, every decoder is still learning to draw anything but the mean)."""
    return step >= max(steps / 4, SPREAD_MIN_STEP)


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
    """What summary.json says about collapse, from the logged metric lines of the whole run: ``at_end``, the count
    of logged steps judged collapsed and the first, the steps where β was re-warmed (``rewarmed_at``, if any) and,
    when it ended collapsed, advice."""
    flagged = [m["step"] for m in lines if m.get("collapsed")]
    last = lines[-1] if lines else {}
    rewarmed = [m["step"] for m in lines if m.get("rewarm")]
    out = {"at_end": bool(last.get("collapsed", False)), "logged_steps_collapsed": len(flagged)}
    if flagged:
        out["first_step"] = flagged[0]
    if rewarmed:
        out["rewarmed_at"] = rewarmed  # steps after which β was re-warmed from 0 (physvae.kl_weight)
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
