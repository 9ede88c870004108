"""Latent transitions p(z_t | z_<t): one class per file behind the interface of ``base.Transition``."""

from .base import Transition
from .gru import GRUPrior, GRUPriorConfig
from .locally_linear import LocallyLinear, LocallyLinearConfig
from .neural_ode import NeuralODE, NeuralODEConfig, SolverStalled
from .static import Static, StaticConfig

TRANSITIONS: dict[str, type[Transition]] = {
    "locally_linear": LocallyLinear,
    "neural_ode": NeuralODE,
    "gru": GRUPrior,
    "static": Static,
}

__all__ = [
    "GRUPrior",
    "GRUPriorConfig",
    "LocallyLinear",
    "LocallyLinearConfig",
    "NeuralODE",
    "NeuralODEConfig",
    "SolverStalled",
    "Static",
    "StaticConfig",
    "TRANSITIONS",
    "Transition",
]
