"""A variation judged on the mean of several seeds, beside each seed's own judgment.

One training is one draw: a variation's miss (or its pass) on one seed may be that seed's. Where the records hold
a variant cell and its plain cell on two seeds or more (the same model and seed on both), ``across_seeds`` judges
the mean over those seeds with the suite's tolerances:

- R²: for every position/angle and every velocity target, the mean over seeds of the plain and of the variant's
  posterior R²; the worst target's drop of the means is judged, as ``against.compare`` judges one seed;
- VPT: the relative drop of the mean VPT (in seconds where the frame rates differ; not judged where the suite
  does not judge it, as on dropped frames, nor where on any seed the mean frame's VPT says it cannot be, see
  ``against.vpt_unjudged``);
- the baselines and collapse: every seed must beat the trivial baselines and end uncollapsed (a mean cannot
  hide a seed that collapsed); the seeds that do not are named;
- training settings: a seed whose cells were trained otherwise than each other is named.

Each row keeps every seed's own misses (``against.compare``), so a miss on one seed only shows as such.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..metrics.probe import POSITION_KINDS
from .against import (
    VELOCITY_KINDS,
    Tolerances,
    _add_curved,
    _drop,
    _num,
    _pair,
    _r2_drops,
    _r2_misses,
    _settings_misses,
    _vpt_misses,
    _worst,
    compare,
    frame_interval,
)


def across_seeds(suite, records: list[dict]) -> list[dict]:
    """One row per (variant dataset, model) with a plain cell on at least two of the variant's seeds (rows in the
    order the records first name them): the mean's figures and misses, and each seed's misses (see the module
    docstring)."""
    tol = Tolerances.from_suite(suite)
    entries = {d.name: d for d in suite.datasets}
    by_key = {(r["dataset"], r["model"], r["seed"]): r for r in records}
    pairs = defaultdict(list)  # (dataset, model) -> [(variant, plain)], seeds ascending
    for r in sorted(records, key=lambda r: r["seed"]):
        entry = entries.get(r["dataset"])
        if entry is None or not entry.against:
            continue
        plain = by_key.get((entry.against, r["model"], r["seed"]))
        if plain is not None:
            pairs[(r["dataset"], r["model"])].append((r, plain))
    rows = []
    for (dataset, _), both in pairs.items():
        if len(both) >= 2:
            entry = entries[dataset]
            dt = (frame_interval(entries[entry.against]), frame_interval(entry))
            rows.append(judge_mean(both, tol, judge_vpt=not entry.drop_frames, dt=dt))
    return rows


def judge_mean(
    pairs: list[tuple[dict, dict]],
    tol: Tolerances,
    judge_vpt: bool = True,
    dt: tuple[float, float] | None = None,
) -> dict:
    """The mean judgment of (variant, plain) record pairs of one variation and model, one pair per seed."""
    per_seed = [compare(v, p, tol, judge_vpt, dt) for v, p in pairs]
    variant = pairs[0][0]
    row = {
        "dataset": variant["dataset"],
        "against": pairs[0][1]["dataset"],
        "model": variant["model"],
        "seeds": [c["seed"] for c in per_seed],
        "position": _worst(_mean_r2(pairs, POSITION_KINDS)),
        "velocity": _worst(_mean_r2(pairs, VELOCITY_KINDS)),
        "vpt": _mean_pair([c["vpt"] for c in per_seed]),
        # not judged where a seed's mean frame says its VPT cannot be (``against.vpt_unjudged``)
        "vpt_judged": judge_vpt and all(c["vpt_judged"] for c in per_seed),
        "vpt_unjudged": next((c["vpt_unjudged"] for c in per_seed if c["vpt_unjudged"]), None),
        "vpt_clean": all(
            c["vpt_clean"] for c in per_seed
        ),  # noisy data: VPT against the frames before the noise
        "pred_over_mean_frame": {
            k: [c["pred_over_mean_frame"][k] for c in per_seed] for k in ("plain", "variant")
        },
        "per_seed_misses": {str(c["seed"]): c["misses"] for c in per_seed},
    }
    for part in ("position", "velocity"):
        _add_mean_curved(row[part], pairs)
    if all("vpt_seconds" in c for c in per_seed):
        row["vpt_seconds"] = _mean_pair([c["vpt_seconds"] for c in per_seed])
    row["misses"] = (
        _seed_settings_misses(pairs)
        + _r2_misses(row, tol, variant)
        + _vpt_misses(row, tol)
        + [f"seed {c['seed']}: {m}" for c in per_seed for m in c["vpt_mean_frame_misses"]]
        + _health(per_seed)
    )
    return row


def _mean_r2(pairs: list[tuple[dict, dict]], kinds: tuple[str, ...]) -> list[tuple[str, float, float]]:
    """(target, mean plain R², mean variant R²) over the seeds, for the targets of ``kinds`` every seed has."""
    per_seed = [{n: (p, v) for n, p, v in _r2_drops(v, p, kinds)} for v, p in pairs]
    common = [n for n in per_seed[0] if all(n in s for s in per_seed)]
    return [
        (n, float(np.mean([s[n][0] for s in per_seed])), float(np.mean([s[n][1] for s in per_seed])))
        for n in common
    ]


def _add_mean_curved(worst: dict | None, pairs: list[tuple[dict, dict]]) -> None:
    """The curved probe's R² of ``worst``'s target, each side the mean over the seeds, into ``worst["curved"]``
    where every record has it (see ``against._add_curved``)."""
    if worst is None:
        return
    per_seed = []
    for variant, plain in pairs:
        w = {"target": worst["target"]}
        _add_curved(w, variant, plain)
        if "curved" not in w:
            return
        per_seed.append(w["curved"])
    worst["curved"] = _mean_pair(per_seed)


def _mean_pair(pairs: list[dict]) -> dict:
    """{"plain", "variant"}: each the mean over seeds, None where a seed lacks it."""
    return {
        k: None if any(p[k] is None for p in pairs) else float(np.mean([p[k] for p in pairs]))
        for k in ("plain", "variant")
    }


def _seed_settings_misses(pairs: list[tuple[dict, dict]]) -> list[str]:
    return [f"seed {v['seed']}: {m}" for v, p in pairs for m in _settings_misses(v, p)]


def _health(per_seed: list[dict]) -> list[str]:
    """Every seed must beat the baselines and end uncollapsed; the seeds that do not (or cannot say) are named."""
    losing = [str(c["seed"]) for c in per_seed if c["beats_baselines"] is None or c["beats_baselines"] < 1]
    collapsed = [str(c["seed"]) for c in per_seed if c["collapsed"] is None or c["collapsed"]]
    misses = []
    if losing:
        misses.append(f"does not beat a trivial baseline on seed {', '.join(losing)}")
    if collapsed:
        misses.append(f"training ended collapsed (or no collapse record) on seed {', '.join(collapsed)}")
    return misses


def seeds_table(suite, rows: list[dict]) -> str:
    """Markdown: one row per variation and model judged on the mean of its seeds, each seed's misses beside."""
    tol = Tolerances.from_suite(suite)
    out = [
        "## Variations judged on the mean of several seeds",
        "",
        "| dataset | against | model | seeds | R² drop of the means, position/angle | R² drop of the means, velocity "
        "| mean VPT plain → variant | pred MSE / mean frame's, variant per seed | misses of the mean "
        "| each seed's misses |",
        "|---" * 10 + "|",
    ]
    for r in rows:
        vpt = _pair(r["vpt"], r["vpt_judged"], r["vpt_clean"], r.get("vpt_seconds"))
        if r.get("vpt_unjudged"):
            vpt = vpt.replace("(not judged)", f"(not judged: {r['vpt_unjudged']})")
        each = "; ".join(f"s{s}: " + (", ".join(m) or "none") for s, m in r["per_seed_misses"].items())
        out.append(
            f"| {r['dataset']} | {r['against']} | {r['model']} | {', '.join(map(str, r['seeds']))} "
            f"| {_drop(r['position'])} | {_drop(r['velocity'])} | {vpt} "
            f"| {' / '.join(_num(x) for x in r['pred_over_mean_frame']['variant'])} "
            f"| {'; '.join(r['misses']) or 'none'} | {each} |"
        )
    out += [
        "",
        f"The same tolerances as above (position/angle R² {tol.position}, velocity R² {tol.velocity}, VPT "
        f"{tol.vpt:.0%}), applied to the means over the seeds on which both the variant and its plain cell ran; "
        "the baselines and collapse are judged on every seed.",
        "",
    ]
    return "\n".join(out)
