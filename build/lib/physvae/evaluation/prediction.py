"""Prediction after a context: per-step curves, their averages and the valid prediction time (Botev et al.)."""

from __future__ import annotations

import numpy as np

from ..metrics import frames as fm
from .sections import Section


class Prediction(Section):
    name = "prediction"
    columns = {
        "pred_mse": "mse",
        "pred_ssim": "ssim",
        "vpt_median": "vpt_median",
        "vpt_fraction": "vpt_fraction",
    }

    def run(self, ctx) -> dict:
        p = ctx.predictions
        c = p.scores  # (N, H, 4): MSE, PSNR, SSIM, normalized error
        vpt = fm.valid_prediction_time(c[..., 3])
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
            "vpt_median": float(np.median(vpt)),
            "vpt_fraction": float(np.median(vpt) / p.horizon),
            "vpt_threshold": fm.VPT_THRESHOLD,
        }
