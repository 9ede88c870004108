"""A run's whole configuration: one tree of dataclasses, saved as TOML in the run folder and reloaded to the same
object. Overrides name existing dotted keys and are type-checked; unknown keys are errors."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from simulators.errors import ConfigError, integer, non_negative, positive
from simulators.serial import from_dict, to_dict
from simulators.storage import write_text_atomic

from .overrides import apply_overrides
from .transitions import (
    TRANSITIONS,
    GRUPriorConfig,
    LocallyLinearConfig,
    NeuralODEConfig,
    StaticConfig,
)

LIKELIHOODS = ("auto", "bernoulli", "gaussian")
INFERENCE = ("filter", "smoother")


@dataclass
class ModelConfig:
    """The temporal VAE: encoder, inference network, transition, decoder."""

    transition: str = "locally_linear"  # key of physvae.transitions.TRANSITIONS
    latent_dim: int = 32  # D, size of z_t (wide enough that a linear probe can read a curved state manifold)
    inference: str = "smoother"  # "filter": RNN over x_≤t; "smoother": bidirectional RNN over x_1:T
    likelihood: str = "auto"  # "auto" (Bernoulli for binarized data, else Gaussian), "bernoulli", "gaussian"
    obs_std: float = 0.0  # Gaussian likelihood: fixed pixel std in [0, 1] units; 0 learns it
    channels: int = 32  # base width of the conv encoder and decoder
    features: int = 128  # per-frame feature size from the encoder
    rnn_hidden: int = 128  # inference RNN state size (per direction)
    locally_linear: LocallyLinearConfig = field(default_factory=LocallyLinearConfig)
    neural_ode: NeuralODEConfig = field(default_factory=NeuralODEConfig)
    gru: GRUPriorConfig = field(default_factory=GRUPriorConfig)
    static: StaticConfig = field(default_factory=StaticConfig)

    def validate(self) -> None:
        if self.transition not in TRANSITIONS:
            raise ConfigError(
                f"unknown transition {self.transition!r}; known transitions: {sorted(TRANSITIONS)}"
            )
        integer("model.latent_dim", self.latent_dim, minimum=1)
        if self.inference not in INFERENCE:
            raise ConfigError(f"model.inference must be one of {INFERENCE}, got {self.inference!r}")
        if self.likelihood not in LIKELIHOODS:
            raise ConfigError(f"model.likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        non_negative("model.obs_std", self.obs_std)
        for name in ("channels", "features", "rnn_hidden"):
            integer(f"model.{name}", getattr(self, name), minimum=1)
        ll = self.locally_linear
        integer("model.locally_linear.regimes", ll.regimes, minimum=1)
        integer("model.locally_linear.hidden", ll.hidden, minimum=1)
        non_negative("model.locally_linear.init_scale", ll.init_scale)
        positive("model.locally_linear.init_noise", ll.init_noise)
        non_negative("model.locally_linear.max_norm", ll.max_norm)

    def transition_config(self):
        return getattr(self, self.transition)


@dataclass
class TrainConfig:
    """Optimization, data sampling, devices and checkpoints."""

    data: str = ""  # dataset folder
    train_split: str = "train"  # split to train on
    steps: int = 2000  # optimizer steps
    batch_size: int = 32  # sequences per step
    window: int = 0  # frames per training window, drawn at random offsets (0: whole sequences)
    lr: float = 1e-3  # Adam learning rate
    lr_final: float = 0.1  # cosine decay to lr × lr_final at the last step (1: constant)
    grad_clip: float = 10.0  # gradient-norm clip (0: none)
    kl_warmup: int = 0  # steps over which the KL weight β rises linearly from 0 to 1 (0: β = 1 throughout)
    free_bits: float = 0.0  # nats per latent dimension and frame below which the KL is not penalized
    mask_prob: float = 0.0  # hide each frame after the first with this probability (trains imputation)
    predict_weight: float = 0.0  # λ of the multi-step prediction term (TemporalVAE.elbo); 0: plain ELBO
    predict_context: int = 5  # frames the prediction term conditions on before rolling the transition out
    predict_context_max: int = 0  # > 0: context length drawn per step from [predict_context, this]
    seed: int = 0  # seeds initialization, data order and sampling (step s uses seed and s)
    device: str = "auto"  # "auto" (CUDA when available), "cpu" or "cuda"
    precision: str = "fp32"  # "fp32" or "bf16" (autocast, CUDA only)
    threads: int = 0  # torch CPU threads (0: torch's default)
    checkpoint_every: int = 250  # steps between checkpoints
    log_every: int = 25  # steps between metric lines

    def validate(self) -> None:
        if not self.data:
            raise ConfigError("train.data must name a dataset folder")
        integer("train.steps", self.steps, minimum=1)
        integer("train.batch_size", self.batch_size, minimum=1)
        integer("train.window", self.window, minimum=0)
        if self.window == 1:
            raise ConfigError("train.window must be 0 (whole sequences) or >= 2 frames, got 1")
        positive("train.lr", self.lr)
        positive("train.lr_final", self.lr_final)
        non_negative("train.grad_clip", self.grad_clip)
        integer("train.kl_warmup", self.kl_warmup, minimum=0)
        non_negative("train.free_bits", self.free_bits)
        if not 0.0 <= self.mask_prob < 1.0:
            raise ConfigError(f"train.mask_prob must be in [0, 1), got {self.mask_prob!r}")
        non_negative("train.predict_weight", self.predict_weight)
        integer("train.predict_context", self.predict_context, minimum=1)
        integer("train.predict_context_max", self.predict_context_max, minimum=0)
        if 0 < self.predict_context_max < self.predict_context:
            raise ConfigError(
                f"train.predict_context_max must be 0 (a fixed context) or >= train.predict_context "
                f"({self.predict_context}), got {self.predict_context_max}"
            )
        integer("train.seed", self.seed, minimum=0)
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"train.device must be auto, cpu or cuda, got {self.device!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ConfigError(f"train.precision must be fp32 or bf16, got {self.precision!r}")
        integer("train.threads", self.threads, minimum=0)
        integer("train.checkpoint_every", self.checkpoint_every, minimum=1)
        integer("train.log_every", self.log_every, minimum=1)


@dataclass
class RunConfig:
    """Everything a training run needs."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> RunConfig:
        self.model.validate()
        self.train.validate()
        return self

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        return from_dict(cls, data)

    def with_overrides(self, overrides: list[str]) -> RunConfig:
        """A copy with ``dotted.key=value`` overrides applied and type-checked."""
        return RunConfig.from_dict(apply_overrides(self.to_dict(), overrides))

    def save(self, path: str | Path) -> Path:
        return write_text_atomic(path, tomli_w.dumps(self.to_dict()))

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError as e:
            raise ConfigError(f"config file {path} does not exist") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {path} is not valid TOML: {e}") from e
        return cls.from_dict(data)
