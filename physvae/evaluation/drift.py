"""Latent drift: how far the predicted latents leave the posterior's latents, by thirds of the horizon."""

from __future__ import annotations

from ..metrics.drift import drift_by_part, spacing
from .sections import Section

LEFT = (
    3.0  # a last third this many posterior spacings away (and this many times the posterior's own) is flagged
)


class LatentDrift(Section):
    name = "latent_drift"
    columns = {"latent_drift": "by_third", "latent_drift_posterior": "posterior_by_third"}

    def run(self, ctx) -> dict:
        """The predicted latents' median distance to the nearest test-posterior latent, per third of the
        prediction horizon, in units of the posterior's own nearest-neighbour spacing across sequences; beside
        it, the baseline: the same for the posterior latents of the predicted frames themselves (the model
        shown the true frames). ``left_posterior`` when the rollout's last third is beyond ``LEFT`` spacings and
        beyond ``LEFT`` times the posterior's own there."""
        if ctx.test_latents.z.shape[0] < 2:
            return {"skipped": "one test sequence: the posterior's spacing is measured between sequences"}
        pred, ref = ctx.predictions, ctx.test_latents.z
        parts, c, scale = min(3, pred.horizon), ctx.cfg.n_context, spacing(ref)
        rollout = drift_by_part(ref, pred.z, parts, scale)
        seen = drift_by_part(ref, ctx.predict_latents.z[:, c : c + pred.horizon], parts, scale)
        return {
            "by_third": {str(i + 1): d for i, d in enumerate(rollout)},
            "posterior_by_third": {str(i + 1): d for i, d in enumerate(seen)},
            "left_posterior": bool(rollout[-1] > LEFT * max(1.0, seen[-1])),
            "threshold": LEFT,
            "unit": "median nearest-neighbour distance between test-posterior latents of different sequences",
        }
