"""What the learned dynamics say in physical units: the eigen-analysis of a (locally) linear transition's maps
beside the reference dynamics the dataset declares (e.g. small-angle frequency and damping per sequence)."""

from __future__ import annotations

import numpy as np
import torch

from ..metrics.dynamics import modes, oscillation
from .sections import Section


class Dynamics(Section):
    name = "dynamics"
    columns = {
        "learned_frequency": "recovered.natural_frequency.learned",
        "learned_damping": "recovered.damping.learned",
        "damping_error": "recovered.damping.relative_error",
        "frequency_error": "recovered.natural_frequency.relative_error",
    }

    def run(self, ctx) -> dict:
        split, tr, dt = ctx.test, ctx.model.transition, ctx.test.dt
        out: dict = {"transition": type(tr).__name__, "dt": dt}
        reference = _reference(split)
        if reference:
            out["reference"] = reference
        z = ctx.test_latents.z
        with torch.no_grad():
            maps = tr.linear_maps(torch.from_numpy(z.reshape(-1, z.shape[-1])).float().to(ctx.device))
        if maps is None:
            return out
        mean_map = maps.mean_map.cpu().numpy()
        osc = oscillation(mean_map, dt)
        out["mean_map"] = {"oscillation": osc, "modes": [m.to_dict() for m in modes(mean_map, dt)]}
        out["regimes"] = [
            {"usage": float(u), "oscillation": oscillation(A, dt), "eigenvalues": _eigenvalues(A)}
            for u, A in zip(maps.usage.cpu().numpy(), maps.maps.detach().cpu().numpy())
        ]
        if osc and reference:
            out["recovered"] = {
                k: {"learned": osc[k], "true": v, "relative_error": abs(osc[k] - v) / abs(v) if v else None}
                for k, v in reference.items()
                if k in osc
            }
        return out


def _reference(split) -> dict[str, float]:
    """The dataset's reference dynamics, averaged over the split's sequences: {name: value}."""
    if split.reference is None or not split.reference_names:
        return {}
    ref = np.asarray(split.reference, dtype=np.float64)
    return {n: float(ref[:, i].mean()) for i, n in enumerate(split.reference_names)}


def _eigenvalues(A: np.ndarray) -> list[list[float]]:
    """[[re, im], ...] of a map's eigenvalues."""
    return [[float(v.real), float(v.imag)] for v in np.linalg.eigvals(np.asarray(A, dtype=np.float64))]
