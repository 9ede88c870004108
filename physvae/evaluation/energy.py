"""The learned energy of a transition that has one (``hamiltonian``): how well it tracks the true energy and how
much it drifts along the model's own rollouts.

R²: the true energy (the dataset's column of kind "energy") regressed on the learned H(z) by an affine map (H's
scale and offset are arbitrary), fit on the training latents, scored on the test latents. Drift: |H(z_end) −
H(z_start)| over the predicted latents, in the true energy's units through that affine map, relative to the mean
true energy and scaled to 100 frames; the data's own drift over the same frames (damping) is shown beside it.
Without an energy column, drift is relative to the spread (std) of H over the test latents.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import r2_score

from .sections import Section


class Energy(Section):
    name = "energy"
    columns = {"energy_r2": "r2", "energy_drift": "drift_per_100", "true_energy_drift": "true_drift_per_100"}

    def run(self, ctx) -> dict:
        tr = ctx.model.transition
        if not callable(getattr(tr, "energy", None)):
            return {"skipped": f"the {tr.name} transition has no learned energy"}
        h_train, h_test = _energy(ctx, tr, ctx.train_latents.z), _energy(ctx, tr, ctx.test_latents.z)
        pred = ctx.predictions
        h_pred = _energy(ctx, tr, pred.z)  # (N, H)
        steps = max(pred.horizon - 1, 1)
        change = np.abs(h_pred[:, -1] - h_pred[:, 0]).mean() * 100 / steps
        col = _energy_column(ctx.test.state_kinds)
        if col is None:
            return {"drift_per_100": float(change / max(h_test.std(), 1e-12)), "scale": "std of H"}
        e_train, e_test = ctx.train_latents.states[..., col], ctx.test_latents.states[..., col]
        a, b = np.polyfit(h_train.ravel(), e_train.ravel(), 1)
        e_pred = pred.states[..., col]
        mean_e = max(float(np.abs(e_test).mean()), 1e-12)
        return {
            "r2": float(r2_score(e_test.ravel(), a * h_test.ravel() + b)),
            "drift_per_100": float(abs(a) * change / mean_e),
            "true_drift_per_100": float(np.abs(e_pred[:, -1] - e_pred[:, 0]).mean() * 100 / steps / mean_e),
            "predicted_frames": pred.horizon,
            "scale": "mean true energy",
        }


def _energy(ctx, tr, z: np.ndarray) -> np.ndarray:
    """H at latents z (N, T, D) -> (N, T), in chunks on the model's device."""
    flat = torch.from_numpy(z.reshape(-1, z.shape[-1])).float()
    with torch.no_grad():
        h = [tr.energy(c.to(ctx.device)).double().cpu() for c in flat.split(4096)]
    return torch.cat(h).numpy().reshape(z.shape[:-1])


def _energy_column(kinds: list[str]) -> int | None:
    return kinds.index("energy") if "energy" in kinds else None
