"""Prediction after a context: per-step curves, their averages and the valid prediction time (Botev et al.).

On data drawn with sensor noise that also kept its frames before the noise (``frames_clean``), the same figures
against those clean frames (``clean``): noise no model can foresee sets a floor under every frame error (at σ = 0.05
on a dark frame it alone exceeds VPT's threshold), so the clean VPT is the one that says how long the dynamics
hold.

With ``eval.prediction_samples`` > 0, the same figures for the predictive mean over that many sampled trajectories
(``sampled``; see ``physvae.sampled_prediction``): the frame a model unsure of the phase should draw under squared
error is a blur of the phases it holds possible, not one sharp guess.
"""

from __future__ import annotations

import numpy as np

from ..metrics import frames as fm
from ..sampled_prediction import supports_sampling
from .sections import Section


class Prediction(Section):
    name = "prediction"
    columns = {
        "pred_mse": "mse",
        "pred_ssim": "ssim",
        "vpt_median": "vpt_median",
        "vpt_fraction": "vpt_fraction",
        "vpt_full_share": "vpt_full_share",
        "valid_frames_median": "valid_frames_median",
        "pred_mse_clean": "clean.mse",
        "vpt_clean_median": "clean.vpt_median",
        "pred_mse_sampled": "sampled.mse",
        "vpt_sampled_median": "sampled.vpt_median",
    }

    def run(self, ctx) -> dict:
        p = ctx.predictions
        c = p.scores  # (N, H, 4): MSE, PSNR, SSIM, normalized error
        return {
            "n_context": p.n_context,
            "horizon": p.horizon,
            "data": str(ctx.predict_data),
            "mse": float(c[..., 0].mean()),
            "psnr": float(c[..., 1].mean()),
            "ssim": float(c[..., 2].mean()),
            "mse_curve": c[..., 0].mean(0).tolist(),
            "psnr_curve": c[..., 1].mean(0).tolist(),
            "ssim_curve": c[..., 2].mean(0).tolist(),
            **fm.vpt_distribution(c[..., 3]),  # vpt_median, vpt_fraction and the distribution over sequences
            "vpt_threshold": fm.VPT_THRESHOLD,
            **({} if p.clean_scores is None else {"clean": _clean(p.clean_scores)}),
            **({"sampled": _sampled(ctx)} if ctx.cfg.prediction_samples else {}),
            **_bound(ctx.results.get("reconstruction", {})),
        }


def _bound(reconstruction: dict) -> dict:
    """A note when most frames' own reconstructions are over VPT's threshold: VPT then says little."""
    share = reconstruction.get("over_vpt_threshold")
    if share is None or share <= 0.5:
        return {}
    return {
        "vpt_note": f"{share:.0%} of the test frames are over VPT's threshold already as reconstructed (seen, "
        "not predicted): sensor noise or detail the decoder does not draw bounds VPT here; read "
        "pred_over_mean_frame (and vpt_clean_median where the data kept its frames before noise)"
    }


def _sampled(ctx) -> dict:
    """MSE, SSIM and VPT of the predictive mean over ``eval.prediction_samples`` sampled trajectories; a reason
    instead for a model that predicts in closed form only (the Kalman VAE family)."""
    if not supports_sampling(ctx.model):
        return {
            "skipped": f"{type(ctx.model).__name__} predicts in closed form only; no sampled trajectories"
        }
    c = ctx.sampled_scores  # (N, H, 4), as the mean rollout's
    return {"samples": ctx.cfg.prediction_samples, "ssim": float(c[..., 2].mean()), **_clean(c[..., [0, 3]])}


def _clean(scores: np.ndarray) -> dict:
    """MSE (mean and curve) and VPT from scores (N, H, 2) of MSE and normalized error: against the frames before
    sensor noise, or of the predictive mean."""
    return {
        "mse": float(scores[..., 0].mean()),
        "mse_curve": scores[..., 0].mean(0).tolist(),
        **fm.vpt_distribution(scores[..., 1]),
    }
