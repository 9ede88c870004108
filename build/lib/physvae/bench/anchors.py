"""Published anchor numbers, kept in one place (``anchors.toml``, package data) and read by the suite tables."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files


@cache
def _table() -> dict:
    return tomllib.loads(files("physvae.bench").joinpath("anchors.toml").read_text(encoding="utf-8"))


def anchors(preset: str) -> list[tuple[str, dict[str, float]]]:
    """[(label, {table column: published value})] for a preset; empty where nothing is published."""
    return [(a["label"], dict(a["values"])) for a in _table().get(preset, [])]
