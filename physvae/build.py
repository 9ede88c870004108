"""Where a config becomes a model: the one place that turns names into objects."""

from __future__ import annotations

from .config import ModelConfig
from .inference import FrameInference, InferenceRNN
from .likelihoods import Bernoulli, Gaussian
from .model import DataSpec, TemporalVAE
from .nets import FrameDecoder, FrameEncoder
from .transitions import TRANSITIONS


def build_model(spec: DataSpec, cfg: ModelConfig) -> TemporalVAE:
    """A TemporalVAE for data ``spec`` as ``cfg`` describes it (validated here).

    The parts are made in a fixed order (encoder, decoder, inference, transition, likelihood), so the same seed
    gives the same initial weights. A transition with ``per_frame_inference`` (Static) gets q(z_t | x_t) from
    its own frame, whatever ``model.inference`` says; the likelihood follows the data unless set.
    """
    cfg.validate()
    d, cls = cfg.latent_dim, TRANSITIONS[cfg.transition]
    encoder = FrameEncoder(spec.size, spec.channels, cfg.channels, cfg.features)
    decoder = FrameDecoder(spec.size, spec.channels, cfg.channels, d)
    if cls.per_frame_inference:
        inference = FrameInference(cfg.features, cfg.rnn_hidden, d)
    else:
        inference = InferenceRNN(cfg.features, cfg.rnn_hidden, d, smoother=cfg.inference == "smoother")
    transition = cls(d, spec.input_dim, cfg.transition_config())
    transition.check_data(spec)
    bernoulli = cfg.likelihood == "bernoulli" or (cfg.likelihood == "auto" and spec.binarized)
    likelihood = Bernoulli() if bernoulli else Gaussian(cfg.obs_std)
    return TemporalVAE(spec, encoder, decoder, inference, transition, likelihood)
