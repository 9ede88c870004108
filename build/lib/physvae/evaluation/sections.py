"""Evaluation sections: each scores one aspect of a model and declares the benchmark columns it gives.

A section is a class with ``name`` (its key in metrics.json), ``columns`` ({column: dotted path inside its
output}) and ``run(ctx) -> dict``; ``register_section`` adds one, and ``evaluate`` runs every registered section in
order over one shared ``EvalContext``. A suite may ask only for columns some section gives.
"""

from __future__ import annotations

from typing import ClassVar

from simulators import ConfigError

SECTIONS: dict[str, type[Section]] = {}


class Section:
    """One part of the evaluation."""

    name: ClassVar[str] = ""
    columns: ClassVar[dict[str, str]] = {}  # benchmark column -> dotted path in this section's output

    def run(self, ctx) -> dict:
        """Score the model of ``ctx`` (an ``EvalContext``); the result is stored under ``name``."""
        raise NotImplementedError

    def table(self, output: dict, column: str) -> dict[str, float]:
        """The numbers ``column`` shows for one run: one value, or one per key of a dict (``r2_linear.omega``)."""
        value = lookup(output, self.columns[column])
        if isinstance(value, dict):
            return {f"{column}.{k}": float(v) for k, v in value.items() if isinstance(v, (int, float))}
        return {} if value is None else {column: float(value)}


def lookup(node, dotted: str):
    """``node["a"]["b"]`` for ``"a.b"``; None where a key is missing."""
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def register_section(cls: type[Section]) -> type[Section]:
    """Add a Section subclass to ``SECTIONS`` (run after the ones already there); usable as a decorator."""
    if not (isinstance(cls, type) and issubclass(cls, Section)) or not cls.name:
        raise ConfigError(f"register_section needs a Section subclass with a name, got {cls!r}")
    taken = {c: s for s in SECTIONS.values() if s is not cls and s.name != cls.name for c in s.columns}
    clash = sorted(set(cls.columns) & set(taken))
    if clash:
        raise ConfigError(
            f"section {cls.name!r} declares column {clash[0]!r}, already given by {taken[clash[0]].name!r}"
        )
    SECTIONS[cls.name] = cls
    return cls


def columns() -> dict[str, type[Section]]:
    """Every benchmark column a registered section gives, and that section."""
    return {c: s for s in SECTIONS.values() for c in s.columns}
