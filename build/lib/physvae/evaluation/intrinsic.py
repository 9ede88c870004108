"""Intrinsic dimension of the test latents: TwoNN and the PCA components that hold 95 % of the variance."""

from __future__ import annotations

from ..metrics.intrinsic import pca_dimension, two_nn
from .sections import Section


class IntrinsicDimension(Section):
    name = "intrinsic_dimension"
    columns = {"two_nn": "two_nn", "pca_95": "pca_95"}

    def run(self, ctx) -> dict:
        z = ctx.test_latents.z.reshape(-1, ctx.test_latents.z.shape[-1])
        return {"two_nn": two_nn(z[:5000]), "pca_95": pca_dimension(z)}
