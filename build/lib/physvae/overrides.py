"""Dotted command-line overrides (``model.transition=neural_ode``) applied to a config dict before it is typed.

Values are parsed as TOML values (numbers, booleans, lists, quoted strings); anything else is taken as a bare
string. Type checks and unknown-key errors happen when the dict is turned back into dataclasses.
"""

from __future__ import annotations

import tomllib

from simulators import ConfigError


def parse_value(text: str):
    """'3' -> 3, '0.5' -> 0.5, 'true' -> True, '[1, 2]' -> [1, 2], 'neural_ode' -> 'neural_ode'."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Return a copy of ``data`` with each ``dotted.key=value`` set; the key's parents must exist."""
    out = _copy(data)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} must look like dotted.key=value")
        *parents, leaf = key.split(".")
        node = out
        for i, p in enumerate(parents):
            if not isinstance(node, dict) or p not in node:
                raise ConfigError(f"unknown key {'.'.join(parents[: i + 1])!r} in override {item!r}")
            node = node[p]
        if not isinstance(node, dict):
            raise ConfigError(f"{'.'.join(parents)!r} is not a table; cannot set {key!r}")
        if leaf not in node and parents and node:
            raise ConfigError(f"unknown key {key!r}; known keys of {'.'.join(parents)}: {sorted(node)}")
        node[leaf] = parse_value(text)
    return out


def _copy(d):
    return {k: _copy(v) for k, v in d.items()} if isinstance(d, dict) else d
