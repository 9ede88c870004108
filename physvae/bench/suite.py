"""A suite file (TOML): which datasets, which models, how long, which metrics. Checked before anything runs.

Example::

    name = "quick"
    seeds = [0]
    metrics = ["r2_linear", "vpt_fraction"]
    [train]                      # RunConfig.train overrides for every cell
    steps = 800
    [[datasets]]
    name = "pendulum"
    preset = "dvbf_pendulum16"
    splits = {train = 500, val = 100, test = 200}
    eval_frames = 50             # optional: a test set of longer sequences for prediction (same physics)
    [[models]]
    name = "LocallyLinear"
    transition = "locally_linear"
    set = ["model.latent_dim=4"] # dotted RunConfig overrides
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from simulators import PRESETS
from simulators.errors import ConfigError
from simulators.serial import from_dict

from ..config import RunConfig
from ..transitions import TRANSITIONS

SUITES_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "suites"
METRICS = {  # column name -> where it lives in a cell record
    "r2_linear": "physics.linear.r2",
    "r2_poly": "physics.poly.r2",
    "r2_rollout": "physics.rollout_linear.r2",
    "recon_mse": "reconstruction.mse",
    "recon_ssim": "reconstruction.ssim",
    "pred_mse": "prediction.mse",
    "pred_ssim": "prediction.ssim",
    "vpt_median": "prediction.vpt_median",
    "vpt_fraction": "prediction.vpt_fraction",
    "imputation": "imputation",
    "train_seconds": "train_seconds",
}


@dataclass
class DatasetEntry:
    """One dataset of a suite: a preset with overrides."""

    name: str  # label in the tables
    preset: str  # key of simulators.PRESETS
    splits: dict[str, int] = field(default_factory=dict)  # sequences per split (empty: the preset's)
    frames: int = 0  # frames per sequence (0: the preset's)
    size: int = 0  # image side (0: the preset's)
    set: list[str] = field(default_factory=list)  # dotted DatasetConfig overrides
    run_set: list[str] = field(default_factory=list)  # dotted RunConfig overrides for this dataset's cells
    eval_frames: int = 0  # >0: also make a test set of this many frames per sequence for prediction
    n_context: int = 5  # prediction: frames conditioned on
    horizon: int = 0  # prediction: frames predicted (0: the rest of each evaluation sequence)


@dataclass
class ModelEntry:
    """One model of a suite."""

    name: str  # label in the tables
    transition: str  # key of physvae.transitions.TRANSITIONS
    set: list[str] = field(default_factory=list)  # dotted RunConfig overrides


@dataclass
class Suite:
    """A benchmark suite."""

    name: str
    description: str = ""
    seeds: list[int] = field(default_factory=lambda: [0])
    metrics: list[str] = field(default_factory=lambda: ["r2_linear", "vpt_fraction"])
    train: dict = field(default_factory=dict)  # RunConfig.train overrides for every cell
    model: dict = field(default_factory=dict)  # RunConfig.model overrides for every cell
    poly_probe: bool = False  # also run the SyMetric-style polynomial probe
    datasets: list[DatasetEntry] = field(default_factory=list)
    models: list[ModelEntry] = field(default_factory=list)

    def validate(self) -> Suite:
        """Raise ConfigError naming the first bad entry; builds every cell's RunConfig to type-check overrides."""
        if not self.datasets or not self.models:
            raise ConfigError(f"suite {self.name!r} needs at least one [[datasets]] and one [[models]] entry")
        for m in self.metrics:
            if m not in METRICS:
                raise ConfigError(
                    f"suite {self.name!r}: unknown metric {m!r}; known metrics: {sorted(METRICS)}"
                )
        if "r2_poly" in self.metrics and not self.poly_probe:
            raise ConfigError(f"suite {self.name!r}: metric 'r2_poly' needs poly_probe = true")
        for d in self.datasets:
            if d.preset not in PRESETS:
                raise ConfigError(
                    f"suite {self.name!r}, dataset {d.name!r}: unknown preset {d.preset!r}; "
                    f"known presets: {sorted(PRESETS)}"
                )
        for m in self.models:
            if m.transition not in TRANSITIONS:
                raise ConfigError(
                    f"suite {self.name!r}, model {m.name!r}: unknown transition {m.transition!r}; "
                    f"known transitions: {sorted(TRANSITIONS)}"
                )
            for d in self.datasets:
                try:
                    self.run_config(m, "x", 0, d).validate()
                except ConfigError as e:
                    raise ConfigError(
                        f"suite {self.name!r}, model {m.name!r}, dataset {d.name!r}: {e}"
                    ) from e
        return self

    def run_config(
        self, model: ModelEntry, data_dir: str, seed: int, dataset: DatasetEntry | None = None
    ) -> RunConfig:
        """The RunConfig of one cell: suite-wide overrides, the dataset's, the model's, then data and seed."""
        base = RunConfig().to_dict()
        for section, values in (("train", self.train), ("model", self.model)):
            for k, v in values.items():
                if k not in base[section]:
                    raise ConfigError(f"suite {self.name!r}: unknown key '{section}.{k}'")
                base[section][k] = v
        extra = dataset.run_set if dataset else []
        cfg = RunConfig.from_dict(base).with_overrides(
            [*extra, f"model.transition={model.transition}", *model.set]
        )
        cfg.train.data, cfg.train.seed = data_dir, seed
        return cfg


def load_suite(name_or_path: str | Path) -> Suite:
    """A suite by name (``benchmarks/suites/NAME.toml``) or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SUITES_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in SUITES_DIR.glob("*.toml"))
        raise ConfigError(f"suite file {path} does not exist; known suites: {known}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"suite file {path} is not valid TOML: {e}") from e
    return from_dict(Suite, data).validate()
