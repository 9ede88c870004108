"""Simulators that render video datasets together with the true physical state of every frame.

numpy, scipy and pymunk only: this package never imports torch or physvae. Everything physvae uses is one of
the names below (the dataset folder and its array names, its config and errors, the atomic writers, the typed config helpers).
"""

from .atomic import remove_stale, write_bytes_atomic, write_json_atomic, write_text_atomic
from .balls import BallsConfig, BouncingBalls
from .dataset_config import DatasetConfig
from .double_pendulum import DoublePendulum, DoublePendulumConfig
from .errors import ConfigError, DatasetError, integer, interval, non_negative, positive
from .events import EVENT_NAMES, BallEvents, EventConfig, PendulumEvents
from .generate import generate
from .mass_spring import MassSpring, MassSpringConfig
from .ode_system import ODESystem
from .parallel import watch_parent
from .pendulum import Pendulum, PendulumConfig
from .presets import PRESETS, preset
from .registry import SYSTEMS, register_system, system_class
from .render import DM_GREY, DM_HUES, PALETTE, RenderConfig, object_colors
from .serial import from_dict, to_dict
from .storage import ARRAYS, Dataset, Split, load_dataset, write_dataset
from .system import STATE_KINDS, Scene, System, Trajectories, check_kinds

__all__ = [
    "ARRAYS",
    "BallEvents",
    "BallsConfig",
    "BouncingBalls",
    "ConfigError",
    "DM_GREY",
    "DM_HUES",
    "Dataset",
    "DatasetConfig",
    "DatasetError",
    "DoublePendulum",
    "DoublePendulumConfig",
    "EVENT_NAMES",
    "EventConfig",
    "MassSpring",
    "MassSpringConfig",
    "ODESystem",
    "PALETTE",
    "PRESETS",
    "Pendulum",
    "PendulumConfig",
    "PendulumEvents",
    "RenderConfig",
    "STATE_KINDS",
    "SYSTEMS",
    "Scene",
    "Split",
    "System",
    "Trajectories",
    "check_kinds",
    "from_dict",
    "generate",
    "integer",
    "interval",
    "load_dataset",
    "non_negative",
    "object_colors",
    "positive",
    "preset",
    "register_system",
    "system_class",
    "to_dict",
    "remove_stale",
    "watch_parent",
    "write_bytes_atomic",
    "write_dataset",
    "write_json_atomic",
    "write_text_atomic",
]
