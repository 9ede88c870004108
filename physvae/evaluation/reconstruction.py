"""Reconstruction of the test frames from the posterior means: MSE, PSNR, SSIM."""

from __future__ import annotations

import torch

from ..metrics import frames as fm
from .sections import Section


class Reconstruction(Section):
    name = "reconstruction"
    columns = {"recon_mse": "mse", "recon_ssim": "ssim"}

    def run(self, ctx) -> dict:
        rows = []
        with torch.no_grad():
            for b in ctx.batches(ctx.test):
                rec, _ = ctx.model.reconstruct(b.frames, None, b.inputs, b.times)
                rows.append(
                    torch.stack([fm.mse(rec, b.frames), fm.psnr(rec, b.frames), fm.ssim(rec, b.frames)], -1)
                )
        m = torch.cat(rows).mean((0, 1)).cpu()
        return {"mse": float(m[0]), "psnr": float(m[1]), "ssim": float(m[2])}
