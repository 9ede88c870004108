"""benchmarks.weight_seeds: pairs of records at two weights pooled over seeds, means and wins counted by hand."""

import copy
import json
from pathlib import Path

import pytest

from benchmarks.predict_weight_suites import pair_rows
from benchmarks.weight_seeds import pools, summary, table
from simulators import ConfigError

RECORD = (
    Path(__file__).resolve().parent.parent
    / "benchmarks/results/quick_cpu2/cells/pendulum__LocallyLinear__s0.json"
)


def _record(seed: int, weight: float, pred: float, damping: float) -> dict:
    """A real cell record made over: this seed, weight, prediction MSE over the mean frame's and damping at rest."""
    r = json.loads(RECORD.read_text())
    r["cell"], r["seed"] = f"pendulum__LocallyLinear__s{seed}", seed
    r["settings"]["train"].update(predict_weight=weight, predict_weight_start=0.0)
    r["metrics"]["baselines"]["pred_over_mean_frame"] = pred
    r["metrics"]["dynamics"]["recovered"]["damping"]["learned"] = damping
    return r


def _write(folder: Path, record: dict) -> Path:
    (folder / "cells").mkdir(parents=True, exist_ok=True)
    (folder / "cells" / f"{record['cell']}.json").write_text(json.dumps(record))
    return folder


def _rows(tmp_path: Path, figures: dict[int, tuple]) -> list[dict]:
    """One pair of folders per seed: {seed: (pred at 1, pred at 0.25, damping at 1, damping at 0.25)}."""
    rows = []
    for seed, (pred1, pred4, damp1, damp4) in figures.items():
        base = _write(tmp_path / f"w1_s{seed}", _record(seed, 1.0, pred1, damp1))
        new = _write(tmp_path / f"w025_s{seed}", _record(seed, 0.25, pred4, damp4))
        rows += pair_rows(new, base)
    return rows


def test_a_pool_gives_the_means_over_seeds_and_on_how_many_the_new_weight_did_better(tmp_path):
    # the data's damping at rest is 0.5: seed 0 nearer at 0.25 (0.4 vs 0.1), seed 1 farther (0.9 vs 0.6)
    rows = _rows(tmp_path, {0: (0.3, 0.2, 0.1, 0.4), 1: (0.1, 0.4, 0.6, 0.9)})
    [(key, pool)] = pools(rows).items()
    assert key == ("quick", "pendulum__LocallyLinear", "1", "0.25") and sorted(pool) == [0, 1]
    s = summary(key, pool)
    pred, damping = s["figures"]["pred_over_mean_frame"], s["figures"]["damping"]
    assert pred["base"] == pytest.approx(0.2) and pred["new"] == pytest.approx(0.3)
    assert (pred["new_better"], pred["compared"]) == (1, 2)  # lower is better: seed 0 only
    assert damping["new"] == pytest.approx(0.65) and (damping["new_better"], damping["compared"]) == (1, 2)
    # figures the two weights share (the same record made over) are better on no seed
    assert s["figures"]["vpt"]["new_better"] == 0 and s["figures"]["vpt"]["compared"] == 2
    assert s["collapsed_or_fails_baselines"] == {"base": [], "new": []}
    text = table([s])
    assert "| 1 → 0.25 | 0, 1 |" in text and "| 0.200 → 0.300 (1/2) |" in text
    assert "s0 0.300 → 0.200, γ 0.100 → 0.400; s1 0.100 → 0.400, γ 0.600 → 0.900" in text


def test_a_seed_paired_twice_in_one_pool_is_refused_by_name(tmp_path):
    rows = _rows(tmp_path, {0: (0.3, 0.2, 0.1, 0.4)})
    again = copy.deepcopy(rows[0])
    again["against"] = "another_folder"
    with pytest.raises(ConfigError, match="pendulum__LocallyLinear__s0 .* paired twice: .*another_folder"):
        pools(rows + [again])


def test_seeds_are_pooled_by_the_records_fields_not_by_the_cell_id(tmp_path):
    rows = _rows(tmp_path, {0: (0.3, 0.2, 0.1, 0.4), 1: (0.1, 0.4, 0.6, 0.9)})
    for r in rows:
        r["cell"] = "renamed"  # the id is not parsed: dataset, model and seed come from the record
    [(key, pool)] = pools(rows).items()
    assert key[1] == "pendulum__LocallyLinear" and sorted(pool) == [0, 1]
