"""Intrinsic dimension of a point cloud of latents."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors


def two_nn(x: np.ndarray, discard: float = 0.1) -> float:
    """TwoNN estimator (Facco et al. 2017): from the ratio μ = r₂ / r₁ of each point's two nearest distances,
    −log(1 − F(μ)) = d · log μ; d is fit through the origin after discarding the largest ``discard`` fraction."""
    x = np.unique(np.asarray(x, dtype=np.float64), axis=0)
    dist, _ = NearestNeighbors(n_neighbors=3).fit(x).kneighbors(x)
    mu = dist[:, 2] / np.maximum(dist[:, 1], 1e-12)
    mu = np.sort(mu[np.isfinite(mu) & (mu > 1)])
    n = len(mu)
    keep = int(n * (1 - discard))
    f = np.arange(1, n + 1) / n
    lx, ly = np.log(mu[:keep]), -np.log(1 - f[:keep])
    return float((lx @ ly) / (lx @ lx))


def pca_dimension(x: np.ndarray, variance: float = 0.95) -> int:
    """Number of principal components that explain ``variance`` of the total variance."""
    ratios = PCA().fit(np.asarray(x, dtype=np.float64)).explained_variance_ratio_
    return int(np.searchsorted(np.cumsum(ratios), variance) + 1)
