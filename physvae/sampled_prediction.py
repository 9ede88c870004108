"""The predictive mean of frames: E[x_t | x_1:c] over the model's own uncertainty, by sampling.

``TemporalVAE.predict`` rolls the transition's *mean* out from the posterior mean at the last context frame and
decodes it: one sharp trajectory. Where the model is unsure (of the state, of a drifting parameter, of how the
process noise adds up over the horizon), the frame that minimizes the expected squared error is not that
trajectory's frame but the average of the frames of every trajectory the model holds possible. This module draws
them: z_c ~ q(z_c | x_1:c) (the filter's or smoother's posterior at the last context frame, given the context only),
then z_{t+1} ~ p(z_{t+1} | z_t) with the transition's own process noise, each trajectory decoded to its mean
frame, the frames averaged over the samples. It is the model's prediction under its own probabilities; a model whose
noise is miscalibrated blurs too much or too little, which the frame errors then show.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from simulators import ConfigError

from .model import Posterior
from .transitions.base import step_dt


@dataclass
class Draws:
    """Trajectories sampled after a context: the posterior over the context (``physvae.model.Posterior``; its
    means are what ``predict`` rolls out from), the content latent the decoder reads (B, K) or None, and the
    sampled future latents (B, S, horizon, D)."""

    posterior: Posterior
    content: torch.Tensor | None
    future: torch.Tensor


def sample_trajectories(
    model,
    frames: torch.Tensor,
    n_context: int,
    horizon: int,
    n_samples: int,
    inputs: torch.Tensor | None = None,
    times: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    noise_scale: float = 1.0,
) -> Draws:
    """Draw ``n_samples`` latent trajectories per sequence after the first ``n_context`` frames.

    Args:
        model: a ``physvae.model.TemporalVAE``.
        frames: (B, ≥ n_context, C, H, W); only the first n_context are looked at.
        n_samples: trajectories per sequence (≥ 1).
        inputs: (B, ≥ n_context + horizon − 1, U) controls, or None.
        times: (B, ≥ n_context + horizon) seconds of unevenly timed frames, or None.
        generator: the random numbers' source (reproducible draws), or None for torch's global one.
        noise_scale: multiplies every standard deviation drawn from (0: every sample is the mean rollout).
    """
    _check(model, n_samples, noise_scale)
    post, dt, u = model.condition(model.encode(frames[:, :n_context]), horizon, inputs, times)
    paths = []
    for _ in range(n_samples):
        z0 = post.q_mean[:, -1] + noise_scale * post.q_std[:, -1] * _noise(post.q_std[:, -1], generator)
        paths.append(_sample_path(model, z0, post.state, horizon, dt, u, generator, noise_scale))
    content = None if post.content is None else post.content.z
    return Draws(post, content, torch.stack(paths, dim=1))


def predictive_mean(model, draws: Draws) -> torch.Tensor:
    """The average of the decoded mean frames of the sampled trajectories: (B, n_context + horizon, C, H, W);
    over the context, the decoded posterior means (as ``predict`` gives)."""
    total = 0.0
    for s in range(draws.future.shape[1]):
        z = torch.cat([draws.posterior.z, draws.future[:, s]], dim=1)
        total = total + model.likelihood.mean(model.decode(z, draws.content))
    return total / draws.future.shape[1]


def supports_sampling(model) -> bool:
    """Whether ``model`` has a transition to sample from and an inference network to start it (the temporal VAE
    family; the Kalman VAE predicts in closed form)."""
    return getattr(model, "transition", None) is not None and hasattr(model, "condition")


def _check(model, n_samples: int, noise_scale: float) -> None:
    if not supports_sampling(model):
        raise ConfigError(
            f"sampled prediction (eval.prediction_samples) needs the temporal VAE family (a transition and an "
            f"inference network); {type(model).__name__} predicts in closed form only"
        )
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ConfigError(f"n_samples must be an integer ≥ 1, got {n_samples!r}")
    if not noise_scale >= 0.0:
        raise ConfigError(f"noise_scale must be ≥ 0, got {noise_scale!r}")


def _sample_path(model, z, state, horizon: int, dt, u, generator, noise_scale: float) -> torch.Tensor:
    """One sampled trajectory (B, horizon, D) after z (B, D), each step from the model's prior (its process noise
    scaled to the step's interval where frames are unevenly timed, as inference does)."""
    out = []
    for t in range(horizon):
        mean, std, state = model.prior_step(z, state, step_dt(dt, t), None if u is None else u[:, t])
        z = mean + noise_scale * std * _noise(std, generator)
        out.append(z)
    return torch.stack(out, dim=1)


def _noise(like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise shaped like ``like``, from ``generator`` (on its device) where given."""
    if generator is None:
        return torch.randn_like(like)
    return torch.randn(like.shape, generator=generator, device=generator.device, dtype=like.dtype).to(
        like.device
    )
