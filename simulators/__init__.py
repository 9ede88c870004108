"""Simulators that render video datasets together with the true physical state of every frame.

numpy, scipy and pymunk only: this package never imports torch or physvae.
"""

from .balls import BallsConfig, BouncingBalls
from .dataset_config import SYSTEMS, DatasetConfig, register_system
from .double_pendulum import DoublePendulum, DoublePendulumConfig
from .errors import ConfigError, DatasetError
from .generate import generate
from .mass_spring import MassSpring, MassSpringConfig
from .ode_system import ODESystem
from .pendulum import Pendulum, PendulumConfig
from .presets import PRESETS, preset
from .render import DM_GREY, PALETTE, RenderConfig
from .storage import Dataset, Split, load_dataset
from .system import Scene, System, Trajectories

__all__ = [
    "BallsConfig",
    "BouncingBalls",
    "ConfigError",
    "DM_GREY",
    "Dataset",
    "DatasetConfig",
    "DatasetError",
    "DoublePendulum",
    "DoublePendulumConfig",
    "MassSpring",
    "MassSpringConfig",
    "ODESystem",
    "PALETTE",
    "PRESETS",
    "Pendulum",
    "PendulumConfig",
    "RenderConfig",
    "SYSTEMS",
    "Scene",
    "Split",
    "System",
    "Trajectories",
    "generate",
    "load_dataset",
    "preset",
    "register_system",
]
