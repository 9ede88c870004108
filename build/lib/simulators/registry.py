"""The systems registry: names (as configs and the CLI spell them) to System classes."""

from __future__ import annotations

from .balls import BouncingBalls
from .double_pendulum import DoublePendulum
from .errors import ConfigError
from .mass_spring import MassSpring
from .pendulum import Pendulum
from .system import System

SYSTEMS: dict[str, type[System]] = {
    "pendulum": Pendulum,
    "balls": BouncingBalls,
    "mass_spring": MassSpring,
    "double_pendulum": DoublePendulum,
}


def register_system(cls: type[System]) -> type[System]:
    """Make a System subclass available by its ``name`` to configs, presets and ``physvae generate``."""
    if not cls.name:
        raise ConfigError(f"{cls.__name__}.name must be a non-empty string")
    SYSTEMS[cls.name] = cls
    return cls


def system_class(name: str) -> type[System]:
    if name not in SYSTEMS:
        raise ConfigError(f"unknown system {name!r}; known systems: {sorted(SYSTEMS)}")
    return SYSTEMS[name]
