"""A suite file (TOML): which datasets, which models, how long, which metrics. Checked before anything runs.

Example::

    name = "quick"
    seeds = [0]
    metrics = ["r2_linear", "vpt_fraction"]    # columns some evaluation section gives (or train_seconds)
    [train]                      # RunConfig.train overrides for every cell
    steps = 800
    [eval]                       # the evaluation protocol (physvae.EvalConfig) of every cell
    poly_probe = false
    [tolerances]                 # optional: what a variation (``against``) may cost; bench.against.Tolerances
    velocity = 0.05
    [[datasets]]
    name = "pendulum"
    preset = "dvbf_pendulum16"
    splits = {train = 500, val = 100, test = 200}
    eval_frames = 50             # optional: a test set of longer sequences for prediction (same physics)
    eval = {n_context = 5}       # optional: this dataset's protocol overrides
    # size = 24; import_size = 16  optional: draw at 24 px, then resize to 16 as `physvae import --size` does
    # against = "plain"          optional: a variation of the suite's dataset "plain"; the report compares them
    # drop_frames = 0.2          optional: drop 20 % of the frames at random, keep their times (as dropped-frame
    #                            video imports); discrete-time models skip such a dataset
    [[models]]
    name = "LocallyLinear"
    transition = "locally_linear"
    set = ["model.latent_dim=4"] # dotted RunConfig overrides
    datasets = ["pendulum"]      # optional: only these datasets (default: every one)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import tomli_w

from simulators import PRESETS, ConfigError, DatasetConfig, from_dict, preset, to_dict, write_text_atomic

from ..config import RunConfig
from ..dataset_drop import kept_count
from ..evaluation import columns
from ..nets import SIZES
from ..overrides import apply_overrides
from ..transitions import TRANSITIONS

RECORD_COLUMNS = (
    "train_seconds",
)  # columns a cell record gives itself; the rest come from evaluation sections
MOVED = {  # keys of older suite files, and where they live now
    "n_context": "eval = {n_context = ...} in its [[datasets]] entry (or [eval] for every dataset)",
    "horizon": "eval = {horizon = ...} in its [[datasets]] entry (or [eval] for every dataset)",
    "poly_probe": "[eval] poly_probe = ...",
}


def suites_dir():
    """The built-in suites (package data: they ship with a non-editable install)."""
    return files("physvae.bench").joinpath("suites")


@dataclass
class DatasetEntry:
    """One dataset of a suite: a preset with overrides."""

    name: str  # label in the tables
    preset: str  # key of simulators.PRESETS
    splits: dict[str, int] = field(default_factory=dict)  # sequences per split (empty: the preset's)
    frames: int = 0  # frames per sequence (0: the preset's)
    size: int = 0  # image side (0: the preset's)
    import_size: int = 0  # >0: drawn at ``size``, then resized to this side as `physvae import --size` does
    set: list[str] = field(default_factory=list)  # dotted DatasetConfig overrides
    run_set: list[str] = field(default_factory=list)  # dotted RunConfig overrides for this dataset's cells
    eval_frames: int = 0  # >0: also make a test set of this many frames per sequence for prediction
    eval: dict = field(default_factory=dict)  # EvalConfig overrides for this dataset's cells
    against: str = ""  # the suite's dataset this one varies; the report compares each model's rows
    drop_frames: float = 0.0  # >0: this share of frames dropped at random, times kept (continuous-time only)

    def dataset_config(
        self, frames: int = 0, splits: dict | None = None, seed_offset: int = 0
    ) -> DatasetConfig:
        """This dataset's DatasetConfig (``frames`` and ``splits`` override, e.g. for long test sets)."""
        cfg = preset(
            self.preset,
            size=self.size or None,
            n_frames=frames or self.frames or None,
            splits=splits or self.splits or None,
        )
        cfg = DatasetConfig.from_dict(apply_overrides(cfg.to_dict(), self.set))
        cfg.seed += seed_offset
        cfg.validate()
        return cfg


@dataclass
class ModelEntry:
    """One model of a suite."""

    name: str  # label in the tables
    transition: str  # key of physvae.transitions.TRANSITIONS
    set: list[str] = field(default_factory=list)  # dotted RunConfig overrides
    datasets: list[str] = field(default_factory=list)  # names of the datasets it runs on (empty: every one)

    def runs_on(self, dataset: DatasetEntry) -> bool:
        """Listed for ``dataset`` (or for all), and able to step over its uneven times if it drops frames."""
        if dataset.drop_frames and not TRANSITIONS[self.transition].continuous_time():
            return False
        return not self.datasets or dataset.name in self.datasets


@dataclass
class Suite:
    """A benchmark suite."""

    name: str
    description: str = ""
    seeds: list[int] = field(default_factory=lambda: [0])
    metrics: list[str] = field(default_factory=lambda: ["r2_linear", "vpt_fraction"])
    train: dict = field(default_factory=dict)  # RunConfig.train overrides for every cell
    model: dict = field(default_factory=dict)  # RunConfig.model overrides for every cell
    eval: dict = field(default_factory=dict)  # EvalConfig (the protocol) overrides for every cell
    tolerances: dict = field(default_factory=dict)  # against-comparison tolerances (bench.against.Tolerances)
    datasets: list[DatasetEntry] = field(default_factory=list)
    models: list[ModelEntry] = field(default_factory=list)

    def save(self, path: str | Path) -> Path:
        """Write this suite as a suite file (atomically) that ``load_suite(path)`` reads back equal, every field
        of the suite written out (RunConfig's defaults are not: each cell record's ``settings`` holds them)."""
        header = f"# suite {self.name!r} as physvae bench ran it (physvae bench --suite {Path(path).name} reruns it)\n"
        return write_text_atomic(path, header + tomli_w.dumps(to_dict(self)))

    def validate(self) -> Suite:
        """Raise ConfigError naming the first bad entry; builds every cell's RunConfig to type-check overrides."""
        if not self.datasets or not self.models:
            raise ConfigError(f"suite {self.name!r} needs at least one [[datasets]] and one [[models]] entry")
        known = [*columns(), *RECORD_COLUMNS]
        for m in self.metrics:
            if m not in known:
                raise ConfigError(
                    f"suite {self.name!r}: no evaluation section gives the column {m!r}; known columns: {sorted(known)}"
                )
        names = [d.name for d in self.datasets]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(
                f"suite {self.name!r}: [[datasets]] names must be unique (they name the cells), {twice} repeat"
            )
        cells = [(d.name, m.name) for m in self.models for d in self.datasets if m.runs_on(d)]
        twice = sorted({c for c in cells if cells.count(c) > 1})
        if twice:
            raise ConfigError(
                f"suite {self.name!r}: [[models]] names must be unique on each dataset (they name the cells); "
                f"(dataset, model) {twice} repeat"
            )
        for d in self.datasets:
            if d.preset not in PRESETS:
                raise ConfigError(
                    f"suite {self.name!r}, dataset {d.name!r}: unknown preset {d.preset!r}; "
                    f"known presets: {sorted(PRESETS)}"
                )
            if not 0 <= d.drop_frames < 1:
                raise ConfigError(
                    f"suite {self.name!r}, dataset {d.name!r}: drop_frames must be in [0, 1) (a share of the "
                    f"frames), got {d.drop_frames}"
                )
            if d.import_size and d.import_size not in SIZES:
                raise ConfigError(
                    f"suite {self.name!r}, dataset {d.name!r}: import_size must be one of {SIZES} (the sides "
                    f"the models read), got {d.import_size}"
                )
        self._check_against()
        for m in self.models:
            if m.transition not in TRANSITIONS:
                raise ConfigError(
                    f"suite {self.name!r}, model {m.name!r}: unknown transition {m.transition!r}; "
                    f"known transitions: {sorted(TRANSITIONS)}"
                )
            unknown = sorted(set(m.datasets) - {d.name for d in self.datasets})
            if unknown:
                raise ConfigError(
                    f"suite {self.name!r}, model {m.name!r}: datasets {unknown} are not in the suite "
                    f"(its datasets: {[d.name for d in self.datasets]})"
                )
            for d in filter(m.runs_on, self.datasets):
                try:
                    cfg = self.run_config(m, "x", 0, d).validate()
                except ConfigError as e:
                    raise ConfigError(
                        f"suite {self.name!r}, model {m.name!r}, dataset {d.name!r}: {e}"
                    ) from e
                frames = d.eval_frames or d.frames or PRESETS[d.preset]().n_frames
                frames = kept_count(frames, d.drop_frames) if d.drop_frames else frames
                cfg.eval.prediction_horizon(
                    frames,
                    f"suite {self.name!r}, dataset {d.name!r} ({'eval_frames' if d.eval_frames else 'frames'})",
                )
                if "r2_poly" in self.metrics and not cfg.eval.poly_probe:
                    raise ConfigError(
                        f"suite {self.name!r}, dataset {d.name!r}: metric 'r2_poly' needs [eval] poly_probe = true"
                    )
        return self

    def _check_against(self) -> None:
        """Each ``against`` names another dataset of the suite that is itself no variation; tolerances are known."""
        from .against import Tolerances

        by_name = {d.name: d for d in self.datasets}
        for d in self.datasets:
            if not d.against:
                continue
            plain = by_name.get(d.against)
            if plain is None or plain is d or plain.against:
                raise ConfigError(
                    f"suite {self.name!r}, dataset {d.name!r}: against = {d.against!r} must name another "
                    f"dataset of the suite that has no 'against' itself; its datasets: {list(by_name)}"
                )
        Tolerances.from_suite(self)

    def run_config(
        self, model: ModelEntry, data_dir: str, seed: int, dataset: DatasetEntry | None = None
    ) -> RunConfig:
        """The RunConfig of one cell: suite-wide overrides, the dataset's, the model's, then data and seed.

        The cell's seed also seeds its evaluation (the imputation masks)."""
        base = RunConfig().to_dict()
        tables = [("train", self.train), ("model", self.model), ("eval", self.eval)]
        if dataset:
            tables.append(("eval", dataset.eval))
        for section, values in tables:
            for k, v in values.items():
                if k not in base[section]:
                    raise ConfigError(
                        f"suite {self.name!r}: unknown key '{section}.{k}'; known keys: {sorted(base[section])}"
                    )
                base[section][k] = v
        extra = dataset.run_set if dataset else []
        cfg = RunConfig.from_dict(base).with_overrides(
            [*extra, f"model.transition={model.transition}", *model.set]
        )
        cfg.train.data, cfg.train.seed, cfg.eval.seed = data_dir, seed, seed
        return cfg


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name (``smoke``, ``quick``, ``targets``, ``paper``, ...) or a suite file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        built_in = suites_dir().joinpath(f"{name_or_path}.toml")
        if not built_in.is_file():
            known = sorted(
                p.name.removesuffix(".toml") for p in suites_dir().iterdir() if p.name.endswith(".toml")
            )
            raise ConfigError(
                f"no built-in suite {str(name_or_path)!r}; known suites: {known} (or a .toml path)"
            )
        text, where = built_in.read_text(encoding="utf-8"), f"built-in suite {name_or_path}"
    elif not path.is_file():
        raise ConfigError(f"suite file {path} does not exist")
    else:
        text, where = path.read_text(encoding="utf-8"), f"suite file {path}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where} is not valid TOML: {e}") from e
    _refuse_moved_keys(data, where)
    return from_dict(Suite, data).validate()


def _refuse_moved_keys(data: dict, where: str) -> None:
    """Name the new place of a key older suite files used, instead of a bare 'unknown key'."""
    entries = [("", data)] + [(f"[[datasets]] {d.get('name', '?')!r}: ", d) for d in data.get("datasets", [])]
    for prefix, table in entries:
        for key in MOVED:
            if isinstance(table, dict) and key in table:
                raise ConfigError(f"{where}: {prefix}{key!r} has moved to {MOVED[key]}")
