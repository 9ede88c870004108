"""physvae: temporal VAEs whose latent dynamics are locally linear or neural ODEs, and their evaluation."""

from .config import ModelConfig, RunConfig, TrainConfig
from .data import Batch, SequenceDataset
from .model import DataSpec, Posterior, TemporalVAE
from .run import Run, load
from .train import TrainingDiverged, fit
from .transitions import TRANSITIONS

__version__ = "0.1.0"

__all__ = [
    "Batch",
    "DataSpec",
    "ModelConfig",
    "Posterior",
    "Run",
    "RunConfig",
    "SequenceDataset",
    "TRANSITIONS",
    "TemporalVAE",
    "TrainConfig",
    "TrainingDiverged",
    "fit",
    "load",
]
