"""Records that predate a trivial figure get it from their data: fields added, nothing else changed, a record
whose data cannot be made again refused by name (the suite end to end is in test_bench.py)."""

import copy

import pytest

from physvae.bench.refresh import disagreement, missing_fields, refresh_record

TRIVIAL = {
    "mean_frame": {"recon_mse": 0.02, "pred_mse": 0.03, "vpt_median": 45.0},
    "hold_last": {"pred_mse": 0.05, "vpt_median": 2.0},
}


def _record(vpt: float = 10.0) -> dict:
    """A record evaluated before the trivial VPT: the baselines' MSEs, no VPT."""
    return {
        "cell": "grey__LL__s0",
        "metrics": {
            "prediction": {"vpt_median": vpt, "horizon": 45},
            "baselines": {
                "mean_frame": {"recon_mse": 0.02, "pred_mse": 0.03},
                "hold_last": {"pred_mse": 0.05},
                "beats_all": 1.0,
            },
        },
    }


def test_the_missing_trivial_figures_are_added_and_nothing_else_changes():
    record = _record()
    before = copy.deepcopy(record)
    assert missing_fields(record["metrics"]["baselines"], TRIVIAL) == [
        "mean_frame.vpt_median",
        "hold_last.vpt_median",
    ]
    added = refresh_record(record, TRIVIAL, source="abc123")
    base = record["metrics"]["baselines"]
    assert added == ["mean_frame.vpt_median", "hold_last.vpt_median"]
    assert base["mean_frame"]["vpt_median"] == 45.0 and base["hold_last"]["vpt_median"] == 2.0
    assert base["refreshed"] == {"fields": added, "source": "abc123"}
    # the model's VPT 10 against the mean frame's 45: VPT says nothing here, and the record now says so
    assert base["vpt_uninformative"].startswith(
        "VPT cannot tell this prediction from the mean training frame"
    )
    for key in ("recon_mse", "pred_mse"):
        assert base["mean_frame"][key] == before["metrics"]["baselines"]["mean_frame"][key]
    assert record["metrics"]["prediction"] == before["metrics"]["prediction"]
    assert (
        refresh_record(record, TRIVIAL) == [] and base["refreshed"]["source"] == "abc123"
    )  # a second time: nothing


def test_a_record_the_data_do_not_reproduce_is_refused_naming_the_figure():
    record = _record()
    other = copy.deepcopy(TRIVIAL)
    other["hold_last"]["pred_mse"] = 0.0501  # 0.2 % off: other frames
    assert disagreement(record["metrics"]["baselines"], other) == (
        "hold_last.pred_mse 0.05 on record, 0.0501 from the data made again"
    )
    before = copy.deepcopy(record)
    with pytest.raises(
        ValueError, match=r"grey__LL__s0: not the data it was evaluated on \(hold_last.pred_mse"
    ):
        refresh_record(record, other)
    assert record == before
    close = copy.deepcopy(TRIVIAL)
    close["hold_last"]["pred_mse"] = 0.05 * (1 + 1e-7)  # float summation's difference: the same data
    assert disagreement(record["metrics"]["baselines"], close) is None


def test_no_note_where_the_model_outlasts_the_mean_frame():
    record = _record(vpt=45.0)
    trivial = copy.deepcopy(TRIVIAL)
    trivial["mean_frame"]["vpt_median"] = 3.0
    refresh_record(record, trivial)
    assert "vpt_uninformative" not in record["metrics"]["baselines"]


def test_a_folder_without_cell_records_is_refused_by_name(tmp_path, capsys):
    from physvae.cli import main

    assert main(["bench", "--suite", "smoke", "--out", str(tmp_path / "none"), "--refresh-baselines"]) == 2
    err = capsys.readouterr().err
    assert f"no finished cell records in {tmp_path / 'none' / 'cells'}: nothing to refresh" in err
    assert not (tmp_path / "none" / "results.md").exists()
