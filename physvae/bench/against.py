"""Each variation of a suite's dataset against the same model on the plain one: what the variation cost.

A dataset entry with ``against = "pendulum"`` is a variation (a border, another background, sensor noise, another
frame size, dropped frames) of the suite's dataset ``pendulum``. For every model that ran on both, the comparison
gives

- the largest drop of linear-probe R² over the targets of kind angle, coordinate or derived (what one frame shows)
  and, separately, over the velocities (what only the dynamics reveal); energy and other kinds are not compared;
- the largest drop of R² of the state read from the predictions (shown, not judged: the issue's targets are on
  the posterior): the positions read from the predicted frames' pixels with no model where both records have that
  reading (``pixel_read``; velocities cannot be read from one frame), else the positions and velocities read from
  the predicted frames re-encoded by the model (``rollout_frames_linear``, which follows the model's transition),
  else from the predicted latents (``rollout_linear``), the same reading on both;
- beside a position or velocity miss, the same target read by the curved probe (degree 3 of the latents' top
  principal components, ``physics.curved``) on both cells: a variant that holds the state as well as the plain
  cell there holds it through a curved chart (the linear probe, DVBF's protocol and the rule, misses it), one that
  drops beyond the tolerance there too has lost it; the miss stands either way;
- the median valid prediction time on both, and its relative drop (not judged on dropped frames, whose VPT counts
  kept frames; in seconds, frames × Δt, where the variant's frame interval differs from the plain one's: at half
  the frame rate a frame is twice the time); on a variant drawn with sensor noise, the VPT against its frames
  before the noise where the record has it (``vpt_clean_median``: the noise alone can put a perfect prediction
  over VPT's threshold); beside it the mean training frame's VPT over the same frames (``baseline_mean_frame_vpt``,
  the trivial prediction's): the drop is not judged where the plain cell's mean frame fills the horizon (no
  prediction can last longer: a lit background) or the plain VPT is no longer than it (a drop from it is no loss
  of dynamics), nor where the variant and its mean frame both fill the horizon (a tie VPT cannot break); a
  variant whose VPT is no longer than its own mean frame's misses;
  a record that predates the trivial VPT is judged as before and says so (``physvae bench --refresh-baselines``
  adds it from the data);
- the frames over which the predicted frames show the position better than the held and the mean frame and
  with R² > 0 (``position_valid_frames``, the physics front's VPT) on both, shown, not judged;
- the prediction MSE over the mean frame's on both (``pred_over_mean_frame``): unlike VPT, whose error is relative
  to the frames' own energy and so shrinks when the background is lit, it compares across backgrounds;
- whether the variant beats the trivial baselines and whether its training ended collapsed;
- whether both cells were trained with the same settings (the records' ``settings``): a comparison of a model
  trained one way with one trained another would measure the settings, not the variation, so any difference
  is a miss that names the fields;

and ``misses``: every tolerance the variant breaks, and every figure it could not judge because a record lacks it
(nothing passes for want of data). Only losses count: a variant that does better than the plain drawing misses
nothing. The plain cells get a row too, judged on collapse and the baselines alone; a variant whose plain cell
has not run says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from simulators import ConfigError, from_dict

from ..metrics.probe import POSITION_KINDS
from .flatten import flatten
from .settings import describe, differing

VELOCITY_KINDS = ("velocity",)
COLUMNS = [
    "r2_linear",
    "vpt_median",
    "vpt_clean_median",
    "baseline_mean_frame_vpt",
    "baseline_mean_frame_vpt_clean",
    "position_valid_frames",
    "pred_over_mean_frame",
    "beats_baselines",
]
PLAIN = "(plain)"  # the ``against`` of a plain cell's row


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


def _r2_drops(
    variant: dict, plain: dict, kinds: tuple[str, ...], probe: str = "linear"
) -> list[tuple[str, float, float]]:
    """(target, plain R², variant R²) for every target of ``kinds`` both records probed (``probe``: the physics
    section's "linear" posterior probe, its "rollout_linear" probe of the predicted latents or its
    "rollout_frames_linear" probe of the predicted frames)."""
    physics_v, physics_p = variant["metrics"].get("physics", {}), plain["metrics"].get("physics", {})
    r2_v, r2_p = _probe_r2(physics_v, probe), _probe_r2(physics_p, probe)
    kind_of = dict(zip(physics_v.get("targets", []), physics_v.get("kinds", [])))
    return [(n, r2_p[n], r2_v[n]) for n in r2_v if n in r2_p and kind_of.get(n) in kinds]


def _probe_r2(physics: dict, probe: str) -> dict[str, float]:
    """Target → R² of one reading in a record's physics section (``pixel_read``: of the predicted frames)."""
    if probe == "pixel_read":
        return physics.get("pixel_read", {}).get("predicted", {})
    return physics.get(probe, {}).get("r2", {})


def _add_curved(worst: dict | None, variant: dict, plain: dict) -> None:
    """Put the curved probe's R² of ``worst``'s target on both cells into ``worst["curved"]`` (plain, variant),
    where both records have it."""
    if worst is None:
        return
    r2 = [_probe_r2(r["metrics"].get("physics", {}), "curved").get(worst["target"]) for r in (plain, variant)]
    if None not in r2:
        worst["curved"] = {"plain": r2[0], "variant": r2[1]}


def _rollout_probe(variant: dict, plain: dict) -> str:
    """The first reading of the predictions both records have: the predicted frames' pixels, the predicted frames
    re-encoded by the model, the predicted latents."""
    for probe in ("pixel_read", "rollout_frames_linear"):
        if all(probe in r["metrics"].get("physics", {}) for r in (variant, plain)):
            return probe
    return "rollout_linear"


def _worst(rows: list[tuple[str, float, float]]) -> dict | None:
    if not rows:
        return None
    name, p, v = max(rows, key=lambda r: r[1] - r[2])
    return {"target": name, "plain": p, "variant": v, "drop": p - v}


def _row(record: dict, against: str) -> dict:
    """The fields every row has, from one cell record (the variant's, or the plain cell's own row)."""
    f = flatten(record, COLUMNS)
    return {
        "dataset": record["dataset"],
        "against": against,
        "model": record["model"],
        "seed": record["seed"],
        "position": None,
        "velocity": None,
        "rollout": None,
        "vpt": {"plain": None, "variant": _vpt(f)},
        # the mean training frame's VPT over the same frames (None: the record predates it)
        "vpt_mean_frame": {"plain": None, "variant": _mean_frame_vpt(f)},
        "horizon": {"plain": None, "variant": _horizon(record)},
        # the variant's VPT scored against its frames before sensor noise
        "vpt_clean": f.get("vpt_clean_median") is not None,
        "position_valid": {"plain": None, "variant": f.get("position_valid_frames")},
        "pred_over_mean_frame": {"plain": None, "variant": f.get("pred_over_mean_frame")},
        "beats_baselines": f.get("beats_baselines"),
        "collapsed": record.get("collapse", {}).get("at_end"),
    }


def _vpt(flat: dict):
    """A record's VPT against frames without sensor noise: its clean VPT where it has one (noisy data that kept
    its frames before the noise), else its VPT."""
    clean = flat.get("vpt_clean_median")
    return flat.get("vpt_median") if clean is None else clean


def _mean_frame_vpt(flat: dict):
    """The mean frame's VPT over the frames a record's VPT was scored against (``_vpt``): its clean VPT where
    the model's is clean, else its VPT; None where the record predates the trivial VPT (see ``refresh.py``)."""
    if flat.get("vpt_clean_median") is not None:
        return flat.get("baseline_mean_frame_vpt_clean")
    return flat.get("baseline_mean_frame_vpt")


def _horizon(record: dict):
    """The frames a record's prediction was scored over (None where it has no prediction)."""
    return record["metrics"].get("prediction", {}).get("horizon")


def _fills(mean, horizon) -> bool:
    """The mean frame's VPT fills the horizon: no prediction can last longer."""
    return mean is not None and bool(horizon) and mean >= horizon


def vpt_unjudged(c: dict) -> str | None:
    """Why the VPT drop cannot be judged on a comparison row, where the mean frame's VPT says so: on the plain cell
    it fills the horizon or the plain VPT is no longer than it (a positive one: a drop from it is no loss of
    dynamics), or on the variant both it and the variant's VPT fill the horizon (a tie VPT cannot break). None:
    judge it."""
    mean, model, horizon = c["vpt_mean_frame"], c["vpt"], c["horizon"]
    if _fills(mean["plain"], horizon["plain"]):
        return (
            f"the mean frame lasts the whole horizon on the plain cell ({mean['plain']:g} of {horizon['plain']:g} "
            "frames): VPT cannot tell a prediction from it there"
        )
    if mean["plain"] is not None and model["plain"] is not None and 0 < model["plain"] <= mean["plain"]:
        return f"the plain cell's VPT {model['plain']:g} is no longer than its mean frame's {mean['plain']:g}"
    if _fills(mean["variant"], horizon["variant"]) and _fills(model["variant"], horizon["variant"]):
        return (
            f"the variant and its mean frame both last the whole horizon ({horizon['variant']:g} frames): VPT "
            "cannot tell them apart"
        )
    return None


def mean_frame_misses(c: dict) -> list[str]:
    """A variant whose VPT is no longer than its own mean frame's (a positive one; a tie over the whole horizon
    excepted, which VPT cannot break): its prediction leaves VPT's threshold no later than the trivial one."""
    mean, frames, horizon = c["vpt_mean_frame"]["variant"], c["vpt"]["variant"], c["horizon"]["variant"]
    if mean is None or frames is None or not 0 < mean or frames > mean:
        return []
    if _fills(mean, horizon) and _fills(frames, horizon):
        return []
    shorter = "shorter than" if frames < mean else "no longer than"
    return [
        f"VPT {frames:g} {shorter} the variant's mean frame's {mean:g}: the prediction leaves VPT's threshold "
        "no later than drawing the mean training frame"
    ]


def compare(
    variant: dict, plain: dict, tol: Tolerances, judge_vpt: bool = True, dt: tuple[float, float] | None = None
) -> dict:
    """The comparison of one variant cell record with the plain cell record of the same model and seed;
    ``judge_vpt`` False leaves VPT unjudged (its unit differs, as on dropped frames). ``dt``: the plain and the
    variant data's frame intervals (s); where they differ VPT is also given in seconds and judged in them."""
    fp = flatten(plain, COLUMNS)
    out = _row(variant, plain["dataset"])
    out["position"] = _worst(_r2_drops(variant, plain, POSITION_KINDS))
    out["velocity"] = _worst(_r2_drops(variant, plain, VELOCITY_KINDS))
    for part in ("position", "velocity"):
        _add_curved(out[part], variant, plain)
    probe = _rollout_probe(variant, plain)
    kinds = POSITION_KINDS if probe == "pixel_read" else POSITION_KINDS + VELOCITY_KINDS
    out["rollout"] = _worst(_r2_drops(variant, plain, kinds, probe))
    if out["rollout"] is not None:
        out["rollout"]["probe"] = probe
    out["vpt"]["plain"] = _vpt(fp)
    out["vpt_mean_frame"]["plain"] = _mean_frame_vpt(fp)
    out["horizon"]["plain"] = _horizon(plain)
    out["position_valid"]["plain"] = fp.get("position_valid_frames")
    out["pred_over_mean_frame"]["plain"] = fp.get("pred_over_mean_frame")
    out["vpt_unjudged"] = vpt_unjudged(out) if judge_vpt else None
    out["vpt_judged"] = judge_vpt and out["vpt_unjudged"] is None
    out["vpt_mean_frame_misses"] = mean_frame_misses(out) if judge_vpt else []
    if dt is not None and dt[0] != dt[1]:
        frames = out["vpt"]
        out["vpt_seconds"] = {
            k: None if frames[k] is None else frames[k] * step
            for k, step in (("plain", dt[0]), ("variant", dt[1]))
        }
    out["misses"] = (
        _settings_misses(variant, plain)
        + _r2_misses(out, tol, variant)
        + _vpt_misses(out, tol)
        + out["vpt_mean_frame_misses"]
        + _health_misses(out)
    )
    return out


def _settings_misses(variant: dict, plain: dict) -> list[str]:
    """A miss when the two cells were not trained alike (or a record cannot say how it was trained)."""
    sv, sp = variant.get("settings"), plain.get("settings")
    if sv is None or sp is None:
        return [
            "no training settings in the " + ("plain record" if sp is None else "variant's record") + ": "
            "not known to be trained alike"
        ]
    diff = differing(sp, sv)
    if not diff:
        return []
    return [
        f"trained with other settings than its plain cell ({describe(diff)}): differences not the variation's alone"
    ]


def _r2_misses(c: dict, tol: Tolerances, variant: dict) -> list[str]:
    if "kinds" not in variant["metrics"].get("physics", {}):
        return [
            "the record has no state kinds (no states, or evaluated by an older physvae): R² not compared"
        ]
    if c["position"] is None and c["velocity"] is None:
        return ["no position or velocity R² on both cells: R² not compared"]
    misses = []
    for part, limit in (("position", tol.position), ("velocity", tol.velocity)):
        w = c[part]
        if w and not w["drop"] <= limit:
            misses.append(
                f"{w['target']} R² {w['variant']:.3f} vs {w['plain']:.3f} (drop {w['drop']:.3f} > {limit})"
                + _curved_reading(w.get("curved"), limit)
            )
    return misses


def _curved_reading(curved: dict | None, limit: float) -> str:
    """What the curved probe says of a linear-probe miss: held through a curved chart where the variant's drop
    there is within ``limit``, lost where it is not; nothing where a record lacks the curved probe."""
    if curved is None:
        return ""
    p, v = curved["plain"], curved["variant"]
    verdict = "held through a curved chart" if p - v <= limit else "lost at degree 3 too"
    return f"; degree-3 probe {v:.3f} vs {p:.3f}: {verdict}"


def _vpt_misses(c: dict, tol: Tolerances) -> list[str]:
    seconds = c.get("vpt_seconds")
    p, v = (seconds or c["vpt"])["plain"], (seconds or c["vpt"])["variant"]
    unit = " s" if seconds else ""
    if not c["vpt_judged"]:
        return []
    if p is None or v is None:
        return ["VPT missing on the " + ("plain cell" if p is None else "variant") + ": not compared"]
    if p > 0 and not (p - v) / p <= tol.vpt:
        return [f"VPT {v:g}{unit} vs {p:g}{unit} (drop {(p - v) / p:.0%} > {tol.vpt:.0%})"]
    return []


def _health_misses(c: dict) -> list[str]:
    """Collapse and the trivial baselines: judged on every cell, plain ones included."""
    misses = []
    if c["beats_baselines"] is None:
        misses.append("no baselines section in the record: not judged")
    elif c["beats_baselines"] < 1:
        misses.append("does not beat a trivial baseline (see its flags)")
    if c["collapsed"] is None:
        misses.append("no training collapse record: not judged")
    elif c["collapsed"]:
        misses.append("training ended collapsed")
    return misses


def comparisons(suite, records: list[dict]) -> list[dict]:
    """A row per plain cell (judged on collapse and the baselines) and per variant cell (against its plain cell,
    or saying that it has not run), for the datasets of ``suite`` that name or are named by an ``against``."""
    tol = Tolerances.from_suite(suite)
    entries = {d.name: d for d in suite.datasets}
    plains = {d.against for d in suite.datasets if d.against}
    by_key = {(r["dataset"], r["model"], r["seed"]): r for r in records}
    out = []
    for r in records:
        entry = entries.get(r["dataset"])
        if r["dataset"] in plains:
            row = _row(r, PLAIN)
            out.append({**row, "vpt_judged": False, "misses": _health_misses(row)})
        elif entry is not None and entry.against:
            plain = by_key.get((entry.against, r["model"], r["seed"]))
            if plain is None:
                row = _row(r, entry.against)
                out.append(
                    {**row, "vpt_judged": False, "misses": ["its plain cell has not run: not compared"]}
                )
            else:
                dt = (frame_interval(entries[entry.against]), frame_interval(entry))
                out.append(compare(r, plain, tol, judge_vpt=not entry.drop_frames, dt=dt))
    return out


def frame_interval(entry) -> float:
    """The Δt (s) between a suite dataset's frames, from its preset and overrides."""
    return float(entry.dataset_config().dt)


def _num(v) -> str:
    return "—" if v is None else f"{v:g}" if float(v).is_integer() else f"{v:.3f}"


def _drop(w: dict | None) -> str:
    if w is None:
        return "—"
    mark = {"rollout_linear": ", *latents*", "rollout_frames_linear": ", *re-read*"}.get(w.get("probe"), "")
    return f"{w['drop']:+.3f} ({w['target']}{mark})"


def _pair(values: dict, judged: bool = True, clean: bool = False, seconds: dict | None = None) -> str:
    text = (
        f"{_num(values['variant'])}"
        if values["plain"] is None
        else (f"{_num(values['plain'])} → {_num(values['variant'])}")
    )
    if seconds and None not in seconds.values():
        text += f" frames ({seconds['plain']:.3g} s → {seconds['variant']:.3g} s)"
    text += " (clean frames)" if clean else ""
    return text if judged else f"{text} (not judged)"


def _vpt_cell(c: dict, judged: bool) -> str:
    """The VPT column of a row: the model's VPT on both cells, then the mean frame's over the same frames ("mean
    frame's not on record" where a record predates it), then why it is not judged where it is not."""
    text = _pair(c["vpt"], True, c.get("vpt_clean", False), c.get("vpt_seconds"))
    mean = c.get("vpt_mean_frame")
    if mean is not None:
        known = mean["variant"] is not None and (c["against"] == PLAIN or mean["plain"] is not None)
        text += f"; mean frame {_pair(mean)}" if known else "; mean frame's not on record"
    if c.get("vpt_unjudged"):
        return f"{text} (not judged: {c['vpt_unjudged']})"
    return text if judged else f"{text} (not judged)"


def table(suite, rows: list[dict]) -> str:
    """Markdown: one row per judged cell, the tolerances and what each row misses; where the rows span several
    seeds, the model column names each row's seed (``LocallyLinear, seed 1``)."""
    tol = Tolerances.from_suite(suite)
    several = len({c["seed"] for c in rows}) > 1
    out = [
        "## Each variation against its plain dataset",
        "",
        "| dataset | against | model | R² drop, position/angle | R² drop, velocity | rollout R² drop (shown) "
        "| VPT plain → variant; the mean frame's | position valid frames, plain → variant (shown) "
        "| pred MSE / mean frame's, plain → variant | beats baselines | collapsed | misses |",
        "|---" * 12 + "|",
    ]
    for c in rows:
        vpt_judged = c["vpt_judged"] or c["against"] == PLAIN
        model = f"{c['model']}, seed {c['seed']}" if several else c["model"]
        out.append(
            f"| {c['dataset']} | {c['against']} | {model} | {_drop(c['position'])} | {_drop(c['velocity'])} "
            f"| {_drop(c.get('rollout'))} "
            f"| {_vpt_cell(c, vpt_judged)} "
            f"| {_pair(c['position_valid']) if 'position_valid' in c else '—'} "
            f"| {_pair(c['pred_over_mean_frame'])} "
            f"| {_num(c['beats_baselines'])} "
            f"| {'—' if c['collapsed'] is None else ('yes' if c['collapsed'] else 'no')} "
            f"| {'; '.join(c['misses']) or 'none'} |"
        )
    out += [
        "",
        f"Tolerances (drops only; a better variant misses nothing): position/angle R² {tol.position}, velocity R² "
        f"{tol.velocity}, VPT {tol.vpt:.0%} of the plain VPT (in seconds where the frame rates differ; not judged "
        "where the plain VPT is 0, nor on dropped frames, whose VPT counts kept frames, nor where the mean "
        "training frame's VPT over the same frames fills the plain cell's horizon or matches its VPT, or where "
        "the variant and its mean frame both fill the horizon: VPT cannot tell those predictions from the mean "
        "frame; a variant whose VPT is no longer than its own mean frame's misses; *clean frames*: a noisy "
        "variant's VPT scored against its frames before the noise, its mean frame's too). R² is the linear "
        "probe's (DVBF's protocol); "
        "an R² miss also gives its target's *degree-3 probe* (ridge on degree-3 features of the latents' top 8 "
        "principal components) on both cells: *held through a curved chart* where the drop there is within the "
        "tolerance, *lost* where not; the miss stands either way. Position valid frames (the leading frames whose "
        "predicted frames show the position better than the held and the mean frame, and with R² > 0, at that "
        "frame, read by the pixel reader) are shown, not judged. The rollout R² drop (worst position target "
        "read from the predicted frames' pixels with no model; marked *re-read* where a record predates that "
        "reading and the worst position or velocity target of the predicted frames re-encoded by the model was "
        "read, *latents* where the predicted latents were) is shown, not judged. Plain rows are judged on collapse "
        "and the baselines "
        "alone. VPT's "
        "error is relative to the frames' own energy, so a lit background lengthens it: compare the mean-frame "
        "ratio (below 1 beats the mean frame) across backgrounds.",
        "",
    ]
    return "\n".join(out)
