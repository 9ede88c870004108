"""Surprise scores for lasting changes of a stated parameter, and the fusion of several scores into one.

``param_change``: a generalized likelihood ratio. For a model whose transition states its physics with named
parameters (``model.transition=physics``), frame t is predicted from the frames before it under the learned
parameters and under alternatives that scale one free parameter θ_i by a factor f (and 1/f); the score is

    max over (i, f) of  −log p(x_t | x_<t; θ) + log p(x_t | x_<t; θ with θ_i · f)

(nats), how much better frame t is explained by the most likely of the changed physics than by the learned one.
A change of gravity bends the motion a little at each frame, which the one-step NLL ranks below the noise of
normal frames; measured against an alternative that explains the bend, it stands out. Every alternative is
causal where the NLL is (each frame predicted from frames < t), so this score is causal too.

``fuse``: the maximum over several scores after each is mapped so that its median on the normal frames of the
threshold split is 0 and its ``quantile`` there is 1; one score then serves events that different scores catch
(a kick: the one-step NLL; a gravity change: the likelihood ratio).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch

from simulators import ConfigError

DEFAULT_FACTORS = (1.25, 1.5, 2.0)


def changeable(model, names: Sequence[str] = ()) -> list[int]:
    """The indices of the parameters a ``param_change`` score varies: those named (empty: every free one).

    Raises:
        ConfigError: the model's transition states no parameters (or none free), a name is not one of them, or
            it is held at a known value (``model.physics.known``).
    """
    tr = getattr(model, "transition", None)
    physics = getattr(tr, "physics", None)
    if physics is None or not hasattr(tr, "known_mask"):
        raise ConfigError(
            "the param_change score needs a transition with stated parameters (model.transition=physics); "
            f"this model's is {type(tr).__name__}"
        )
    free = [i for i, known in enumerate(tr.known_mask.tolist()) if not known]
    if not free:
        raise ConfigError(
            f"the param_change score has no parameter to vary: every one of {physics.param_names} is known"
        )
    if not names:
        return free
    index = {n: i for i, n in enumerate(physics.param_names)}
    for name in names:
        if name not in index:
            raise ConfigError(
                f"change_params names {name!r}, not a parameter of {physics.name!r}: {physics.param_names}"
            )
        if index[name] not in free:
            raise ConfigError(f"change_params names {name!r}, held at its known value (model.physics.known)")
    return [index[n] for n in names]


@contextmanager
def scaled_parameter(transition, index: int, factor: float) -> Iterator[None]:
    """Within the block, the transition's parameter ``index`` is ``factor`` times its learned value (global and,
    for a positive per-sequence parameter, every sequence's; a signed one's per-sequence offsets are added to the
    scaled global value); restored after."""
    if not factor > 0:
        raise ConfigError(f"change_factors must be > 0, got {factor!r}")
    w = transition.w
    saved = w.detach().clone()
    with torch.no_grad():
        if bool(transition.positive[index]):  # θ = exp(scale · w): a factor is a shift of w
            w[index] += math.log(factor) / transition.cfg.param_scale
        else:  # θ = scale · w or |scale · w|: a factor scales w
            w[index] *= factor
    try:
        yield
    finally:
        with torch.no_grad():
            w.copy_(saved)


def param_change(
    model,
    b,
    nll: Callable,
    names: Sequence[str] = (),
    factors: Sequence[float] = DEFAULT_FACTORS,
) -> torch.Tensor:
    """The likelihood ratio of the best changed parameter at each frame: (B, T), NaN where ``nll`` is.

    Args:
        model: a model whose transition states its parameters (``changeable``).
        b: a Batch.
        nll: (model, batch) -> (B, T) the one-step predictive NLL (``physvae.anomaly.predictive_nll``).
        names: the parameters varied (empty: every free one).
        factors: each parameter is tried at θ_i · f and θ_i / f for every f here (f > 0, f ≠ 1).
    """
    indices = changeable(model, names)
    base = nll(model, b)
    best = torch.full_like(base, -float("inf"))
    for i in indices:
        for f in factors:
            for g in (f, 1.0 / f):
                with scaled_parameter(model.transition, i, g):
                    best = torch.maximum(best, base - nll(model, b))
    return torch.where(base.isnan(), base, best)


def calibration(normal: np.ndarray, scored: np.ndarray, quantile: float) -> tuple[float, float]:
    """(median, spread) of a score over the scored frames of normal sequences (M, T): the spread is the
    ``quantile`` minus the median (1 where the two coincide), so that (x − median) / spread maps them to 0, 1."""
    values = normal[scored]
    if values.size == 0:
        raise ValueError("no scored frames of normal sequences to calibrate a score on")
    median, top = float(np.median(values)), float(np.quantile(values, quantile))
    return median, (top - median) if top > median else 1.0


def fuse(scores: Sequence[np.ndarray], calibrations: Sequence[tuple[float, float]]) -> np.ndarray:
    """The frame-wise maximum of scores (N, T) each mapped by its (median, spread): (N, T), NaN where any is."""
    mapped = [(s - m) / spread for s, (m, spread) in zip(scores, calibrations)]
    out = np.max(np.stack(mapped), axis=0)
    return np.where(np.isnan(np.stack(mapped)).any(0), np.nan, out)
