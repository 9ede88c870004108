"""Latent drift: how far the predicted latents leave the posterior's latents, by thirds of the horizon."""

from __future__ import annotations

from ..metrics.drift import drift_by_part
from .sections import Section

LEFT = 3.0  # a last third this many posterior spacings away is flagged: the decoder there extrapolates


class LatentDrift(Section):
    name = "latent_drift"
    columns = {"latent_drift": "by_third"}

    def run(self, ctx) -> dict:
        """The predicted latents' median distance to the nearest test-posterior latent, per third of the
        prediction horizon, in units of the posterior's own nearest-neighbour spacing across sequences;
        ``left_posterior`` when the last third is beyond ``LEFT`` spacings."""
        pred = ctx.predictions
        parts = min(3, pred.horizon)
        drift = drift_by_part(ctx.test_latents.z, pred.z, parts)
        return {
            "by_third": {str(i + 1): d for i, d in enumerate(drift)},
            "left_posterior": bool(drift[-1] > LEFT),
            "threshold": LEFT,
            "unit": "median nearest-neighbour distance between test-posterior latents of different sequences",
        }
