"""The full description of a dataset: which system, its parameters, how it is drawn, sizes, Δt and seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, integer, positive
from .registry import system_class
from .render import RenderConfig
from .serial import coerce, from_dict, to_dict
from .system import System


@dataclass
class DatasetConfig:
    """Everything that determines a dataset; the same config and seed give byte-identical files."""

    system: str = "pendulum"  # registry key in SYSTEMS
    params: Any = None  # the system's config dataclass (None: its defaults)
    render: RenderConfig = field(default_factory=RenderConfig)  # how frames are drawn
    n_frames: int = 20  # frames per sequence
    dt: float = 0.1  # time between frames, in the system's time unit
    splits: dict[str, int] = field(
        default_factory=lambda: {"train": 1000, "test": 200}
    )  # sequences per split
    ood_splits: list[str] = field(
        default_factory=list
    )  # splits drawn from the system's out-of-distribution config
    seed: int = 0  # root seed; trajectory i of split s uses the seed (seed, crc32(s), i)

    def __post_init__(self):
        cls = system_class(self.system)
        if self.params is None:
            self.params = cls.config_class()
        elif isinstance(self.params, dict):
            self.params = from_dict(cls.config_class, self.params, "params")
        elif not isinstance(self.params, cls.config_class):
            raise ConfigError(f"params must be a {cls.config_class.__name__} for system {self.system!r}")

    def validate(self) -> None:
        self.build_system()
        self.render.validate()
        integer("n_frames", self.n_frames, minimum=2)
        positive("dt", self.dt)
        integer("seed", self.seed, minimum=0)
        if not self.splits:
            raise ConfigError("splits must name at least one split")
        for name, n in self.splits.items():
            integer(f"splits.{name}", n, minimum=1)
        for name in self.ood_splits:
            if name not in self.splits:
                raise ConfigError(f"ood_splits names {name!r}, which is not in splits {sorted(self.splits)}")

    def build_system(self, ood: bool = False) -> System:
        system = system_class(self.system)(self.params)
        return system_class(self.system)(system.ood_config()) if ood else system

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DatasetConfig:
        data = dict(data)
        params = data.pop("params", None)
        cfg = from_dict(cls, data)
        if params is not None:
            cfg.params = coerce(params, system_class(cfg.system).config_class, "params")
        return cfg
