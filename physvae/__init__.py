"""physvae: temporal VAEs whose latent dynamics are locally linear or neural ODEs, and their evaluation.

The evaluation entry point is ``physvae.evaluate.evaluate``; benchmark suites are in ``physvae.bench``.
"""

from .build import build_model
from .config import ModelConfig, RunConfig, TrainConfig
from .data import Batch, SequenceDataset
from .evaluation import EvalConfig
from .kvae import KalmanVAE
from .model import DataSpec, Posterior, TemporalVAE
from .run import Run, load
from .train import TrainingDiverged, fit
from .transitions import TRANSITIONS, Transition, register_transition

__version__ = "0.1.0"

__all__ = [
    "Batch",
    "DataSpec",
    "EvalConfig",
    "KalmanVAE",
    "ModelConfig",
    "Posterior",
    "Run",
    "RunConfig",
    "SequenceDataset",
    "TRANSITIONS",
    "TemporalVAE",
    "TrainConfig",
    "TrainingDiverged",
    "Transition",
    "build_model",
    "fit",
    "load",
    "register_transition",
]
