"""benchmarks.predict_weight_suites: cells trained at another weight set row by row against their base records."""

import copy
import json
from pathlib import Path

import pytest

from benchmarks.predict_weight_suites import pair_rows, side, table
from simulators import ConfigError

RECORD = (
    Path(__file__).resolve().parent.parent
    / "benchmarks/results/quick_cpu2/cells/pendulum__LocallyLinear__s0.json"
)


def _write(folder: Path, record: dict) -> None:
    (folder / "cells").mkdir(parents=True, exist_ok=True)
    (folder / "cells" / f"{record['cell']}.json").write_text(json.dumps(record))


@pytest.fixture
def base() -> dict:
    """A real cell record, as if trained at weight 1."""
    record = json.loads(RECORD.read_text())
    record["settings"]["train"]["predict_weight"] = 1.0
    record["settings"]["train"]["predict_weight_start"] = 0.0  # no start weight
    return record


def _reweighted(record: dict, weight: float, vpt: float) -> dict:
    new = copy.deepcopy(record)
    new["settings"]["train"]["predict_weight"] = weight
    new["metrics"]["prediction"]["vpt_median"] = vpt
    return new


def test_a_side_reads_the_worst_position_and_velocity_and_the_dynamics(base):
    s = side(base)
    physics = base["metrics"]["physics"]
    r2 = physics["linear"]["r2"]
    kinds = dict(zip(physics["targets"], physics["kinds"]))
    assert s["position_r2"] == min(r2[n] for n in ("sin_theta", "cos_theta", "x", "y"))
    assert s["velocity_r2"] == r2["omega"] and kinds["omega"] == "velocity"
    recovered = base["metrics"]["dynamics"]["recovered"]
    assert s["damping"] == recovered["damping"]["learned"] and s["true_damping"] == 0.5
    assert s["vpt"] == base["metrics"]["prediction"]["vpt_median"] and not s["vpt_clean"]
    assert s["predict_weight"] == "1"


def test_rows_pair_the_same_cell_and_name_any_other_setting(tmp_path, base):
    _write(tmp_path / "base", base)
    _write(tmp_path / "new", _reweighted(base, 0.25, 17.0))
    [row] = pair_rows(tmp_path / "new", tmp_path / "base")
    assert row["cell"] == base["cell"] and row["other_settings"] is None
    assert (row["base"]["predict_weight"], row["new"]["predict_weight"]) == ("1", "0.25")
    assert row["new"]["vpt"] == 17.0 and row["base"]["vpt"] == base["metrics"]["prediction"]["vpt_median"]
    assert "| 1 → 0.25 |" in table([row])

    other = _reweighted(base, 0.25, 17.0)
    other["settings"]["model"]["latent_dim"] = 8
    _write(tmp_path / "new", other)
    [row] = pair_rows(tmp_path / "new", tmp_path / "base")
    assert row["other_settings"] == "model.latent_dim 32 → 8"
    assert "also differs: model.latent_dim 32 → 8" in table([row])


def test_an_early_weight_is_shown_as_part_of_the_weight_not_as_another_setting(tmp_path, base):
    at_quarter = _reweighted(base, 0.25, 15.0)
    falling = _reweighted(base, 0.25, 17.0)
    falling["settings"]["train"].update(predict_weight_start=1.0, predict_weight_fall=0.75)
    _write(tmp_path / "base", at_quarter)
    _write(tmp_path / "new", falling)
    [row] = pair_rows(tmp_path / "new", tmp_path / "base")
    assert row["other_settings"] is None and "| 0.25 → 1↘0.25 |" in table([row])


def test_a_release_before_the_data_spread_is_part_of_the_weight(tmp_path, base):
    held = _reweighted(base, 0.25, 15.0)
    held["settings"]["train"].update(predict_weight_start=1.0)
    released = _reweighted(base, 0.25, 17.0)
    released["settings"]["train"].update(predict_weight_start=1.0, predict_weight_release=0.5)
    _write(tmp_path / "base", held)
    _write(tmp_path / "new", released)
    [row] = pair_rows(tmp_path / "new", tmp_path / "base")
    assert row["other_settings"] is None and "| 1↘0.25 → 1↘0.25 by s 0.5 |" in table([row])
    assert (row["dataset"], row["model"], row["seed"]) == (base["dataset"], base["model"], base["seed"])


def test_folders_without_records_or_without_a_shared_cell_are_refused_by_name(tmp_path, base):
    _write(tmp_path / "base", base)
    with pytest.raises(ConfigError, match="empty: no cell records"):
        (tmp_path / "empty").mkdir()
        pair_rows(tmp_path / "empty", tmp_path / "base")
    other = copy.deepcopy(base)
    other["cell"] = "box__LocallyLinear__s0"
    _write(tmp_path / "new", other)
    with pytest.raises(ConfigError, match="share no finished cell"):
        pair_rows(tmp_path / "new", tmp_path / "base")
    _write(tmp_path / "new", base)  # the same record copied into the new folder: not a comparison
    with pytest.raises(ConfigError, match="share no finished cell trained apart"):
        pair_rows(tmp_path / "new", tmp_path / "base")
    _write(tmp_path / "new", _reweighted(base, 0.25, 17.0))
    assert [r["cell"] for r in pair_rows(tmp_path / "new", tmp_path / "base")] == [base["cell"]]
