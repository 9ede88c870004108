"""How far predicted latents leave the region the posterior puts the data in."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors


def spacing(reference: np.ndarray, max_points: int = 4000, seed: int = 0) -> float:
    """The posterior's own scale: the median distance from a latent of ``reference`` (N, T, D) to the nearest
    latent of another sequence (N ≥ 2), over up to ``max_points`` latents (latent units)."""
    n, t, d = reference.shape
    if n < 2:
        raise ValueError(f"spacing needs latents of at least 2 sequences, got {n}")
    rng = np.random.default_rng(seed)
    pick = rng.choice(n * t, size=min(max_points, n * t), replace=False)
    seq = pick // t
    flat = reference.reshape(n * t, d)
    nn = NearestNeighbors(n_neighbors=min(t + 1, n * t)).fit(flat)
    dist, idx = nn.kneighbors(flat[pick])
    other = (idx // t) != seq[:, None]  # among the t + 1 nearest, at least one is another sequence's
    return float(np.median(np.where(other, dist, np.inf).min(axis=1)))


def distance_to_reference(reference: np.ndarray, points: np.ndarray, max_points: int = 20000, seed: int = 0):
    """Each of ``points`` (M, H, D)'s distance (M, H) to its nearest latent of ``reference`` (N, T, D), the
    reference subsampled to ``max_points`` latents (latent units)."""
    flat = reference.reshape(-1, reference.shape[-1])
    if len(flat) > max_points:
        flat = flat[np.random.default_rng(seed).choice(len(flat), size=max_points, replace=False)]
    dist, _ = NearestNeighbors(n_neighbors=1).fit(flat).kneighbors(points.reshape(-1, points.shape[-1]))
    return dist[:, 0].reshape(points.shape[:2])


def drift_by_part(
    reference: np.ndarray, points: np.ndarray, parts: int = 3, scale: float | None = None
) -> list[float]:
    """The median distance of ``points`` (M, H, D) to ``reference`` (N, T, D), over each of ``parts`` consecutive
    parts of the H steps, in units of ``scale`` (default: the reference's ``spacing``; pass it when scoring several
    sets against one reference): about 1 where predicted latents stay among the posterior's, growing as a rollout
    leaves them (then the decoder and the probes extrapolate)."""
    scale = max(spacing(reference) if scale is None else scale, 1e-12)
    dist = distance_to_reference(reference, points) / scale
    return [float(np.median(part)) for part in np.array_split(dist, parts, axis=1)]
