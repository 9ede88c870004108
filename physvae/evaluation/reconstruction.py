"""Reconstruction of the test frames from the posterior means: MSE, PSNR, SSIM, and the share of frames whose
reconstruction is already over VPT's threshold (``over_vpt_threshold``): a frame the model sees and still draws
that far off (sensor noise, detail its decoder does not draw) bounds every prediction's valid time."""

from __future__ import annotations

import torch

from ..metrics import frames as fm
from .sections import Section


class Reconstruction(Section):
    name = "reconstruction"
    columns = {"recon_mse": "mse", "recon_ssim": "ssim", "recon_over_vpt_threshold": "over_vpt_threshold"}

    def run(self, ctx) -> dict:
        rows = []
        with torch.no_grad():
            for b in ctx.batches(ctx.test):
                rec, _ = ctx.model.reconstruct(b.frames, None, b.inputs, b.times)
                over = fm.normalized_error(rec, b.frames) > fm.VPT_THRESHOLD
                rows.append(
                    torch.stack(
                        [fm.mse(rec, b.frames), fm.psnr(rec, b.frames), fm.ssim(rec, b.frames), over.float()],
                        -1,
                    )
                )
        m = torch.cat(rows).mean((0, 1)).cpu()
        return {
            "mse": float(m[0]),
            "psnr": float(m[1]),
            "ssim": float(m[2]),
            "over_vpt_threshold": float(m[3]),
        }
