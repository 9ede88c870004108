"""The evaluation protocol: one definition, part of a run's config tree (``[eval]``), overridable per suite,
dataset and command line (``--eval.key=value``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulators import ConfigError, integer


@dataclass
class EvalConfig:
    """How a trained model is scored."""

    train_split: str = "train"  # probes are fit here
    test_split: str = "test"  # everything is scored here
    n_context: int = 5  # prediction: frames the model conditions on
    horizon: int = 0  # prediction: frames predicted after the context (0: the rest of each sequence)
    max_sequences: int = 1000  # at most this many sequences per split (the first ones)
    drop_probs: list[float] = field(default_factory=lambda: [0.1, 0.3, 0.5, 0.7, 0.9])  # imputation (a)
    gaps: list[int] = field(default_factory=lambda: [1, 3, 5, 7])  # imputation (b): hidden block lengths
    imputation_first: int = 4  # frames always observed before hidden ones (KVAE)
    poly_probe: bool = True  # also fit the SyMetric-style polynomial probe (slower)
    batch_size: int = 256  # sequences per forward pass
    seed: int = 0  # imputation masks and sampled predictions
    prediction_samples: int = 0  # > 0: also score the predictive mean over this many sampled trajectories

    def validate(self) -> EvalConfig:
        integer("eval.n_context", self.n_context, minimum=1)
        integer("eval.horizon", self.horizon, minimum=0)
        integer("eval.max_sequences", self.max_sequences, minimum=1)
        integer("eval.imputation_first", self.imputation_first, minimum=1)
        integer("eval.batch_size", self.batch_size, minimum=1)
        integer("eval.seed", self.seed, minimum=0)
        integer("eval.prediction_samples", self.prediction_samples, minimum=0)
        for p in self.drop_probs:
            if not 0.0 < p <= 1.0:
                raise ConfigError(
                    f"eval.drop_probs must hold probabilities in (0, 1], got {self.drop_probs!r}"
                )
        for g in self.gaps:
            integer("eval.gaps[]", g, minimum=1)
        return self

    def prediction_horizon(self, n_frames: int, where: str) -> int:
        """The frames predicted in sequences of ``n_frames``; ConfigError naming ``where`` when they are too short."""
        if self.n_context >= n_frames:
            raise ConfigError(
                f"eval.n_context is {self.n_context} but {where} has sequences of {n_frames} frames: the context "
                f"must leave at least one frame to predict (n_context <= {n_frames - 1})"
            )
        horizon = self.horizon or n_frames - self.n_context
        if self.n_context + horizon > n_frames:
            raise ConfigError(
                f"eval.n_context {self.n_context} + eval.horizon {horizon} needs sequences of at least "
                f"{self.n_context + horizon} frames; {where} has {n_frames} (horizon <= {n_frames - self.n_context}, "
                "or 0 for the rest of each sequence)"
            )
        return horizon

    def describe(self) -> str:
        """One line naming the protocol, printed by ``physvae evaluate``."""
        horizon = self.horizon or "rest of each sequence"
        return (
            f"probes fit on {self.train_split!r}, scored on {self.test_split!r} (at most {self.max_sequences} "
            f"sequences); prediction: {self.n_context} context frames, horizon {horizon}; imputation after "
            f"{self.imputation_first} frames, drops {self.drop_probs}, gaps {self.gaps}; "
            f"polynomial probe {'on' if self.poly_probe else 'off'}"
            + (f"; predictive mean over {self.prediction_samples} samples" if self.prediction_samples else "")
        )
