"""The Kalman VAE (Fraccaro et al. 2017): a frame VAE whose codes a_t follow a linear-Gaussian state space model.

Generative model:
    z_0 ~ N(μ_0, Σ_0), z_t = A_t z_{t−1} + B_t u_{t−1} + w_t (w_t ~ N(0, Q)), a_t = C_t z_t + v_t (v_t ~ N(0, R)),
    p(x_t | a_t) = the emission of the conv decoder; (A_t, B_t, C_t) mixed by α_t = softmax(LSTM(a_<t)).
Inference:
    q(a_t | x_t) = N(μ(x_t), σ(x_t)²) per frame; p(z | a) exactly, by Kalman filtering and RTS smoothing. A hidden
    frame (mask 0) has no code: its a_t is missing in the filter, and the LSTM is fed its predicted mean.
ELBO (one sample a ~ q(a | x), one z ~ p(z | a)):
    Σ_t log p(x_t | a_t) − log q(a | x) + log p(a | z) + log p(z) − log p(z | a),
    whose last three terms equal log p(a) for every z (``kalman.elbo = "exact"`` uses the filter's log p(a)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from simulators import ConfigError

from . import gaussian, kalman
from .model import DataSpec, Posterior
from .transitions.kalman import Kalman


class KalmanVAE(nn.Module):
    """Frame encoder q(a_t | x_t), decoder p(x_t | a_t) and the LGSSM over a (the ``Kalman`` transition).

    Offers what training and evaluation call on a TemporalVAE: ``spec``, ``transition``, ``likelihood``,
    ``device``, ``infer``, ``elbo``, ``reconstruct``, ``predict`` and ``decode`` (of codes a, not of z).

    Args:
        spec: the data it models.
        encoder: frames (N, C, H, W) -> features (N, F).
        code_head: features (N, F) -> (N, 2m): the mean and raw scale of q(a_t | x_t).
        decoder: codes (N, m) -> emission parameters (N, C, H, W).
        transition: the LGSSM.
        likelihood: p(x_t | a_t) from the emission parameters.
    """

    def __init__(self, spec: DataSpec, encoder, code_head, decoder, transition: Kalman, likelihood):
        super().__init__()
        self.spec = spec
        self.encoder, self.code_head, self.decoder = encoder, code_head, decoder
        self.transition, self.likelihood = transition, likelihood

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(a_t | x_t): frames (B, T, C, H, W) -> mean and std of the codes, (B, T, m) each."""
        b, t = frames.shape[:2]
        out = self.code_head(self.encoder(frames.flatten(0, 1))).view(b, t, -1)  # (B·T, ...) -> (B, T, 2m)
        mean, raw = out.chunk(2, dim=-1)
        return mean, F.softplus(raw) + 1e-4

    def decode(self, a: torch.Tensor) -> torch.Tensor:
        """Codes a (B, T, m) -> emission parameters (B, T, C, H, W)."""
        b, t = a.shape[:2]
        return self.decoder(a.flatten(0, 1)).view(b, t, self.spec.channels, self.spec.size, self.spec.size)

    def infer(self, frames, mask=None, inputs=None, sample: bool = True, times=None) -> Posterior:
        """p(z | a) with a ~ q(a | x) (``sample``) or its mean; hidden frames' codes are missing. ``times`` must be
        None: the LGSSM steps by one fixed Δt.

        Returns:
            a Posterior: z (a joint sample of the smoothed posterior, or its mean), q = the smoothed marginals,
            p = the one-step predictions, ``codes`` (B, T, m) = a where seen, the smoothed C_t E[z_t | a] where
            hidden, and the state from which the transition continues after the last frame.
        """
        _one_grid(times)
        a_mean, a_std = self.encode(frames)
        a = gaussian.sample(a_mean, a_std) if sample else a_mean
        return self._posterior(a, mask, inputs, sample)[0]

    def _posterior(self, a, mask, inputs, sample: bool):
        """(Posterior, filter result, smoother result, the filter's Drive or None, z in the filter's dtype) of codes
        a (B, T, m)."""
        seen = None if mask is None else mask.to(a.device) > 0
        filt, state, drive = self.transition.filter(a, seen, inputs)
        smooth = kalman.rts_smoother(filt)
        z = kalman.sample_smoothed(smooth) if sample else smooth.means
        smoothed_codes = (filt.C @ smooth.means.unsqueeze(-1)).squeeze(-1)
        codes = a if seen is None else torch.where(seen[..., None], a, smoothed_codes.to(a.dtype))
        std = lambda P: P.diagonal(dim1=-2, dim2=-1).clamp(min=0).sqrt()  # noqa: E731
        dt = a.dtype
        post = Posterior(
            z.to(dt),
            smooth.means.to(dt),
            std(smooth.covs).to(dt),
            filt.predicted_means.to(dt),
            std(filt.predicted_covs).to(dt),
            state=state,
            codes=codes,
        )
        return post, filt, smooth, drive, z

    def elbo(
        self,
        frames,
        inputs=None,
        mask=None,
        beta: float = 1.0,
        free_bits: float = 0.0,
        predict_weight: float = 0.0,
        predict_context: int = 1,
        times=None,
        predict_latent_weight: float = 0.0,
    ) -> dict:
        """The KVAE objective and its terms, per frame (divided by T); the keys of ``TemporalVAE.elbo``.

        ``kl`` is the one-sample estimate of KL(q(a | x) ‖ p(a)) = log q(a | x) − log p(a), β weighs it; the
        loss weighs the reconstruction by ``kalman.recon_scale`` (KVAE's 0.3), ``elbo`` and ``recon`` are unscaled. With
        ``predict_weight`` λ > 0 the loss also holds −λ Σ_{t > c} log p(x_t | â_t), â the codes of ``predict``.
        """
        if free_bits > 0:
            raise ConfigError(
                f"train.free_bits is {free_bits}, but the kalman model has no per-dimension KL to hold up; set it 0"
            )
        if predict_latent_weight > 0:
            raise ConfigError(
                f"train.predict_latent_weight is {predict_latent_weight}, but the kalman model's prediction is "
                "exact filtering then the LGSSM's mean: there is no rollout to hold to the posterior; set it 0"
            )
        _one_grid(times)
        b, t_len = frames.shape[:2]
        mask = torch.ones(b, t_len, device=frames.device) if mask is None else mask.to(frames.device)
        seen = mask > 0
        a_mean, a_std = self.encode(frames)
        a = gaussian.sample(a_mean, a_std)
        post, filt, smooth, drive, z = self._posterior(a, mask, inputs, sample=True)
        if self.transition.config.elbo == "sample":
            tr = self.transition
            r = tr.noises(filt.codes.dtype)[1]
            u, B = (None, None) if drive is None else (drive.u, drive.B)
            joint = kalman.log_joint(z, filt, r, tr.mu0.to(r.dtype), tr.sigma0.to(r.dtype), seen, u, B)
            log_pa = joint - kalman.smoothed_log_prob(smooth, z)
        else:
            log_pa = filt.log_likelihood
        log_q = (gaussian.log_prob(a, a_mean, a_std).sum(-1) * mask).sum(1)
        kl = (log_q - log_pa.to(a.dtype)).mean() / t_len
        emission = self.decode(a)
        recon = (self.likelihood.log_prob(frames, emission) * mask).sum(1).mean() / t_len
        loss = -(self.transition.config.recon_scale * recon - beta * kl)
        predicted = torch.zeros((), device=frames.device)
        if predict_weight > 0 and predict_context < t_len:
            c = predict_context
            _, codes = self._predict(a_mean[:, :c], t_len - c, inputs)
            predicted = (
                self.likelihood.log_prob(frames[:, c:], self.decode(codes[:, c:])).sum(1).mean() / t_len
            )
            loss = loss - predict_weight * predicted
        return {
            "loss": loss,
            "elbo": recon - kl,
            "recon": recon,
            "kl": kl,
            "predict": predicted,
            "regularizer": torch.zeros((), device=frames.device),  # the Kalman transition adds none
            "posterior": post,
            "emission": emission,
        }

    def held_parameters(self, step: int) -> list[nn.Parameter]:
        """Parameters training leaves unchanged at ``step``: the α network during its warm-up (KVAE does not
        train α at first, so that the regimes are learned before they are chosen)."""
        if step > self.transition.config.alpha_warmup:  # steps count from 1
            return []
        return [*self.transition.lstm.parameters(), *self.transition.alpha.parameters()]

    @torch.no_grad()
    def reconstruct(self, frames, mask=None, inputs=None, times=None) -> tuple[torch.Tensor, Posterior]:
        """Mean frames (B, T, C, H, W) decoded from the codes: q's means where seen, smoothed where hidden
        (imputation conditions on the frames before and after a gap)."""
        post = self.infer(frames, mask, inputs, sample=False, times=times)
        return self.likelihood.mean(self.decode(post.codes)), post

    @torch.no_grad()
    def predict(
        self, frames, n_context: int, horizon: int, inputs=None, times=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Filter (and smooth) the first ``n_context`` frames, then roll the LGSSM's mean out ``horizon`` steps.

        Returns:
            mean frames (B, n_context + horizon, C, H, W) and states z (B, n_context + horizon, D): smoothed
            means over the context, then the rollout.
        """
        _one_grid(times)
        a_mean, _ = self.encode(frames[:, :n_context])
        z, codes = self._predict(a_mean, horizon, inputs)
        return self.likelihood.mean(self.decode(codes)), z

    def _predict(self, a_context, horizon: int, inputs=None) -> tuple[torch.Tensor, torch.Tensor]:
        """States (B, c + horizon, D) and codes (B, c + horizon, m) from context codes (B, c, m): the smoothed
        context, then mean steps of the LGSSM whose codes are C_t z_t (and feed the α-LSTM)."""
        c = a_context.shape[1]
        post = self._posterior(a_context, None, None if inputs is None else inputs[:, :c], sample=False)[0]
        tr, z, state = self.transition, post.z[:, -1], post.state
        zs, codes = [], []
        for t in range(horizon):
            u = None if inputs is None else inputs[:, c - 1 + t]
            z, _, state = tr.step(z, state, self.spec.dt, u)
            zs.append(z)
            codes.append(torch.einsum("bij,bj->bi", tr.mix(tr.weights(state), z.dtype)[1], z))
        if not horizon:
            return post.z, post.codes
        return torch.cat([post.z, torch.stack(zs, 1)], 1), torch.cat([post.codes, torch.stack(codes, 1)], 1)


def _one_grid(times) -> None:
    """Refuse frame times: the Kalman VAE's state space model steps by one fixed Δt."""
    if times is not None:
        raise ConfigError(
            "the Kalman VAE steps by one fixed Δt and cannot follow frame times; use a continuous-time transition "
            "(neural_ode, physics or hamiltonian)"
        )
