"""Evaluation as one pass over sections: a shared ``EvalContext`` and the registry ``SECTIONS``.

Built-in sections, run in this order: reconstruction, prediction, imputation, physics (state recovery),
dynamics, trajectories (stated physics fitted to the predicted motion), latent_drift (how far the predicted
latents leave the posterior's), parameters (stated physics), energy (learned energy), intrinsic_dimension, disentanglement (content
vs motion, for a model with a content latent), baselines (which compares the frame figures before it with trivial
baselines), timescales (a varying parameter read from a slow latent).
``physvae.evaluate.evaluate`` runs them and writes the results.
"""

from .baselines import Baselines
from .disentanglement import Disentanglement
from .drift import LatentDrift
from .dynamics import Dynamics
from .energy import Energy
from .imputation import Imputation
from .intrinsic import IntrinsicDimension
from .parameters import Parameters
from .prediction import Prediction
from .protocol import EvalConfig
from .reconstruction import Reconstruction
from .sections import SECTIONS, Section, columns, lookup, register_section
from .state_recovery import StateRecovery
from .timescales import Timescales
from .trajectories import Trajectories

for _cls in (
    Reconstruction,
    Prediction,
    Imputation,
    StateRecovery,
    Dynamics,
    Trajectories,
    LatentDrift,
    Parameters,
    Energy,
    IntrinsicDimension,
    Disentanglement,
    Baselines,
    Timescales,
):
    register_section(_cls)

__all__ = ["EvalConfig", "SECTIONS", "Section", "columns", "lookup", "register_section"]
