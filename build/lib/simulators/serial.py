"""Typed conversion between dataclass trees and plain dicts (JSON / TOML), with errors that name the field.

``from_dict`` rebuilds exactly the object ``to_dict`` wrote: tuples come back as tuples, nested dataclasses as
dataclasses. Unknown keys and values of the wrong type raise ConfigError naming the dotted path.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from .errors import ConfigError


def to_dict(obj) -> dict:
    """A dataclass tree as plain dicts, lists and scalars."""
    return _plain(dataclasses.asdict(obj))


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def from_dict(cls: type, data: dict, path: str = "") -> Any:
    """Build ``cls`` (a dataclass) from ``data``; missing keys keep their defaults."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path or cls.__name__} must be a table of fields, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"unknown key {_join(path, unknown[0])!r}; known keys of {path or cls.__name__}: {sorted(names)}"
        )
    kwargs = {k: coerce(v, hints[k], _join(path, k)) for k, v in data.items()}
    return cls(**kwargs)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def coerce(value, tp, path: str):
    """Check ``value`` against the annotation ``tp`` and convert lists to tuples where the type says so."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for a in inner:
            try:
                return coerce(value, a, path)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0])
    if dataclasses.is_dataclass(tp):
        return value if isinstance(value, tp) else from_dict(tp, value, path)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path} must be a list of {len(args)} values, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"{path} must hold {len(args)} values, got {value!r}")
        return tuple(coerce(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path} must be a list, got {value!r}")
        return [coerce(v, args[0], f"{path}[{i}]") for i, v in enumerate(value)] if args else list(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path} must be a table, got {value!r}")
        return {k: coerce(v, args[1], f"{path}.{k}") for k, v in value.items()} if args else dict(value)
    return _scalar(value, tp, path)


def _scalar(value, tp, path: str):
    if tp is Any:
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path} must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path} must be an integer, got {value!r}")
        return value
    if tp in (bool, str) and not isinstance(value, tp):
        raise ConfigError(f"{path} must be a {tp.__name__}, got {value!r}")
    return value
