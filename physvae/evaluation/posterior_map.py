"""What the inferred latents do near rest: a linear map fitted to consecutive latents, beside the transition's.

The learned transition's frequency and damping at rest can be wrong where the latents carry the motion and the
transition has not learned it, or where the latents do not carry it. A least-squares linear map
z_{t+1} ≈ A z_t + B u_t + b over consecutive latents, taken where the true energy is lowest (the lowest ``SHARE``
of the pairs: near rest, where a linear map holds), reads their motion with no transition model; fitted to the
true state's columns it reads the data's (the ceiling of this reading); its frequency and damping are read from
its oscillating pairs as the transition's are. Fitted to the posterior latents it is not free of the transition:
each q(z_t | ·) fuses the inference network's evidence with the transition's prior. Fitted to that evidence
alone (``TemporalVAE.evidence``, before the fusion) it is, but the evidence is noisy frame to frame, and least
squares on noisy regressors reads too much damping (``benchmarks.rest_point`` shows both).
"""

from __future__ import annotations

import numpy as np

SHARE = 0.2  # the share of consecutive pairs, lowest true energy first, the map is fitted on
MIN_PAIRS = 20  # fewer pairs than this (or than the unknowns) give no map


def posterior_map(z: np.ndarray, energy: np.ndarray, inputs: np.ndarray | None = None) -> np.ndarray | None:
    """The linear map A (D, D) of z_{t+1} ≈ A z_t + B u_t + b fitted by least squares to the pairs of posterior
    latents z (N, T, D) whose first frame has the lowest ``SHARE`` of the true energy (N, T); ``inputs`` (N, T, U)
    the controls u_t applied between t and t+1, or None. None where there are too few pairs."""
    n, t, d = z.shape
    x, y = z[:, :-1].reshape(-1, d), z[:, 1:].reshape(-1, d)
    features = [x, np.ones((len(x), 1))]
    if inputs is not None and inputs.shape[-1]:
        features.append(inputs[:, :-1].reshape(len(x), -1))
    design = np.concatenate(features, axis=1)
    keep = np.argsort(energy[:, :-1].ravel(), kind="stable")[: int(len(x) * SHARE)]
    if len(keep) < max(MIN_PAIRS, design.shape[1]):
        return None
    weights = np.linalg.lstsq(design[keep], y[keep], rcond=None)[0]  # (D + 1 + U, D)
    return weights[:d].T
