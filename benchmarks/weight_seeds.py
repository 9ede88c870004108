"""The prediction term's weight judged over seeds: pairs of record folders pooled cell by cell.

    R=benchmarks/results
    python -m benchmarks.weight_seeds \
        --pair $R/quick_rel05_cpu2:$R/quick_cpu2 --pair $R/quick_rel05_cpu2:$R/quick_seeds12_cpu2 \
        --pair $R/quick_rel05_cpu2:$R/quick_pw025_cpu2 --pair $R/quick_rel05_cpu2:$R/quick_pw025_seeds12_cpu2 \
        --pair $R/robustness_rel05_cpu2:$R/robustness_auto_cpu2 \
        --pair $R/robustness_rel05_cpu2:$R/robustness_auto_seeds12_cpu2 \
        --pair $R/robustness_rel05_cpu2:$R/robustness_auto_seed1_cpu2 \
        --pair $R/robustness_rel05_cpu2:$R/robustness_w025_cpu2 \
        --pair $R/robustness_rel05_cpu2:$R/robustness_w025_seeds12_cpu2 \
        --pair $R/robustness_rel05_cpu2:$R/robustness_w025_seed1_cpu2 \
        --pair $R/quick_cpu2:$R/quick_pw025_cpu2 --pair $R/quick_seeds12_cpu2:$R/quick_pw025_seeds12_cpu2 \
        --pair $R/robustness_auto_cpu2:$R/robustness_w025_cpu2 \
        --pair $R/robustness_auto_seeds12_cpu2:$R/robustness_w025_seeds12_cpu2 \
        --pair $R/robustness_auto_seed1_cpu2:$R/robustness_w025_seed1_cpu2

(the command that wrote benchmarks/results/weight_seeds_cpu2.md: the pendulum LocallyLinear cells, seeds 0-2, and
the robustness box drawn as a bar, seeds 0-1, at the default start weight, at 0.25 from the first step and with the
start weight released at half the data's spread, ``train.predict_weight_release = 0.5``).

One seed cannot tell a weight from luck: two weights that differ over ~100 of 1000 steps moved the quick pendulum's
prediction MSE from 0.13× to 0.29× the mean frame's on seed 0, 0.19× to 0.25× on the mean of three. Each
``--pair NEW:BASE`` is read as in ``benchmarks.predict_weight_suites`` (the same cell of two folders trained at two
weights); the pairs are pooled
by suite, cell without its seed, and the two weights, and every pool of two seeds or more gets one row: for each
figure the mean over the seeds on both sides and on how many seeds the new weight did better (prediction MSE over
the mean frame's: lower; VPT and the worst position, velocity and rollout position R²: higher; the damping at rest:
nearer the data's), each seed's prediction MSE and damping, and the seeds that collapsed or fail the trivial
baselines. A seed found twice in one pool is refused (two records of one seed would count it twice). Writes
benchmarks/results/weight_seeds_<machine>.{json,md}.
"""

from __future__ import annotations

import argparse
from statistics import mean

from physvae.bench.against import _num
from simulators import ConfigError

from .machine import markdown_table, run_main, write_result
from .predict_weight_suites import folder_pair, pair_rows

# figure -> how the new weight does better: +1 higher, -1 lower, 0 nearer the data's value (true_<figure>)
BETTER = {"pred_over_mean_frame": -1, "vpt": 1, "position_r2": 1, "velocity_r2": 1, "rollout_position_r2": 1,
          "damping": 0}  # fmt: skip


def pools(rows: list[dict]) -> dict[tuple, dict[int, dict]]:
    """{(suite, cell without seed, base weight, new weight): {seed: row}}; ConfigError names a seed found twice."""
    out: dict[tuple, dict[int, dict]] = {}
    for r in rows:
        seed, stem = r["seed"], f"{r['dataset']}__{r['model']}"  # the record's fields, not its cell id parsed
        key = (r["suite"], stem, r["base"]["predict_weight"], r["new"]["predict_weight"])
        pool = out.setdefault(key, {})
        if seed in pool:
            raise ConfigError(
                f"{r['cell']} ({key[2]} → {key[3]}) is paired twice: against {pool[seed]['against']} and "
                f"{r['against']}; give one pair per seed"
            )
        pool[seed] = r
    return out


def _better(figure: str, new: dict, base: dict) -> bool | None:
    """Whether the new side did better on ``figure`` (None: a side lacks it)."""
    n, b = new.get(figure), base.get(figure)
    if n is None or b is None:
        return None
    if BETTER[figure]:
        return BETTER[figure] * (n - b) > 0
    truth = new.get(f"true_{figure}")
    return None if truth is None else abs(n - truth) < abs(b - truth)


def _mean(values: list) -> float | None:
    kept = [v for v in values if v is not None]
    return mean(kept) if kept else None


def summary(key: tuple, pool: dict[int, dict]) -> dict:
    """One pool's means, wins and health (see the module's docstring)."""
    seeds = sorted(pool)
    rows = [pool[s] for s in seeds]
    figures = {}
    for figure in BETTER:
        wins = [_better(figure, r["new"], r["base"]) for r in rows]
        figures[figure] = {
            "base": _mean([r["base"][figure] for r in rows]),
            "new": _mean([r["new"][figure] for r in rows]),
            "new_better": sum(w is True for w in wins),
            "compared": sum(w is not None for w in wins),
        }
    unhealthy = {
        side: [s for s, r in zip(seeds, rows) if r[side]["collapsed"] or r[side]["beats_baselines"] == 0]
        for side in ("base", "new")
    }
    return {
        "suite": key[0],
        "cell": key[1],
        "weights": [key[2], key[3]],
        "seeds": seeds,
        "figures": figures,
        "by_seed": {
            s: {side: {f: r[side][f] for f in BETTER} for side in ("base", "new")} for s, r in pool.items()
        },
        "true_damping": rows[0]["new"].get("true_damping"),
        "collapsed_or_fails_baselines": unhealthy,
        "other_settings": sorted({r["other_settings"] for r in rows if r["other_settings"]}),
    }


def _cell(f: dict) -> str:
    return f"{_num(f['base'])} → {_num(f['new'])} ({f['new_better']}/{f['compared']})"


def table(summaries: list[dict]) -> str:
    cols = ["suite", "cell", "weight", "seeds", "pred / mean frame", "VPT", "worst position R²",
            "worst velocity R²", "worst rollout position R²", "γ at rest (data)", "each seed: pred, γ",
            "collapsed or fails baselines", "note"]  # fmt: skip
    out = []
    for s in summaries:
        f = s["figures"]
        by_seed = "; ".join(
            f"s{seed} {_num(v['base']['pred_over_mean_frame'])} → {_num(v['new']['pred_over_mean_frame'])}, "
            f"γ {_num(v['base']['damping'])} → {_num(v['new']['damping'])}"
            for seed, v in sorted(s["by_seed"].items())
        )
        bad = s["collapsed_or_fails_baselines"]
        out.append(
            [
                s["suite"],
                s["cell"],
                " → ".join(s["weights"]),
                ", ".join(map(str, s["seeds"])),
                _cell(f["pred_over_mean_frame"]),
                _cell(f["vpt"]),
                _cell(f["position_r2"]),
                _cell(f["velocity_r2"]),
                _cell(f["rollout_position_r2"]),
                f"{_cell(f['damping'])} ({_num(s['true_damping'])})",
                by_seed,
                f"seeds {bad['base'] or 'none'} → {bad['new'] or 'none'}",
                f"also differs: {'; '.join(s['other_settings'])}" if s["other_settings"] else "",
            ]
        )
    note = (
        "\n\nEach figure: its mean over the seeds at the first weight → at the second (on how many seeds the second"
        " did better: prediction MSE lower; VPT and R² higher; the damping at rest nearer the data's)."
    )
    return markdown_table(cols, out) + note


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pair", type=folder_pair, action="append", required=True, help="NEW:BASE suite folders")
    args = p.parse_args()
    rows = [r for new, base in args.pair for r in pair_rows(new, base)]
    summaries = [summary(k, pool) for k, pool in pools(rows).items() if len(pool) >= 2]
    if not summaries:
        raise ConfigError(
            "no cell is paired on two seeds or more; give a pair of folders per seed (or seeds)"
        )
    text = table(summaries)
    print(text)
    pairs = [{"new": str(new), "base": str(base)} for new, base in args.pair]
    for path in write_result("weight_seeds", {"pairs": pairs, "pools": summaries}, text):
        print(f"wrote {path}")


if __name__ == "__main__":
    run_main(main, "weight_seeds")
