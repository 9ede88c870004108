"""Frame metrics on arrays of frames (..., C, H, W) with values in [0, 1].

Every function returns per-frame values (the leading dimensions), so curves over a horizon and averages come
from the same numbers.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

VPT_THRESHOLD = (
    0.025  # Botev et al. 2021: e_t = mean((gt − pred)²) / mean(gt²) above this ends the valid time
)


def mse(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Mean squared error per frame: (..., C, H, W) -> (...)."""
    return ((pred - truth) ** 2).flatten(-3).mean(-1)


def psnr(pred: torch.Tensor, truth: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB for a peak of 1: 10 log10(1 / MSE), per frame."""
    return 10.0 * torch.log10(1.0 / (mse(pred, truth) + eps))


def _gaussian_window(size: int, sigma: float, channels: int) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = (g / g.sum()).float()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(pred: torch.Tensor, truth: torch.Tensor, window: int = 7, sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity per frame (Wang et al. 2004), Gaussian window (7×7 fits 16×16 frames), no padding.

    Channels are averaged. Identical frames give exactly 1.
    """
    lead = pred.shape[:-3]
    c, h, w = pred.shape[-3:]
    if min(h, w) < window:
        raise ValueError(f"SSIM window {window} is larger than the {h}×{w} frames")
    x, y = pred.reshape(-1, c, h, w).float(), truth.reshape(-1, c, h, w).float()
    k = _gaussian_window(window, sigma, c).to(x.device)

    def blur(v):
        return F.conv2d(v, k, groups=c)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s.flatten(1).mean(1).reshape(lead)


def normalized_error(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """e_t = mean((gt_t − pred_t)²) / mean(gt_t²), per frame."""
    return mse(pred, truth) / (truth.flatten(-3) ** 2).mean(-1).clamp(min=1e-12)


def valid_prediction_time(errors: np.ndarray, threshold: float = VPT_THRESHOLD) -> np.ndarray:
    """Per sequence, the first t with e_t > threshold (the horizon if never): errors (N, H) -> (N,) ints.

    VPT counts frames of the predicted horizon; report the median over sequences and VPT / H.
    """
    errors = np.asarray(errors)
    over = errors > threshold
    first = np.argmax(over, axis=1)
    return np.where(over.any(axis=1), first, errors.shape[1])


def valid_frames(errors: np.ndarray, threshold: float = VPT_THRESHOLD) -> np.ndarray:
    """Per sequence, how many predicted frames have e_t ≤ threshold, wherever they lie: errors (N, H) -> (N,) ints.

    Beside VPT (the first crossing): a sequence whose error spikes over the threshold for one frame and falls
    back has a short VPT and nearly H valid frames; one that drifts away has both short."""
    return (np.asarray(errors) <= threshold).sum(axis=1)


def vpt_distribution(errors: np.ndarray, threshold: float = VPT_THRESHOLD) -> dict:
    """VPT over sequences from errors (N, H): its median (what Botev et al. report) and that median over H, its
    quartiles, the share of sequences valid over the whole horizon, and the median count of valid frames (see
    ``valid_frames``)."""
    vpt = valid_prediction_time(errors, threshold)
    horizon = np.asarray(errors).shape[1]
    return {
        "vpt_median": float(np.median(vpt)),
        "vpt_fraction": float(np.median(vpt) / horizon),
        "vpt_quartiles": [float(q) for q in np.percentile(vpt, [25, 50, 75])],
        "vpt_full_share": float((vpt == horizon).mean()),
        "valid_frames_median": float(np.median(valid_frames(errors, threshold))),
    }


def hamming(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Fraction of pixels that differ after thresholding both at 0.5, per frame."""
    return ((pred >= 0.5) != (truth >= 0.5)).float().flatten(-3).mean(-1)


def consecutive_hamming_baseline(truth: torch.Tensor) -> float:
    """KVAE's imputation baseline: the largest Hamming distance between consecutive true frames (B, T, C, H, W)."""
    return float(hamming(truth[:, 1:], truth[:, :-1]).max())
