"""The temporal VAE: p(x_1:T, z_1:T) = Π_t p(x_t | z_t) p(z_t | z_<t), q(z_t | z_<t, x) by a Kalman-style update.

Generative model:
    p(z_1) = N(0, I) (the initial latent's prior; ``model.initial_prior = "learned"``: N(μ₀, diag σ₀²) with μ₀, σ₀
    learned, for latents in physical units), p(z_t | z_<t) = the transition (t > 1),
    p(x_t | z_t) = the emission (Bernoulli or Gaussian over pixels) of the decoder (conv, or ``render_decoder``).
Inference:
    the inference RNN gives evidence N(μ_t, σ_t²) about z_t from the frames; q(z_t | z_{t−1}, x) is the product of
    that evidence and the transition's prior p(z_t | z_{t−1}), so the posterior always goes through the dynamics
    (DVBF). Where a frame is hidden (mask 0), q(z_t | ·) is the prior itself: the transition fills the gap.
ELBO:
    Σ_t E_q[log p(x_t | z_t)] − Σ_t E_q[KL(q(z_t | z_{t−1}, x) ‖ p(z_t | z_{t−1}))], one sample of z_1:T drawn
    sequentially; the t = 1 term is KL(q(z_1 | x) ‖ p(z_1)).
Content (``content``, optional): a static z_c per sequence that the decoder reads beside z_t; see
    ``physvae.content``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from simulators import ConfigError, Dataset

from . import gaussian
from .content import Content, ContentEncoder, with_content
from .nets import n_downsamplings
from .transitions import Transition


@dataclass
class DataSpec:
    """What the model needs to know about its data; saved with every run."""

    size: int  # frame side, pixels
    channels: int  # 1 or 3
    input_dim: int  # control inputs per frame (0: none)
    dt: float  # time between frames
    binarized: bool  # frames hold only 0 and 1
    state_names: list[str]  # true state columns (for evaluation)
    system: str = ""  # the dataset's system ("": a run saved before the system was kept)
    # the training split's frames show sensor noise clipped at black or white (``noise_floor``), set by training;
    # False in runs saved before the check (they trained with the Gaussian)
    clipped_noise: bool = False

    @classmethod
    def from_dataset(cls, data: Dataset) -> DataSpec:
        h, w, c = data.meta["frame_shape"]
        if h != w:
            raise ConfigError(f"dataset {data.path} has {h}×{w} frames; the conv encoder needs square frames")
        try:
            n_downsamplings(h)
        except ConfigError as e:
            raise ConfigError(f"dataset {data.path}: {e}") from e
        return cls(
            size=h,
            channels=c,
            input_dim=len(data.meta["input_names"]),
            dt=float(data.meta["dt"]),
            binarized=bool(data.meta.get("binarized", False)),
            state_names=list(data.meta["state_names"]),
            system=str(data.meta.get("system", "")),
        )

    @property
    def frames(self) -> str:
        """'16×16×1 frames with 1 input(s)': what the model reads."""
        return f"{self.size}×{self.size}×{self.channels} frames with {self.input_dim} input(s)"

    def check_data(self, data: Dataset, run: str, allow_other_physics: bool = False) -> None:
        """Raise ConfigError unless ``data`` keeps this spec's contract: the same frames and inputs always (the
        model cannot read others), and the same system, state names and Δt unless ``allow_other_physics``."""
        other = DataSpec.from_dataset(data)
        if other.frames != self.frames:
            raise ConfigError(
                f"dataset {data.path} has {other.frames}; run {run} was trained on {self.frames} and reads only those"
            )
        differ = [
            f"{name} {getattr(other, name)!r} (run: {getattr(self, name)!r})"
            for name in ("system", "state_names", "dt")
            if getattr(self, name) not in ("", getattr(other, name))
        ]
        if differ and not allow_other_physics:
            raise ConfigError(
                f"dataset {data.path} is not the kind of data run {run} was trained on: {'; '.join(differ)}. "
                "Pass --allow-other-data (allow_other_data=True) to evaluate on it anyway"
            )


class LearnedInitialPrior(nn.Module):
    """p(z_1) = N(μ₀, diag σ₀²), μ₀ and log σ₀ (D,) learned (empirical Bayes), starting at N(0, I).

    For latents in physical units (the ``physics`` transition's angular velocity in rad/s), where N(0, I) would
    pull every initial state towards rest."""

    def __init__(self, latent_dim: int):
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(latent_dim))
        self.log_std = nn.Parameter(torch.zeros(latent_dim))

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mean, self.log_std.exp()


@dataclass
class Posterior:
    """Latent trajectories of a batch: z (B, T, D) used downstream, q and prior parameters (B, T, D) each, the
    transition's state after the last frame (``Transition.init_state``; None for most Markov ones) and, for a model
    with per-frame codes (the Kalman VAE's a_t), those codes (B, T, m) (None otherwise); for a model with a
    content latent, q(z_c | x) (``physvae.content.Content``, (B, K) each; None otherwise)."""

    z: torch.Tensor
    q_mean: torch.Tensor
    q_std: torch.Tensor
    p_mean: torch.Tensor
    p_std: torch.Tensor
    state: object = None
    codes: torch.Tensor | None = None
    content: Content | None = None


def _seen(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """The mask (B, T) of the frames seen, on the device of x (B, T, ...): all of them where ``mask`` is None."""
    return torch.ones(x.shape[:2], device=x.device) if mask is None else mask.to(x.device)


class TemporalVAE(nn.Module):
    """Frame encoder, inference network, transition and decoder; see the module docstring for the model.

    Built from its parts (``physvae.build.build_model`` makes them from a config):
        spec: the data it models.
        encoder: frames (N, C, H, W) -> features (N, F).
        decoder: latents (N, D) -> emission parameters (N, C, H, W).
        inference: features (B, T, F), mask (B, T) -> evidence mean and std about z_t, (B, T, D) each.
        transition: p(z_t | z_<t).
        likelihood: p(x_t | z_t) from the emission parameters.
        content: q(z_c | x) of a static content latent (None: none); the decoder then reads (N, D + K).
        initial: p(z_1) as a module giving (mean, std), each (D,) (None: N(0, I)).
    """

    def __init__(
        self,
        spec: DataSpec,
        encoder: nn.Module,
        decoder: nn.Module,
        inference: nn.Module,
        transition: Transition,
        likelihood: nn.Module,
        content: ContentEncoder | None = None,
        initial: nn.Module | None = None,
        decoded_dims: tuple[int, ...] | None = None,
    ):
        super().__init__()
        self.spec = spec
        self.decoded_dims = None if decoded_dims is None else list(decoded_dims)
        self.encoder, self.decoder, self.inference = encoder, decoder, inference
        self.transition, self.likelihood = transition, likelihood
        self.content = content
        self.initial = initial

    def initial_prior(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """p(z_1)'s mean and std, each shaped like ``like`` (B, D)."""
        if self.initial is None:
            return torch.zeros_like(like), torch.ones_like(like)
        mean, std = self.initial()
        return mean.expand_as(like), std.expand_as(like)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        b, t = frames.shape[:2]
        return self.encoder(frames.flatten(0, 1)).view(b, t, -1)  # (B, T, C, H, W) -> (B·T, ...) -> (B, T, F)

    def decode(self, z: torch.Tensor, content: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, T, D) [and z_c (B, K), for a model with content; None: its prior mean] -> emission parameters
        (B, T, C, H, W). With ``decoded_dims`` (``model.decode_from = "position"``) the decoder reads only those
        dimensions of z."""
        b, t = z.shape[:2]
        if self.decoded_dims is not None:
            z = z[..., self.decoded_dims]
        if self.content is not None:
            z = with_content(z, content, self.content.dim)  # (B, T, D) -> (B, T, D + K)
        return self.decoder(z.flatten(0, 1)).view(b, t, self.spec.channels, self.spec.size, self.spec.size)

    def infer(self, frames, mask=None, inputs=None, sample: bool = True, times=None) -> Posterior:
        """Run q(z_1:T | x) forward in time.

        Args:
            frames: (B, T, C, H, W) in [0, 1]; hidden frames may hold anything.
            mask: (B, T) 1 where the frame is observed (default: all).
            inputs: (B, T, U) controls; u_t acts between frames t and t+1.
            sample: draw z_t from q (training) or take its mean (evaluation, prediction).
            times: (B, T) seconds of unevenly timed frames (continuous-time transitions only), or None: frame t
                is at t · Δt.
        """
        return self.infer_features(self.encode(frames), mask, inputs, sample, times)

    def evidence(self, frames, mask=None, times=None) -> tuple[torch.Tensor, torch.Tensor]:
        """The inference network's evidence about every z_t, mean and std (B, T, D), before its fusion with the
        transition's prior: what the frames alone say (``infer``'s arguments)."""
        feats = self.encode(frames)
        return self._evidence(feats, _seen(feats, mask), times)

    def _evidence(self, feats, mask, times) -> tuple[torch.Tensor, torch.Tensor]:
        ev_mean, ev_std = self.inference(feats, mask)
        return self.transition.evidence(ev_mean, ev_std, mask, self._times(times, feats.shape[1], ev_mean))

    def infer_features(self, feats, mask=None, inputs=None, sample: bool = True, times=None) -> Posterior:
        """``infer`` from encoded frames feats (B, T, F)."""
        b, t_len = feats.shape[:2]
        mask = _seen(feats, mask)
        steps = self._intervals(times, t_len, feats)
        ev_mean, ev_std = self._evidence(feats, mask, times)
        dts = self.spec.dt if steps is None else steps
        state = self.transition.init_state_from(ev_mean, mask, dts, inputs)
        z = None
        rows: list[tuple[torch.Tensor, ...]] = []
        for t in range(t_len):
            if t == 0:
                p_mean, p_std = self.initial_prior(ev_mean[:, 0])
            else:
                u = None if inputs is None else inputs[:, t - 1]
                dt = self.spec.dt if steps is None else steps[:, t - 1]
                p_mean, p_std, state = self.prior_step(z, state, dt, u)
            q_mean, q_std = gaussian.fuse(p_mean, p_std, ev_mean[:, t], ev_std[:, t])
            seen = mask[:, t, None] > 0
            q_mean, q_std = torch.where(seen, q_mean, p_mean), torch.where(seen, q_std, p_std)
            z = gaussian.sample(q_mean, q_std) if sample else q_mean
            rows.append((z, q_mean, q_std, p_mean, p_std))
        content = None if self.content is None else self.content(feats, mask, sample)
        return Posterior(*(torch.stack(cols, dim=1) for cols in zip(*rows)), state=state, content=content)

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
        """The training objective and its terms, per frame (divided by T).

        With ``predict_weight`` λ > 0 the loss also holds −λ Σ_{t > c} log p(x_t | ẑ_t), where ẑ is the model's
        own prediction exactly as ``predict`` makes it: posterior means from the first c = ``predict_context``
        frames alone, then the transition's mean rolled out. This trains the
        transition as a multi-step predictor, not only as a one-step prior. With ``predict_latent_weight`` w > 0
        (and λ > 0) the loss also holds w · ``overshoot``: those rolled-out latents against the posterior means of
        the same frames (latent overshooting, after PlaNet), so that the rollout keeps the posterior's chart of the
        state and does not reach other latents that decode to similar frames.

        Returns:
            dict with ``loss`` (−recon + β · penalized KL [− λ · prediction] + the transition's regularizer),
            ``elbo``, ``recon``, ``kl``,
            ``predict`` (batch means, nats per frame; predict is 0 when λ = 0), ``regularizer`` (0 where the
            transition has none), the posterior and the emission parameters of its sample (B, T, C, H, W).
        """
        b, t_len = frames.shape[:2]
        mask = _seen(frames, mask)
        feats = self.encode(frames)
        post = self.infer_features(feats, mask, inputs, sample=True, times=times)
        emission = self.decode(post.z, _z(post.content))
        recon = (self.likelihood.log_prob(frames, emission) * mask).sum(1).mean() / t_len
        kl = gaussian.kl(post.q_mean, post.q_std, post.p_mean, post.p_std)  # (B, T, D)
        if post.content is not None:  # KL_c once per sequence: (B, T, D) -> (B, T·D + K), summed below
            kl = torch.cat([kl.flatten(1), post.content.kl()], dim=1)
        kl_total = kl.flatten(1).sum(1).mean() / t_len
        penalized = kl.mean(0).clamp(min=free_bits).sum() / t_len if free_bits > 0 else kl_total
        loss = -(recon - beta * penalized)
        penalty = self.transition.regularizer(post.z, self._times(times, t_len, post.z))
        if penalty is None:
            penalty = torch.zeros((), device=frames.device)
        loss = loss + penalty
        predicted = torch.zeros((), device=frames.device)
        if predict_weight > 0 and predict_context < t_len:
            c = predict_context
            rollout, content = self._predict_latents(feats[:, :c], t_len - c, inputs, times)
            future = self.decode(rollout[:, c:], content)  # emission parameters of the predicted frames
            predicted = self.likelihood.log_prob(frames[:, c:], future).sum(1).mean() / t_len
            loss = loss - predict_weight * predicted
            if predict_latent_weight > 0:
                loss = loss + predict_latent_weight * overshoot(rollout[:, c:], post.q_mean[:, c:])
        return {
            "loss": loss,
            "elbo": recon - kl_total,
            "recon": recon,
            "kl": kl_total,
            "predict": predicted,
            "regularizer": penalty,
            "posterior": post,
            "emission": emission,
        }

    def held_parameters(self, step: int) -> list[nn.Parameter]:
        """Parameters training leaves unchanged at ``step``: none (the Kalman VAE holds its α network a while)."""
        return []

    @torch.no_grad()
    def reconstruct(self, frames, mask=None, inputs=None, times=None) -> tuple[torch.Tensor, Posterior]:
        """Mean frames (B, T, C, H, W) decoded from the posterior means; hidden frames come from the dynamics
        (and z_c, for a model with content, from the observed frames). times: as in ``infer``."""
        post = self.infer(frames, mask, inputs, sample=False, times=times)
        return self.likelihood.mean(self.decode(post.z, _z(post.content))), post

    @torch.no_grad()
    def predict(
        self, frames, n_context: int, horizon: int, inputs=None, times=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Condition on the first ``n_context`` frames and roll the transition's mean out for ``horizon`` more.

        The inference network sees only the context (a smoother never sees the frames it should predict).

        Args:
            frames: (B, ≥ n_context, C, H, W); only the first n_context are looked at.
            inputs: (B, ≥ n_context + horizon − 1, U) controls, if the data has them.
            times: (B, ≥ n_context + horizon) seconds of unevenly timed frames (see ``infer``), or None.

        Returns:
            mean frames (B, n_context + horizon, C, H, W) and latents z (B, n_context + horizon, D): posterior
            means over the context, then the rollout.
        """
        z, content = self._predict_latents(self.encode(frames[:, :n_context]), horizon, inputs, times)
        return self.likelihood.mean(self.decode(z, content)), z

    def _predict_latents(self, context_feats, horizon: int, inputs=None, times=None):
        """Posterior means over the context (encoded frames (B, c, F)), then the transition's mean rollout:
        (B, c + horizon, D), and the mean of z_c (B, K) from the context (None without content). The inference
        network sees the context only; times (B, ≥ c + horizon) or None."""
        post, dt, u = self.condition(context_feats, horizon, inputs, times)
        future = self.transition.rollout(post.z[:, -1], horizon, dt, u, post.state)
        return torch.cat([post.z, future], dim=1), _z(post.content)

    def condition(self, context_feats, horizon: int, inputs=None, times=None):
        """What a prediction after the context starts from: the posterior over the context (encoded frames
        (B, c, F); the inference network sees the context only, means fed forward), the intervals of the
        ``horizon`` steps after it (a float, or (B, horizon, 1) seconds from times (B, ≥ c + horizon)) and their
        inputs (B, horizon, U) or None."""
        n_context = context_feats.shape[1]
        ctx_inputs = None if inputs is None else inputs[:, :n_context]
        ctx_times = None if times is None else times[:, :n_context]
        post = self.infer_features(context_feats, None, ctx_inputs, sample=False, times=ctx_times)
        u = None if inputs is None else inputs[:, n_context - 1 : n_context - 1 + horizon]
        steps = self._intervals(times, n_context + horizon, context_feats)
        dt = self.spec.dt if steps is None else steps[:, n_context - 1 :]
        return post, dt, u

    def prior_step(self, z, state, dt, u):
        """The transition's prior one step after z (B, D): (mean, std, state). Where the step's interval is a
        tensor (B, 1) of uneven frame times, the std grows as the square root of the interval over the data's Δt
        (process noise of a diffusion)."""
        mean, std, state = self.transition.step(z, state, dt, u)
        if torch.is_tensor(dt):
            std = std * (dt / self.spec.dt).sqrt()
        return mean, std, state

    def _times(self, times, t_len: int, like: torch.Tensor) -> torch.Tensor:
        """Frame times (B, t_len) in seconds: ``times`` itself, or t · Δt where the frames are evenly spaced."""
        if times is not None:
            return times[:, :t_len].to(device=like.device, dtype=torch.float64)
        grid = torch.arange(t_len, device=like.device, dtype=torch.float64) * self.spec.dt
        return grid.expand(like.shape[0], t_len)

    def _intervals(self, times, t_len: int, like: torch.Tensor) -> torch.Tensor | None:
        """Frame intervals (B, t_len − 1, 1) in seconds from times (B, ≥ t_len), in ``like``'s dtype and device;
        None without times. Raises ConfigError for a discrete-time transition or times that do not increase."""
        if times is None:
            return None
        if not self.transition.continuous_time():
            raise ConfigError(
                f"the {self.transition.name!r} transition steps by one fixed Δt and cannot follow frame times; "
                "use a continuous-time transition (neural_ode, physics or hamiltonian)"
            )
        if times.dim() != 2 or times.shape[1] < t_len:
            raise ConfigError(f"times must be (B, ≥ {t_len}) seconds, got shape {tuple(times.shape)}")
        steps = torch.diff(self._times(times, t_len, like), dim=1)
        if not bool((steps > 0).all()):
            raise ConfigError("frame times must increase strictly within every sequence")
        return steps.to(like.dtype)[..., None]


def overshoot(rollout: torch.Tensor, posterior: torch.Tensor) -> torch.Tensor:
    """The mean over (B, H, D) of (ẑ − μ)² / var(μ_d): rolled-out latents ẑ (B, H, D) against the posterior means
    μ (B, H, D) of the same frames, per dimension in units of μ_d's variance over batch and frames; the posterior
    is the target (not differentiated). 0 where the rollout is the posterior; 1 per dimension where it is as far
    as a random frame's latent."""
    return gaussian.standardized_sq_error(rollout, posterior.detach())


def _z(content: Content | None) -> torch.Tensor | None:
    """The z_c a decoder reads from q(z_c | x), or None for a model without content."""
    return None if content is None else content.z
