"""Latent drift against constructed latents with known nearest neighbours."""

import numpy as np
import pytest

from physvae.metrics.drift import distance_to_reference, drift_by_part, spacing


def _brute_spacing(ref: np.ndarray) -> float:
    n, t, _ = ref.shape
    flat = ref.reshape(n * t, -1)
    d = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
    seq = np.arange(n * t) // t
    d[seq[:, None] == seq[None]] = np.inf  # only other sequences' latents
    return float(np.median(d.min(axis=1)))


def test_spacing_is_the_median_distance_to_another_sequence():
    ref = np.random.default_rng(0).normal(size=(7, 5, 3))
    assert spacing(ref) == pytest.approx(_brute_spacing(ref), rel=1e-12)
    # sequences far apart, frames close together: the spacing is between sequences, not along one
    apart = np.stack([np.c_[np.full(4, 10.0 * i), 0.1 * np.arange(4)] for i in range(3)])
    assert spacing(apart) == pytest.approx(_brute_spacing(apart)) and spacing(apart) > 9.0
    with pytest.raises(ValueError, match="at least 2 sequences"):
        spacing(ref[:1])


def test_drift_is_the_offset_in_spacings_off_the_reference():
    """Reference latents in the plane x₃ = 0; predicted latents are reference latents lifted by 0, 2 and 5
    spacings along x₃ in the three thirds: their nearest reference latent is the one below, so the drift is
    exactly 0, 2, 5."""
    rng = np.random.default_rng(1)
    ref = np.concatenate([rng.normal(size=(6, 9, 2)), np.zeros((6, 9, 1))], axis=-1)
    s = spacing(ref)
    lift = np.repeat([0.0, 2.0, 5.0], 3) * s  # 9 predicted steps, 3 per third
    points = ref.copy()
    points[..., 2] = lift
    np.testing.assert_allclose(distance_to_reference(ref, points), np.broadcast_to(lift, (6, 9)), atol=1e-12)
    assert drift_by_part(ref, points) == pytest.approx([0.0, 2.0, 5.0], abs=1e-9)
