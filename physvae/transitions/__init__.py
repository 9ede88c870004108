"""Latent transitions p(z_t | z_<t): one class per file behind the interface of ``base.Transition``.

``TRANSITIONS`` maps each name (``model.transition`` in a config) to its class; ``register_transition`` adds one
defined anywhere (a notebook, a test) so that configs, training, evaluation and suites accept it.
"""

from simulators import ConfigError

from .base import LinearMaps, Transition
from .gru import GRUPrior, GRUPriorConfig
from .hamiltonian import Hamiltonian, HamiltonianConfig
from .hierarchical import Hierarchical, HierarchicalConfig
from .kalman import Kalman, KalmanConfig
from .locally_linear import LocallyLinear, LocallyLinearConfig
from .neural_ode import NeuralODE, NeuralODEConfig, SolverStalled
from .noise import ProcessNoise
from .physics import Physics, PhysicsConfig
from .static import Static, StaticConfig

TRANSITIONS: dict[str, type[Transition]] = {
    cls.name: cls
    for cls in (LocallyLinear, NeuralODE, GRUPrior, Hamiltonian, Physics, Static, Kalman, Hierarchical)
}


def register_transition(cls: type[Transition]) -> type[Transition]:
    """Make a Transition subclass available by its ``name``; usable as a class decorator.

    Its ``config_class`` becomes the config section ``model.<name>``. Worker processes (``bench --jobs N``,
    N > 1) only know transitions defined in importable modules.
    """
    if not (isinstance(cls, type) and issubclass(cls, Transition)):
        raise ConfigError(f"register_transition needs a Transition subclass, got {cls!r}")
    if not cls.name or not cls.name.isidentifier():
        raise ConfigError(f"{cls.__name__}.name must be a non-empty identifier, got {cls.name!r}")
    config_class = getattr(cls, "config_class", None)
    if config_class is None or not callable(getattr(config_class, "validate", None)):
        raise ConfigError(f"{cls.__name__}.config_class must be a dataclass with a validate(where) method")
    TRANSITIONS[cls.name] = cls
    return cls


__all__ = [
    "GRUPrior",
    "GRUPriorConfig",
    "Hamiltonian",
    "HamiltonianConfig",
    "Hierarchical",
    "HierarchicalConfig",
    "Kalman",
    "KalmanConfig",
    "LinearMaps",
    "LocallyLinear",
    "LocallyLinearConfig",
    "NeuralODE",
    "NeuralODEConfig",
    "Physics",
    "PhysicsConfig",
    "ProcessNoise",
    "SolverStalled",
    "Static",
    "StaticConfig",
    "TRANSITIONS",
    "Transition",
    "register_transition",
]
