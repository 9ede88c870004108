"""A run's whole configuration: one tree of dataclasses, saved as TOML in the run folder and reloaded to the same
object. Overrides name existing dotted keys and are type-checked; unknown keys are errors."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import tomli_w

from simulators import ConfigError, from_dict, integer, non_negative, positive, to_dict, write_text_atomic

from .evaluation.protocol import EvalConfig
from .nets import check_keypoints
from .overrides import apply_overrides
from .transitions import TRANSITIONS

LIKELIHOODS = ("auto", "bernoulli", "gaussian", "censored")
INFERENCE = ("filter", "smoother", "frame")
INFERENCE_NETS = ("gru", "attention")
DECODERS = ("conv", "render")
INITIAL_PRIORS = ("standard", "learned")
RENDER_SCALES = ("global", "extras")
DECODE_FROM = ("all", "position")
ENCODER_INPUTS = ("raw", "centered")
RENDER_COMPOSES = ("over", "add")
RENDER_COLORS = ("field", "extras")
# λ of the multi-step prediction term where train.predict_weight is "auto", by transition (every other: 1).
# Measured (benchmarks/results/predict_weight_suites_cpu2.md): at 1 LocallyLinear's learned damping at rest came
# out negative on the pendulum (its at-rest dynamics grew); at 0.25 it was closer to the data's 0.5 (0.16–0.50;
# at 1, −0.50–0.41) and the prediction as good or better on all five pendulum cells but one (0.15 → 0.17× the
# mean frame's), worse on three of four box cells (the ratio up by 0.03 on average, against 0.10 down on the
# pendulum); the neural ODE predicted worse at 0.25 on three of four cells (robustness pendulum VPT 10 → 3
# frames), so it keeps 1. At 0.25 from the first step the robustness box drawn as a bar collapsed on both seeds
# (results/robustness_w025_cpu2), where at 1 it trained: hence the start weight below.
PREDICT_WEIGHT_AUTO = {"locally_linear": 0.25}
PREDICT_WEIGHT_OTHERWISE = 1.0
# λ's start weight where train.predict_weight_start is "auto" and train.predict_weight is "auto", by transition
# (every other, and any run whose predict_weight is a number: 0, none). λ holds at it while the decoder draws one
# frame whatever the latents and relaxes to predict_weight as the decoded frames come to vary as the data do
# (physvae.train.predict_weight_at: the larger of predict_weight and start × (1 − the decoded frames' spread over
# the data's)). Measured (README, *The suite at today's defaults*): at 0.25 from the first step the robustness box
# drawn as a bar collapsed on both seeds, its decoder drawing one frame from step 100 on; a start weight of 1
# falling with the steps instead of the spread (over half the steps, results/robustness_fall05_cpu2, or three
# quarters, robustness_fall075_cpu2) kept the bar but lost most of 0.25's gain on the pendulum (damping at rest,
# rollouts), holding λ high long after the latents were in use. Held by the spread, the bar trains on both seeds
# (results/robustness_auto_cpu2: x R² 0.98 and 0.93). Over seeds 0-2 (results/weight_seeds_cpu2.md) it costs the
# robustness pendulum nothing measurable (0.131× → 0.132× the mean frame's MSE, better on two seeds of three) and
# the quick suite's 1000-step pendulum 0.19× → 0.25×, worse or equal on every seed.
PREDICT_WEIGHT_START_AUTO = {"locally_linear": 1.0}

# Fields whose default has changed since they were added: a config or record that lacks one was made before the
# field existed and ran at the value it was added with (what physvae did before), not at today's default. Read
# where a run folder is resumed (run.saved_config) and where two records' settings are compared
# (bench.settings.differing); saved_config also reads two fields that only resuming needs (see there).
BEFORE_FIELD = {
    # added 2026-11-22 at 0 (the plain ELBO); the default became 1 on 2026-12-02, "auto" (0.25 / 1) on 2026-12-07
    "train.predict_weight": 0.0,
    # added 2026-12-07 with "auto" (1 for LocallyLinear at its auto weight, else 0); before it, no start weight
    "train.predict_weight_start": 0.0,
    # added 2026-12-08 at 1 (λ relaxes over the whole rise of the decoded spread, as it did since the start weight)
    "train.predict_weight_release": 1.0,
}


@dataclass
class ModelConfig:
    """The temporal VAE: encoder, inference network, transition, decoder.

    Each registered transition has a config section of its own, ``model.<name>`` (its ``config_class``), kept in
    ``sections``; ``cfg.locally_linear`` reads one. Saved files hold every registered transition's section, so
    ``--model.neural_ode.solver=...`` can be set whatever ``transition`` is.
    """

    transition: str = "locally_linear"  # key of physvae.transitions.TRANSITIONS
    latent_dim: int = 32  # D, size of z_t (wide enough that a linear probe can read a curved state manifold)
    # "filter": RNN over x_≤t; "smoother": bidirectional RNN over x_1:T; "frame": evidence from x_t alone (as the
    # per-frame VAE: what a frame says does not change with which other frames are seen)
    inference: str = "smoother"
    likelihood: str = "auto"  # "auto" (Bernoulli for binarized data, censored where the training frames show
    # clipped sensor noise, else Gaussian), "bernoulli", "gaussian", "censored" (Gaussian sensor noise clipped to
    # [0, 1]: the decoder draws the frame before the noise)
    obs_std: float = 0.0  # Gaussian likelihoods: fixed pixel std in [0, 1] units; 0 learns it
    channels: int = 32  # base width of the conv encoder and decoder
    features: int = 128  # per-frame feature size from the encoder
    keypoints: int = (
        0  # > 0: K of the features are spatial soft-argmax keypoints (x, y each; nets.KeypointEncoder)
    )
    keypoint_colors: bool = False  # keypoints also give the frame's colour under each (C more features each)
    # what the conv encoder sees: "raw" (2x − 1) or "centered" (2 (x − m) / c − 1, m the training frames' per-pixel
    # median and c their contrast: a border or a grey or coloured background reads as black; nets.FrameEncoder)
    encoder_input: str = "raw"
    rnn_hidden: int = 128  # inference RNN state size (per direction); the attention network's width
    inference_net: str = "gru"  # "gru": a (bidirectional) GRU; "attention": a transformer (attention.py)
    attention_heads: int = 4  # attention inference: heads per layer (even for the smoother: half look back)
    attention_layers: int = 2  # attention inference: transformer blocks
    content_dim: int = 0  # K, size of a static content latent z_c per sequence (physvae.content); 0: none
    decoder: str = "conv"  # "conv"; "render": sprites drawn where the physics puts its bodies
    # what the conv decoder reads: "all" of z_t; "position": only the position half q of z = (q, v) or (q, p)
    # (neural_ode order 2, hamiltonian), as ODE2VAE and HGN decode, so that the velocity half is learned as
    # the motion the dynamics give q and not as a second picture of where the body is
    decode_from: str = "all"
    sprite_hidden: int = 32  # render decoder: width of each sprite's MLP
    render_scale: str = "global"  # render decoder: one camera; "extras": sized per sequence by the extras
    render_compose: str = "over"  # render decoder: sprites painted over the background; "add": logits added
    # render decoder, painted over: each sprite's colour per pixel from its network ("field"), or one colour per
    # body read linearly from the extras (z_c) alone ("extras": a body of one colour whatever its pose)
    render_color: str = "field"
    initial_prior: str = "standard"  # p(z_1): "standard" N(0, I); "learned": its mean and std learned
    sections: dict[str, Any] = field(default_factory=dict)  # transition name -> its config object

    def __post_init__(self):
        for name, cls in TRANSITIONS.items():
            self.sections.setdefault(name, cls.config_class())

    def __getattr__(self, name: str):
        if name in TRANSITIONS:  # the section of a registered transition, made on first use
            return self.sections.setdefault(name, TRANSITIONS[name].config_class())
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    def transition_config(self):
        """The selected transition's config object."""
        return getattr(self, self.transition)

    def drawn_system(self) -> str:
        """The stated system whose state the latent holds, which the render decoder can draw: the ``physics``
        transition's, or a ``hamiltonian`` or ``neural_ode`` one's coordinates; "" where there is none."""
        if self.transition == "physics":
            return self.physics.system
        return getattr(self.transition_config(), "coordinates", "")

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
        if not isinstance(self.obs_std, (int, float)) or not 0.0 <= self.obs_std <= 1.0:
            raise ConfigError(
                f"model.obs_std must be in [0, 1] (a pixel std in [0, 1] units; 0 learns it), got {self.obs_std!r}"
            )
        sizes = ("channels", "features", "rnn_hidden", "attention_heads", "attention_layers", "sprite_hidden")
        for name in sizes:
            integer(f"model.{name}", getattr(self, name), minimum=1)
        integer("model.content_dim", self.content_dim, minimum=0)
        integer("model.keypoints", self.keypoints, minimum=0)
        check_keypoints(self.features, self.keypoints, int(self.keypoint_colors))  # ≥ 1 channel; C at build
        if self.encoder_input not in ENCODER_INPUTS:
            raise ConfigError(
                f"model.encoder_input must be one of {ENCODER_INPUTS}, got {self.encoder_input!r}"
            )
        if self.encoder_input != "raw" and self.keypoints:
            raise ConfigError(
                f"model.encoder_input={self.encoder_input!r} applies to the conv encoder; the keypoint encoder "
                "(model.keypoints > 0) reads the raw frames: set one or the other"
            )
        if self.keypoint_colors and not self.keypoints:
            raise ConfigError(
                "model.keypoint_colors needs model.keypoints > 0 (the colours are the keypoints')"
            )
        if self.inference_net not in INFERENCE_NETS:
            raise ConfigError(
                f"model.inference_net must be one of {INFERENCE_NETS}, got {self.inference_net!r}"
            )
        if self.inference_net == "attention" and self.inference == "frame":
            raise ConfigError(
                "model.inference='frame' reads each frame alone, so model.inference_net='attention' (which "
                "attends over frames) does not apply: use inference_net='gru' or another inference"
            )
        if self.inference_net == "attention":
            self._check_attention()
        self._check_decoder()
        if self.initial_prior not in INITIAL_PRIORS:
            raise ConfigError(
                f"model.initial_prior must be one of {INITIAL_PRIORS}, got {self.initial_prior!r}"
            )
        section = self.transition_config()
        section.validate(f"model.{self.transition}")
        if callable(getattr(section, "check_latent", None)):
            section.check_latent(self.latent_dim, f"model.{self.transition}")

    def _check_decoder(self) -> None:
        if self.decoder not in DECODERS:
            raise ConfigError(f"model.decoder must be one of {DECODERS}, got {self.decoder!r}")
        if self.render_scale not in RENDER_SCALES:
            raise ConfigError(f"model.render_scale must be one of {RENDER_SCALES}, got {self.render_scale!r}")
        if self.render_compose not in RENDER_COMPOSES:
            raise ConfigError(
                f"model.render_compose must be one of {RENDER_COMPOSES}, got {self.render_compose!r}"
            )
        if self.render_color not in RENDER_COLORS:
            raise ConfigError(f"model.render_color must be one of {RENDER_COLORS}, got {self.render_color!r}")
        if self.render_color == "extras" and self.render_compose != "over":
            raise ConfigError(
                "model.render_color='extras' needs model.render_compose='over' (a painted colour)"
            )
        drawn_only = {"render_scale": "global", "render_compose": "over", "render_color": "field"}
        changed = [k for k, default in drawn_only.items() if getattr(self, k) != default]
        if changed and self.decoder != "render":
            raise ConfigError(
                f"model.{changed[0]}={getattr(self, changed[0])!r} applies to the render decoder; got "
                f"model.decoder={self.decoder!r}, which would ignore it: set model.decoder=render or leave it out"
            )
        if self.decode_from not in DECODE_FROM:
            raise ConfigError(f"model.decode_from must be one of {DECODE_FROM}, got {self.decode_from!r}")
        if self.decode_from != "all" and self.decoder != "conv":
            raise ConfigError(
                f"model.decode_from={self.decode_from!r} applies to the conv decoder; got model.decoder="
                f"{self.decoder!r} (which reads the physical coordinates it draws)"
            )
        if self.decoder == "render" and not self.drawn_system():
            raise ConfigError(
                f"model.decoder='render' draws the state of stated physics and needs model.transition='physics', "
                f"or 'hamiltonian' or 'neural_ode' with its coordinates set to a system, got {self.transition!r}"
                + (" with free coordinates" if hasattr(self.transition_config(), "coordinates") else "")
            )

    def _check_attention(self) -> None:
        heads = self.attention_heads
        if self.rnn_hidden % heads:
            raise ConfigError(
                f"model.rnn_hidden ({self.rnn_hidden}, the attention width) must be a multiple of "
                f"model.attention_heads ({heads})"
            )
        if self.inference == "smoother" and heads % 2:
            raise ConfigError(
                f"model.attention_heads must be even for model.inference='smoother' (half the heads look back, "
                f"half ahead), got {heads}"
            )

    def to_dict(self) -> dict:
        """Plain fields, then one table per registered transition (``[model.locally_linear]`` ...)."""
        plain = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sections"}
        return {**plain, **{name: to_dict(getattr(self, name)) for name in TRANSITIONS}}

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """The inverse of ``to_dict``; a table must name a registered transition."""
        data = dict(data)
        tables = {k: data.pop(k) for k in list(data) if k in TRANSITIONS}
        for k, v in data.items():
            if isinstance(v, dict):
                raise ConfigError(
                    f"unknown key 'model.{k}'; transition sections: {sorted(TRANSITIONS)} "
                    "(register a transition of your own before loading a config that uses it)"
                )
        cfg = from_dict(cls, data, "model")
        for name, table in tables.items():
            cfg.sections[name] = from_dict(TRANSITIONS[name].config_class, table, f"model.{name}")
        return cfg


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
    # fraction of the steps over which β rises again from 0 when training is judged collapsed (physvae.kl_weight;
    # from a quarter of the steps on, β back at 1, ending by the last step, so at most 0.75); 0: only reported
    collapse_rewarm: float = 0.25
    mask_prob: float = 0.0  # hide each frame after the first with this probability (trains imputation)
    # λ of the multi-step prediction term (TemporalVAE.elbo); 0: plain ELBO; "auto": by transition
    # (PREDICT_WEIGHT_AUTO: 0.25 for locally_linear, 1 otherwise), written as the number when a run is made
    predict_weight: float | str = "auto"
    # λ while the decoder draws one frame whatever the latents (the decoded frames' spread over the data's near 0: at
    # the start of every run, and in a collapse), relaxing to predict_weight as that spread reaches the release
    # (below); λ is the larger of predict_weight and start × (1 − spread / release) (0: λ = predict_weight
    # throughout); "auto": by transition where predict_weight is "auto" (PREDICT_WEIGHT_START_AUTO: 1 for
    # locally_linear), else 0
    predict_weight_start: float | str = "auto"
    # the decoded frames' spread over the data's (s) at which λ is back at predict_weight: λ = max(predict_weight,
    # start × (1 − min(1, s / release))); 1: λ relaxes over the whole rise of s to the data's, smaller: sooner
    predict_weight_release: float = 1.0
    predict_context: int = 2  # frames the prediction term conditions on before rolling the transition out
    predict_context_max: int = 6  # context drawn from [predict_context, min(this, window − 1)] per step
    # weight of latent overshooting (TemporalVAE.elbo): the prediction term's rolled-out latents held to the
    # posterior means of the same frames, so a rollout stays on the posterior's chart of the state; 0: off
    predict_latent_weight: float = 0.0
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
        if not 0.0 <= self.collapse_rewarm <= 0.75:
            raise ConfigError(
                f"train.collapse_rewarm must be in [0, 0.75] (a re-warm starts from a quarter of the steps and ends "
                f"by the last), got {self.collapse_rewarm!r}"
            )
        if not 0.0 <= self.mask_prob < 1.0:
            raise ConfigError(f"train.mask_prob must be in [0, 1), got {self.mask_prob!r}")
        _number_or_auto("train.predict_weight", self.predict_weight)
        _number_or_auto("train.predict_weight_start", self.predict_weight_start)
        if positive("train.predict_weight_release", self.predict_weight_release) > 1.0:
            raise ConfigError(
                "train.predict_weight_release must be in (0, 1] (the decoded frames' spread over the data's at "
                f"which the start weight is released), got {self.predict_weight_release!r}"
            )
        non_negative("train.predict_latent_weight", self.predict_latent_weight)
        integer("train.predict_context", self.predict_context, minimum=1)
        integer("train.predict_context_max", self.predict_context_max, minimum=0)
        integer("train.seed", self.seed, minimum=0)
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"train.device must be auto, cpu or cuda, got {self.device!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ConfigError(f"train.precision must be fp32 or bf16, got {self.precision!r}")
        integer("train.threads", self.threads, minimum=0)
        integer("train.checkpoint_every", self.checkpoint_every, minimum=1)
        integer("train.log_every", self.log_every, minimum=1)

    def check_length(self, n_frames: int, where: str) -> None:
        """ConfigError when sequences of ``n_frames`` (in ``where``) are too short for the window or for the
        prediction term (a context as long as the window leaves nothing to predict: the term would vanish); a
        longer ``predict_context_max`` is clipped to the window (see ``train._predict_context``)."""
        if self.window > n_frames:
            raise ConfigError(
                f"train.window of {self.window} frames is longer than the sequences of {where} ({n_frames} frames)"
            )
        length = self.window or n_frames
        if (self.predict_weight != 0 or self.predict_weight_start != 0) and self.predict_context >= length:
            raise ConfigError(
                f"train.predict_context is {self.predict_context} but the training windows of {where} hold "
                f"{length} frames: the prediction term would predict nothing (use at most {length - 1}, or "
                "train.predict_weight=0)"
            )


def _number_or_auto(name: str, value) -> None:
    """ConfigError unless ``value`` is a finite number >= 0 or the word "auto" (by transition)."""
    if not isinstance(value, str):
        non_negative(name, value)
    elif value != "auto":
        raise ConfigError(f'{name} must be a number >= 0 or "auto" (by transition), got {value!r}')


@dataclass
class RunConfig:
    """Everything a training run needs."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)  # the protocol ``evaluate`` uses for this run

    def validate(self) -> RunConfig:
        """Check every table; ``train.predict_weight`` and ``train.predict_weight_start`` of "auto" become their
        transition's numbers here."""
        self.model.validate()
        self.resolve_auto()
        self.train.validate()
        self.eval.validate()
        return self

    def resolve_auto(self) -> RunConfig:
        """Write the train fields left to "auto" (``predict_weight``, ``predict_weight_start``) as the numbers
        they resolve to for this transition; returns self."""
        start = self.predict_weight_start()  # first: it reads whether predict_weight is "auto"
        self.train.predict_weight = self.predict_weight()
        self.train.predict_weight_start = start
        return self

    def predict_weight(self) -> float:
        """The prediction term's λ this run trains with: ``train.predict_weight``, or where that is "auto" the
        transition's (``PREDICT_WEIGHT_AUTO``, else ``PREDICT_WEIGHT_OTHERWISE``)."""
        w = self.train.predict_weight
        if w == "auto":
            return PREDICT_WEIGHT_AUTO.get(self.model.transition, PREDICT_WEIGHT_OTHERWISE)
        return w

    def predict_weight_start(self) -> float:
        """The prediction term's start weight (λ while the decoder draws one frame): ``train.predict_weight_start``,
        or where that is "auto" the transition's (``PREDICT_WEIGHT_START_AUTO``) when ``train.predict_weight`` is
        "auto" too, else 0 (a weight set by hand trains as set, from the first step)."""
        start = self.train.predict_weight_start
        if start != "auto":
            return start
        if self.train.predict_weight != "auto":
            return 0.0
        return PREDICT_WEIGHT_START_AUTO.get(self.model.transition, 0.0)

    def to_dict(self) -> dict:
        return {"model": self.model.to_dict(), "train": to_dict(self.train), "eval": to_dict(self.eval)}

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """Build from plain dicts (a run saved before ``[eval]`` existed gets the default protocol)."""
        if not isinstance(data, dict):
            raise ConfigError(f"a run config must be a table with [model], [train] and [eval], got {data!r}")
        data = dict(data)
        model = data.pop("model", {})
        if not isinstance(model, dict):
            raise ConfigError(f"model must be a table of fields, got {model!r}")
        cfg = from_dict(cls, data)
        cfg.model = ModelConfig.from_dict(model)
        return cfg

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
