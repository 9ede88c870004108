"""A run folder and the model it holds.

Layout: ``config.toml`` (the RunConfig), ``spec.json`` (the DataSpec), ``metrics.jsonl`` (one line per logged step),
``checkpoints/last.pt`` (model, optimizer and step; written atomically), ``model.pt`` (the final weights) and
``summary.json`` (what the finished run reports).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch

from simulators import ConfigError, write_json_atomic

from . import checkpoint
from .build import build_model
from .config import RunConfig
from .model import DataSpec, TemporalVAE


class Run:
    """A training run on disk. ``run.model`` is the final model (or the last checkpoint's), in eval mode."""

    def __init__(self, path: str | Path, device: str | torch.device = "cpu"):
        self.path = Path(path)
        if not (self.path / "config.toml").is_file():
            raise ConfigError(f"{self.path} is not a run folder (no config.toml)")
        self.config = RunConfig.load(self.path / "config.toml")
        self.spec = DataSpec(**json.loads((self.path / "spec.json").read_text()))
        self.device = torch.device(device)
        self._model: TemporalVAE | None = None

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoints" / "last.pt"

    @property
    def finished(self) -> bool:
        return (self.path / "model.pt").is_file()

    @property
    def model(self) -> TemporalVAE:
        if self._model is None:
            self._model = self.build_model()
            source = self.path / "model.pt" if self.finished else self.checkpoint_path
            if not source.is_file():
                raise ConfigError(f"run {self.path} has neither model.pt nor a checkpoint yet")
            self._model.load_state_dict(checkpoint.load(source, self.device)["model"])
            self._model.eval()
        return self._model

    def build_model(self) -> TemporalVAE:
        torch.manual_seed(self.config.train.seed)
        return build_model(self.spec, self.config.model).to(self.device)

    def metrics(self) -> list[dict]:
        path = self.path / "metrics.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []

    def summary(self) -> dict:
        path = self.path / "summary.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    @staticmethod
    def create(path: Path, config: RunConfig, spec: DataSpec) -> Run:
        path.mkdir(parents=True, exist_ok=True)
        config.save(path / "config.toml")
        write_json_atomic(path / "spec.json", asdict(spec))
        return Run(path)


def load(path: str | Path, device: str | torch.device = "cpu") -> Run:
    """Open a run folder; ``load(path).model`` is ready to evaluate."""
    return Run(path, device)
