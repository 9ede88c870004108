"""Errors raised on bad input, and the small checks that raise them.

Every message names the field (or file) and what was expected, so a user can fix the input without reading code.
"""

from __future__ import annotations

import math


class ConfigError(ValueError):
    """A configuration field holds a value outside what it accepts."""


class DatasetError(ValueError):
    """A dataset folder is missing, incomplete, corrupted or of another schema version."""


def positive(field: str, value: float) -> float:
    """Return ``value`` if it is a finite number > 0, else raise ConfigError naming ``field``."""
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{field} must be a finite number > 0, got {value!r}")
    return float(value)


def non_negative(field: str, value: float) -> float:
    """Return ``value`` if it is a finite number >= 0, else raise ConfigError naming ``field``."""
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{field} must be a finite number >= 0, got {value!r}")
    return float(value)


def interval(field: str, value, *, lower: float | None = None, strict: bool = False) -> tuple[float, float]:
    """Check a (low, high) range with low <= high and, if given, low >= lower (> lower when strict)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ConfigError(f"{field} must be a (low, high) pair, got {value!r}")
    lo, hi = value
    for v in (lo, hi):
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(f"{field} must hold finite numbers, got {value!r}")
    if lo > hi:
        raise ConfigError(f"{field} must have low <= high, got {value!r}")
    if lower is not None and (lo <= lower if strict else lo < lower):
        op = ">" if strict else ">="
        raise ConfigError(f"{field} must be {op} {lower}, got {value!r}")
    return (float(lo), float(hi))


def integer(field: str, value, *, minimum: int) -> int:
    """Return ``value`` if it is an int >= minimum, else raise ConfigError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{field} must be an integer >= {minimum}, got {value!r}")
    return value
