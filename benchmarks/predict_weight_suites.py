"""The prediction term's weight on the suites: cells trained at another weight against the committed records.

    python -m benchmarks.predict_weight_suites --pair bench_out/pw/quick_pw025:benchmarks/results/quick_cpu2 \
        [--pair NEW:BASE ...] [--publish]

``benchmarks.predict_weight`` swept the weight on one cell (the quick pendulum's LocallyLinear); a default is chosen
on the suites. Each ``--pair`` names a suite folder trained at another weight (a copy of a suite file with only
``train.predict_weight`` changed, run by ``physvae bench``) and the folder of the committed record it is set
against. Every cell both folders finished gets one row: the weight each was trained with (from the records'
``settings``; any other settings difference is named, since it would be measured too), VPT (against the frames
before sensor noise where the record has them) beside the mean training frame's, the prediction MSE over the mean
frame's, the frames over which the predictions show the position (``position_valid_frames``), the worst linear-probe
R² of a position and of a velocity, the learned frequency and damping at rest against the data's (where the data
have them), and whether training ended collapsed or the cell fails the trivial baselines; a cell whose record is
the same in both folders (copied, not trained again) is left out. ``--publish`` copies each new folder's records
and report to ``benchmarks/results/<its folder name>_<machine>/``. Writes
benchmarks/results/predict_weight_suites_<machine>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from physvae.bench.against import VELOCITY_KINDS, _num
from physvae.bench.flatten import flatten
from physvae.bench.settings import describe, differing
from physvae.metrics.probe import POSITION_KINDS
from simulators import ConfigError

from .machine import RESULTS, machine, machine_tag, markdown_table, run_main, write_result

COLUMNS = ["vpt_median", "vpt_clean_median", "baseline_mean_frame_vpt", "baseline_mean_frame_vpt_clean",
           "pred_over_mean_frame", "position_valid_frames", "beats_baselines"]  # fmt: skip


def _records(folder: Path) -> dict[str, dict]:
    """{cell id: record} of a suite folder's finished cells; ConfigError names a folder without any."""
    cells = sorted((folder / "cells").glob("*.json"))
    if not cells:
        raise ConfigError(
            f"{folder}: no cell records (expected {folder}/cells/<cell>.json from physvae bench)"
        )
    return {p.stem: json.loads(p.read_text()) for p in cells}


def _worst_r2(record: dict, kinds: tuple[str, ...], probe: str = "linear") -> float | None:
    """The lowest linear-probe R² over the targets of ``kinds`` (None: the record has none); ``probe``
    "linear" reads the posterior's probe, "rollout_linear" the same probe on the latents the model rolls out."""
    physics = record["metrics"].get("physics", {})
    kind_of = dict(zip(physics.get("targets", []), physics.get("kinds", [])))
    r2 = physics.get(probe, {}).get("r2", {})
    values = [v for n, v in r2.items() if kind_of.get(n) in kinds]
    return min(values) if values else None


def side(record: dict) -> dict:
    """The figures of one cell record that the comparison shows."""
    f = flatten(record, COLUMNS)
    clean = f.get("vpt_clean_median") is not None
    recovered = record["metrics"].get("dynamics", {}).get("recovered", {})
    return {
        "predict_weight": weight_label(record["settings"]["train"]),
        "vpt": f.get("vpt_clean_median" if clean else "vpt_median"),
        "vpt_mean_frame": f.get("baseline_mean_frame_vpt_clean" if clean else "baseline_mean_frame_vpt"),
        "vpt_clean": clean,
        "pred_over_mean_frame": f.get("pred_over_mean_frame"),
        "position_valid_frames": f.get("position_valid_frames"),
        "position_r2": _worst_r2(record, POSITION_KINDS),
        "velocity_r2": _worst_r2(record, VELOCITY_KINDS),
        "rollout_position_r2": _worst_r2(record, POSITION_KINDS, "rollout_linear"),
        "frequency": recovered.get("natural_frequency", {}).get("learned"),
        "damping": recovered.get("damping", {}).get("learned"),
        "true_frequency": recovered.get("natural_frequency", {}).get("true"),
        "true_damping": recovered.get("damping", {}).get("true"),
        "collapsed": record.get("collapse", {}).get("at_end"),
        "beats_baselines": f.get("beats_baselines"),
    }


def weight_label(train: dict) -> str:
    """The prediction term's weight a record trained with: "0.25", or "1↘0.25" where a start weight
    (``predict_weight_start``, absent before 2026-12-07: none) came before it (held while the decoder drew one
    frame; in records of 2026-12-07 made before 90a86b1, falling with the steps: ``predict_weight_fall``), with
    " by s 0.5" where it was released at a decoded spread other than the data's (``predict_weight_release``,
    absent before 2026-12-08: 1)."""
    weight, start = train["predict_weight"], train.get("predict_weight_start", 0.0)
    if start <= weight:
        return f"{weight:g}"
    release = train.get("predict_weight_release", 1.0)
    return f"{start:g}↘{weight:g}" + (f" by s {release:g}" if release != 1.0 else "")


# the fields of the weight (predict_weight_fall: records made before 90a86b1)
WEIGHT_FIELDS = ("train.predict_weight", "train.predict_weight_start", "train.predict_weight_release",
                 "train.predict_weight_fall")  # fmt: skip


def _other_settings(new: dict, base: dict) -> str | None:
    """The settings the two records differ in besides the prediction term's weight (None: none)."""
    diff = [d for d in differing(base["settings"], new["settings"]) if d[0] not in WEIGHT_FIELDS]
    return describe(diff) if diff else None


def pair_rows(new_folder: Path, base_folder: Path) -> list[dict]:
    """One row per cell both folders finished, in cell order; a cell whose record is the same in both (copied
    into the new folder, as a suite at new defaults keeps the cells the change leaves alone) is no comparison."""
    new, base = _records(new_folder), _records(base_folder)
    shared = [c for c in new if c in base and new[c] != base[c]]
    if not shared:
        raise ConfigError(f"{new_folder} and {base_folder} share no finished cell trained apart")
    return [
        {
            "suite": new[c]["suite"],
            "against": base_folder.name,
            "cell": c,
            "dataset": new[c]["dataset"],
            "model": new[c]["model"],
            "seed": new[c]["seed"],
            "new": side(new[c]),
            "base": side(base[c]),
            "other_settings": _other_settings(new[c], base[c]),
        }
        for c in shared
    ]


def _both(row: dict, key: str) -> str:
    return f"{_num(row['base'][key])} → {_num(row['new'][key])}"


def _health(s: dict) -> str:
    bad = ["collapsed"] * bool(s["collapsed"]) + ["fails baselines"] * (s["beats_baselines"] == 0)
    return ", ".join(bad) or "ok"


def table(rows: list[dict]) -> str:
    cols = ["suite", "against", "cell", "weight", "VPT (mean frame's)", "pred / mean frame",
            "position valid frames", "worst position R²", "worst velocity R²", "ω₀ at rest (data)",
            "γ at rest (data)", "health", "note"]  # fmt: skip
    out = []
    for r in rows:
        b, n = r["base"], r["new"]
        out.append(
            [
                r["suite"],
                r["against"],
                r["cell"],
                f"{b['predict_weight']} → {n['predict_weight']}",
                f"{_both(r, 'vpt')} ({_num(n['vpt_mean_frame'])}){' clean' if n['vpt_clean'] else ''}",
                _both(r, "pred_over_mean_frame"),
                _both(r, "position_valid_frames"),
                _both(r, "position_r2"),
                _both(r, "velocity_r2"),
                f"{_both(r, 'frequency')} ({_num(n['true_frequency'])})",
                f"{_both(r, 'damping')} ({_num(n['true_damping'])})",
                f"{_health(b)} → {_health(n)}",
                f"also differs: {r['other_settings']}" if r["other_settings"] else "",
            ]
        )
    return markdown_table(cols, out)


def publish(folder: Path) -> Path:
    """Copy a suite folder's records and report to benchmarks/results/<folder name>_<machine>/."""
    dest = RESULTS / f"{folder.name}_{machine_tag(machine())}"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(dest / "cells", ignore_errors=True)
    shutil.copytree(folder / "cells", dest / "cells")
    for name in ("results.md", "results.csv", "results.json", "against.md", "against.json", "suite.toml",
                 "comparison.png"):  # fmt: skip
        if (folder / name).is_file():
            shutil.copy2(folder / name, dest / name)
    return dest


def folder_pair(text: str) -> tuple[Path, Path]:
    new, sep, base = text.partition(":")
    if not sep or not new or not base:
        raise argparse.ArgumentTypeError(f"--pair wants NEW:BASE (two suite folders), got {text!r}")
    return Path(new), Path(base)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pair", type=folder_pair, action="append", required=True, help="NEW:BASE suite folders")
    p.add_argument("--publish", action="store_true", help="copy each NEW folder to benchmarks/results/")
    args = p.parse_args()
    rows = [r for new, base in args.pair for r in pair_rows(new, base)]
    text = table(rows)
    print(text)
    if args.publish:
        for new, _ in args.pair:
            print(f"published {publish(new)}")
    pairs = [{"new": str(new), "base": str(base)} for new, base in args.pair]
    for path in write_result("predict_weight_suites", {"pairs": pairs, "rows": rows}, text):
        print(f"wrote {path}")


if __name__ == "__main__":
    run_main(main, "predict_weight_suites")
