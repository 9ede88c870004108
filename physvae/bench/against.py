"""Each variation of a suite's dataset against the same model on the plain one: what the variation cost.

A dataset entry with ``against = "pendulum"`` is a variation (a border, another background, sensor noise, another
frame size) of the suite's dataset ``pendulum``. For every model that ran on both, the comparison gives

- the largest drop of linear-probe R² over the targets of kind angle, coordinate or derived (what one frame shows)
  and, separately, over the velocities (what only the dynamics reveal); energy and other kinds are not compared;
- the median valid prediction time on both, and its relative drop;
- the prediction MSE over the mean frame's on both (``pred_over_mean_frame``): unlike VPT, whose error is relative
  to the frames' own energy and so shrinks when the background is lit, it compares across backgrounds;
- whether the variant beats the trivial baselines and whether its training ended collapsed;

and ``misses``: every tolerance the variant breaks. Only losses count: a variant that does better than the plain
drawing misses nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from simulators import ConfigError, from_dict

from .report import flatten

POSITION_KINDS = ("angle", "coordinate", "derived")
VELOCITY_KINDS = ("velocity",)
COLUMNS = ["r2_linear", "vpt_median", "pred_over_mean_frame", "beats_baselines"]


@dataclass(frozen=True)
class Tolerances:
    """Largest losses a variation may cost: R² drops (absolute) and the VPT drop (relative to the plain VPT)."""

    position: float = 0.03
    velocity: float = 0.05
    vpt: float = 0.25

    @classmethod
    def from_suite(cls, suite) -> Tolerances:
        """The suite's ``[tolerances]`` table over these defaults; ConfigError names a bad key or value."""
        where = f"suite {suite.name!r}, [tolerances]"
        try:
            tol = from_dict(cls, suite.tolerances)
        except (ConfigError, TypeError) as e:
            raise ConfigError(f"{where}: {e} (keys: position, velocity, vpt)") from e
        for k, v in asdict(tol).items():
            if not isinstance(v, (int, float)) or not v >= 0:
                raise ConfigError(f"{where}: {k} must be a number >= 0, got {v!r}")
        return tol


def _r2_drops(variant: dict, plain: dict, kinds: tuple[str, ...]) -> list[tuple[str, float, float]]:
    """(target, plain R², variant R²) for every target of ``kinds`` both records probed."""
    physics_v, physics_p = variant["metrics"].get("physics", {}), plain["metrics"].get("physics", {})
    r2_v = physics_v.get("linear", {}).get("r2", {})
    r2_p = physics_p.get("linear", {}).get("r2", {})
    kind_of = dict(zip(physics_v.get("targets", []), physics_v.get("kinds", [])))
    return [(n, r2_p[n], r2_v[n]) for n in r2_v if n in r2_p and kind_of.get(n) in kinds]


def _worst(rows: list[tuple[str, float, float]]) -> dict | None:
    if not rows:
        return None
    name, p, v = max(rows, key=lambda r: r[1] - r[2])
    return {"target": name, "plain": p, "variant": v, "drop": p - v}


def compare(variant: dict, plain: dict, tol: Tolerances) -> dict:
    """The comparison of one variant cell record with the plain cell record of the same model and seed."""
    fv, fp = flatten(variant, COLUMNS), flatten(plain, COLUMNS)
    out = {
        "dataset": variant["dataset"],
        "against": plain["dataset"],
        "model": variant["model"],
        "seed": variant["seed"],
        "position": _worst(_r2_drops(variant, plain, POSITION_KINDS)),
        "velocity": _worst(_r2_drops(variant, plain, VELOCITY_KINDS)),
        "vpt": {"plain": fp.get("vpt_median"), "variant": fv.get("vpt_median")},
        "pred_over_mean_frame": {
            "plain": fp.get("pred_over_mean_frame"),
            "variant": fv.get("pred_over_mean_frame"),
        },
        "beats_baselines": fv.get("beats_baselines"),
        "collapsed": variant.get("collapse", {}).get("at_end"),
    }
    out["misses"] = _misses(out, tol, "kinds" in variant["metrics"].get("physics", {}))
    return out


def _misses(c: dict, tol: Tolerances, has_kinds: bool) -> list[str]:
    misses = []
    if not has_kinds:
        misses.append("the record has no state kinds (evaluated by an older physvae): R² not compared")
    for part, limit in (("position", tol.position), ("velocity", tol.velocity)):
        w = c[part]
        if w and not w["drop"] <= limit:
            misses.append(
                f"{w['target']} R² {w['variant']:.3f} vs {w['plain']:.3f} (drop {w['drop']:.3f} > {limit})"
            )
    p, v = c["vpt"]["plain"], c["vpt"]["variant"]
    if p is not None and v is not None and p > 0 and not (p - v) / p <= tol.vpt:
        misses.append(f"VPT {v:g} vs {p:g} (drop {(p - v) / p:.0%} > {tol.vpt:.0%})")
    if c["beats_baselines"] is not None and c["beats_baselines"] < 1:
        misses.append("does not beat a trivial baseline (see its flags)")
    if c["collapsed"]:
        misses.append("training ended collapsed")
    return misses


def comparisons(suite, records: list[dict]) -> list[dict]:
    """Every (variant, model, seed) cell of ``records`` whose plain cell is also among them, compared."""
    tol = Tolerances.from_suite(suite)
    against = {d.name: d.against for d in suite.datasets if d.against}
    by_key = {(r["dataset"], r["model"], r["seed"]): r for r in records}
    return [
        compare(r, by_key[(against[r["dataset"]], r["model"], r["seed"])], tol)
        for r in records
        if r["dataset"] in against and (against[r["dataset"]], r["model"], r["seed"]) in by_key
    ]


def _num(v) -> str:
    return "—" if v is None else f"{v:g}" if float(v).is_integer() else f"{v:.3f}"


def _drop(w: dict | None) -> str:
    return "—" if w is None else f"{w['drop']:+.3f} ({w['target']})"


def table(suite, rows: list[dict]) -> str:
    """Markdown: one row per compared cell, the tolerances and what each row misses."""
    tol = Tolerances.from_suite(suite)
    out = [
        "## Each variation against its plain dataset",
        "",
        "| dataset | against | model | R² drop, position/angle | R² drop, velocity | VPT plain → variant "
        "| pred MSE / mean frame's, plain → variant | beats baselines | collapsed | misses |",
        "|---" * 10 + "|",
    ]
    for c in rows:
        vpt, ratio = c["vpt"], c["pred_over_mean_frame"]
        out.append(
            f"| {c['dataset']} | {c['against']} | {c['model']} | {_drop(c['position'])} | {_drop(c['velocity'])} "
            f"| {_num(vpt['plain'])} → {_num(vpt['variant'])} "
            f"| {_num(ratio['plain'])} → {_num(ratio['variant'])} | {_num(c['beats_baselines'])} "
            f"| {'—' if c['collapsed'] is None else ('yes' if c['collapsed'] else 'no')} "
            f"| {'; '.join(c['misses']) or 'none'} |"
        )
    out += [
        "",
        f"Tolerances (drops only; a better variant misses nothing): position/angle R² {tol.position}, velocity R² "
        f"{tol.velocity}, VPT {tol.vpt:.0%} of the plain VPT (not judged where the plain VPT is 0). VPT's error is "
        "relative to the frames' own energy, so a lit background lengthens it: compare the mean-frame ratio "
        "(below 1 beats the mean frame) across backgrounds.",
        "",
    ]
    return "\n".join(out)
