"""Whether two cells were trained alike: their records' ``settings`` (the run config's model and train tables)
compared leaf by leaf, a field one record lacks read as the default it ran with."""

from __future__ import annotations

from ..config import BEFORE_FIELD, RunConfig


def differing(a: dict, b: dict) -> list[tuple[str, object, object]]:
    """The leaves ("model.latent_dim", ...) where settings ``a`` and ``b`` disagree, sorted, as (key, a's, b's);
    a field only one of them has (added to physvae after the other was trained) counts as the value it was added
    with: its ``BEFORE_FIELD`` value where its default has changed since, else today's default."""
    fa, fb = leaves(a), leaves(b)
    defaults = leaves(RunConfig().to_dict()) | BEFORE_FIELD
    keys = sorted(k for k in fa.keys() | fb.keys() if not _alike(k, fa, fb, defaults))
    return [(k, fa.get(k, defaults.get(k)), fb.get(k, defaults.get(k))) for k in keys]


def describe(diff: list[tuple[str, object, object]], limit: int = 4) -> str:
    """'model.decoder 'conv' → 'render', ...' for the first ``limit`` differences, and how many more."""
    shown = ", ".join(f"{k} {old!r} → {new!r}" for k, old, new in diff[:limit])
    return shown + (f" and {len(diff) - limit} more" if len(diff) > limit else "")


def _alike(key: str, a: dict, b: dict, defaults: dict) -> bool:
    """Whether two records' settings agree on ``key``. A field only one of them has was added to physvae after the
    other was trained: that one ran as the field's value when added (``defaults``: as leaves) does, so the two
    agree when the other holds that value."""
    if key in a and key in b:
        return a[key] == b[key]
    present = a if key in a else b
    return key in defaults and present[key] == defaults[key]


def leaves(d: dict, prefix: str = "") -> dict:
    """{"a.b": value} for every leaf of nested dicts."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        out.update(leaves(v, key + ".") if isinstance(v, dict) else {key: v})
    return out
