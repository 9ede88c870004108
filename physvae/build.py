"""Where a config becomes a model: the one place that turns names into objects."""

from __future__ import annotations

import warnings

from torch import nn

from simulators import ConfigError

from .attention import InferenceAttention
from .config import ModelConfig
from .content import ContentEncoder
from .inference import FrameInference, InferenceRNN
from .kvae import KalmanVAE
from .likelihoods import Bernoulli, CensoredGaussian, Gaussian
from .model import DataSpec, LearnedInitialPrior, TemporalVAE
from .nets import FrameDecoder, FrameEncoder, frame_encoder
from .physics import PHYSICS
from .render_decoder import RenderDecoder
from .transitions import TRANSITIONS


def build_model(spec: DataSpec, cfg: ModelConfig) -> TemporalVAE | KalmanVAE:
    """A TemporalVAE for data ``spec`` as ``cfg`` describes it (validated here); a KalmanVAE where the transition's
    ``family`` is "kvae".

    The parts are made in a fixed order (encoder, decoder, inference, transition, likelihood), so the same seed
    gives the same initial weights. A transition with ``per_frame_inference`` (Static) gets q(z_t | x_t) from
    its own frame, whatever ``model.inference`` says (others with ``model.inference = "frame"``); the likelihood follows the data unless set. With
    ``content_dim`` K > 0 the decoder reads [z_t, z_c] and a content encoder (made last) gives q(z_c | x).
    """
    cfg.validate()
    d, cls = cfg.latent_dim, TRANSITIONS[cfg.transition]
    if cls.family == "kvae":
        return _kalman_vae(spec, cfg)
    encoder = frame_encoder(
        spec.size,
        spec.channels,
        cfg.channels,
        cfg.features,
        cfg.keypoints,
        cfg.keypoint_colors,
        centered=cfg.encoder_input == "centered",
    )
    decoded = _decoded_dims(cfg)
    decoder = _decoder(spec, cfg, d if decoded is None else len(decoded))
    smoother = cfg.inference == "smoother"
    if cls.per_frame_inference or cfg.inference == "frame":
        inference = FrameInference(cfg.features, cfg.rnn_hidden, d)
    elif cfg.inference_net == "attention":
        heads, layers = cfg.attention_heads, cfg.attention_layers
        inference = InferenceAttention(cfg.features, cfg.rnn_hidden, d, heads, layers, smoother)
    else:
        inference = InferenceRNN(cfg.features, cfg.rnn_hidden, d, smoother=smoother)
    transition = cls(d, spec.input_dim, cfg.transition_config())
    transition.check_data(spec)
    if cfg.inference == "filter" and transition.looks_ahead and not cls.per_frame_inference:
        warnings.warn(
            f"model.inference='filter' with {transition.look_ahead_reason}, so q(z_t) sees frame t + 1 and the "
            "posterior does not filter; set it to 'network' for a causal filter",
            stacklevel=2,
        )
    content = ContentEncoder(cfg.features, cfg.rnn_hidden, cfg.content_dim) if cfg.content_dim else None
    initial = LearnedInitialPrior(d) if cfg.initial_prior == "learned" else None
    return TemporalVAE(
        spec, encoder, decoder, inference, transition, _likelihood(spec, cfg), content, initial, decoded
    )


def _decoded_dims(cfg: ModelConfig) -> tuple[int, ...] | None:
    """The latent dimensions the decoder reads: None for all, all but the transition's hidden ones (drifting
    parameters), the transition's position half for ``decode_from = "position"`` (ConfigError where it has none)."""
    cls = TRANSITIONS[cfg.transition]
    if cfg.decode_from == "all":
        hidden = cls.hidden_dims(cfg.latent_dim, cfg.transition_config())
        return tuple(d for d in range(cfg.latent_dim) if d not in hidden) if hidden else None
    dims = cls.position_dims(cfg.latent_dim, cfg.transition_config())
    if dims is None:
        raise ConfigError(
            f"model.decode_from='position' needs a latent split into positions and their rates (neural_ode with "
            f"order 2, hamiltonian); model.transition={cfg.transition!r} has none"
        )
    return dims


def _decoder(spec: DataSpec, cfg: ModelConfig, latent_in: int) -> nn.Module:
    """The conv decoder reading ``latent_in`` latent dimensions (and z_c), or the render decoder drawing the
    stated system whose state the latent holds (``ModelConfig.drawn_system``)."""
    d = latent_in + cfg.content_dim
    if cfg.decoder == "render":
        physics = PHYSICS[cfg.drawn_system()].for_inputs(spec.input_dim)
        extras = cfg.render_scale == "extras"
        return RenderDecoder(
            physics,
            spec.size,
            spec.channels,
            d,
            cfg.sprite_hidden,
            scale_from_extras=extras,
            compose=cfg.render_compose,
            color_from_extras=cfg.render_color == "extras",
        )
    return FrameDecoder(spec.size, spec.channels, cfg.channels, d)


def _kalman_vae(spec: DataSpec, cfg: ModelConfig) -> KalmanVAE:
    """The Kalman VAE: the frame VAE over codes a_t (``model.<transition>.a_dim``) around the LGSSM over z_t
    (``model.latent_dim``); ``model.inference`` and ``rnn_hidden`` do not apply (inference is exact)."""
    if cfg.content_dim:
        raise ConfigError(
            f"model.content_dim must be 0 with transition {cfg.transition!r} (the Kalman VAE has no content latent)"
        )
    m = cfg.transition_config().a_dim
    encoder = FrameEncoder(
        spec.size, spec.channels, cfg.channels, cfg.features, centered=cfg.encoder_input == "centered"
    )
    code_head = nn.Linear(cfg.features, 2 * m)
    decoder = FrameDecoder(spec.size, spec.channels, cfg.channels, m)
    transition = TRANSITIONS[cfg.transition](cfg.latent_dim, spec.input_dim, cfg.transition_config())
    transition.check_data(spec)
    return KalmanVAE(spec, encoder, code_head, decoder, transition, _likelihood(spec, cfg))


def auto_likelihood(spec: DataSpec) -> str:
    """The likelihood ``model.likelihood=auto`` takes for data of ``spec``: "bernoulli" for binarized frames,
    "censored" for frames that show clipped sensor noise (``spec.clipped_noise``), else "gaussian"."""
    return "bernoulli" if spec.binarized else "censored" if spec.clipped_noise else "gaussian"


def _likelihood(spec: DataSpec, cfg: ModelConfig) -> nn.Module:
    """The likelihood asked for; ``auto``: Bernoulli for binarized data, the censored Gaussian for frames that
    show clipped sensor noise (``spec.clipped_noise``), else the Gaussian."""
    name = auto_likelihood(spec) if cfg.likelihood == "auto" else cfg.likelihood
    if name == "bernoulli":
        return Bernoulli()
    return CensoredGaussian(cfg.obs_std) if name == "censored" else Gaussian(cfg.obs_std)
