"""A run folder and the model it holds.

Layout: ``config.toml`` (the RunConfig), ``spec.json`` (the DataSpec), ``metrics.jsonl`` (one line per logged step),
``checkpoints/last.pt`` (model, optimizer and step; written atomically), ``model.pt`` (the final weights) and
``summary.json`` (what the finished run reports).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict
from pathlib import Path

import torch

from simulators import ConfigError, write_json_atomic

from . import checkpoint
from .build import build_model
from .config import BEFORE_FIELD, RunConfig
from .kvae import KalmanVAE
from .model import DataSpec, TemporalVAE


class Run:
    """A training run on disk. ``run.model`` is the final model (or the last checkpoint's), in eval mode."""

    def __init__(self, path: str | Path, device: str | torch.device = "cpu"):
        self.path = Path(path)
        if not (self.path / "config.toml").is_file():
            raise ConfigError(f"{self.path} is not a run folder (no config.toml)")
        self.config = saved_config(self.path / "config.toml")
        self.spec = _load_spec(self.path / "spec.json")
        self.device = torch.device(device)
        self._model: TemporalVAE | KalmanVAE | None = None

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoints" / "last.pt"

    @property
    def finished(self) -> bool:
        return (self.path / "model.pt").is_file()

    @property
    def model(self) -> TemporalVAE | KalmanVAE:
        if self._model is None:
            self._model = self.build_model()
            source = self.path / "model.pt" if self.finished else self.checkpoint_path
            if not source.is_file():
                raise ConfigError(f"run {self.path} has neither model.pt nor a checkpoint yet")
            load_weights(self._model, checkpoint.load(source, self.device)["model"], source)
            self._model.eval()
        return self._model

    def build_model(self) -> TemporalVAE | KalmanVAE:
        return seeded_model(self.config, self.spec, self.device)

    def metrics(self) -> list[dict]:
        return read_metrics(self.path / "metrics.jsonl")

    def summary(self) -> dict:
        path = self.path / "summary.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    @staticmethod
    def create(path: Path, config: RunConfig, spec: DataSpec) -> Run:
        """Write a new run folder. config.toml, which marks a folder as a run, is written last (atomically): a
        kill before it leaves a folder that is no run yet, and a fresh start into it works."""
        path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path / "spec.json", asdict(spec))
        config.save(path / "config.toml")
        return Run(path)


def seeded_model(config: RunConfig, spec: DataSpec, device: torch.device) -> TemporalVAE | KalmanVAE:
    """The run's model at its initial weights: ``build_model`` after seeding torch with ``train.seed``."""
    torch.manual_seed(config.train.seed)
    return build_model(spec, config.model).to(device)


def saved_config(path: Path) -> RunConfig:
    """A run folder's config.toml (which holds every field the physvae that wrote it had); a field added since
    takes the value that physvae used where it differs from today's default (``config.BEFORE_FIELD``, and two
    that only a resumed run needs, below)."""
    config = RunConfig.load(path)
    saved = tomllib.loads(path.read_text())
    for key, before in BEFORE_FIELD.items():
        section, name = key.split(".")
        if name not in saved.get(section, {}):
            setattr(getattr(config, section), name, before)
    model = saved.get("model", {})
    if model.get("decoder") == "render" and "render_compose" not in model:
        # saved before the option: the first, additive render decoder (a before-value only for the render
        # decoder, so not in BEFORE_FIELD: a conv decoder ran as any conv decoder does, the option unread)
        config.model.render_compose = "add"
    if "collapse_rewarm" not in saved.get("train", {}):
        # saved before the re-warm: a collapsed run resumed goes on unwarmed, as it began (records compare as
        # today's: a run that never collapses never re-warms, and one that did says so in its collapse record)
        config.train.collapse_rewarm = 0.0
    return config


def _load_spec(path: Path) -> DataSpec:
    if not path.is_file():
        raise ConfigError(
            f"run folder {path.parent} has no spec.json: it was never fully created (start it again with --out) "
            "or the file was removed"
        )
    try:
        return DataSpec(**json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as e:
        raise ConfigError(f"{path} is not a valid data spec ({e}); the run folder is damaged") from e


def load_weights(model: TemporalVAE, weights: dict, source: Path) -> None:
    """Load a state dict, or a ConfigError naming the file when it does not fit the model the run's config builds."""
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        detail = next((ln.strip() for ln in str(e).splitlines()[1:] if ln.strip()), str(e))
        raise ConfigError(
            f"the weights in {source} do not fit the model its run's config.toml describes (was config.toml "
            f"edited after training?): {detail}"
        ) from e


def read_metrics(path: Path) -> list[dict]:
    """The lines of a metrics.jsonl; a torn last line (a write cut short by a kill or a full disk) is skipped."""
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as e:
            if i < len(lines) - 1:
                raise ConfigError(f"{path} line {i + 1} is not valid JSON ({e}); the file is damaged") from e
    return out


def load(path: str | Path, device: str | torch.device = "cpu") -> Run:
    """Open a run folder; ``load(path).model`` is ready to evaluate."""
    return Run(path, device)
