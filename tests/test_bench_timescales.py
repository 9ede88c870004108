"""benchmarks.bench_timescales: its table's predictive-mean column and scoring a kept run again."""

import json

import pytest

from benchmarks.bench_timescales import _trained, table
from physvae import RunConfig
from simulators import ConfigError


def _row(model: str, sampled: float | None) -> dict:
    long = {"mse": 0.02, "mean_frame_mse": 0.0279, "vpt_median": 0.0}
    if sampled is not None:
        long["sampled_mse"] = sampled
    return {
        "model": model,
        "seed": 0,
        "train_s": 10.0,
        "pred_mse": 0.018,
        "r2": {"all": {"g": 0.5}},
        "r2_within": {"all": {"g": 0.1}},
        "long_horizon": long,
        "sequence_mean_baseline": {"g": 0.83},
        "time_baseline": {"r2": {"g": 0.0}, "r2_within": {"g": 0.0}},
    }


def test_the_table_adds_the_predictive_mean_column_only_where_it_was_measured():
    plain = table([_row("a", None)], "g")
    assert "sampled" not in plain
    lines = table([_row("a", 0.0194), _row("b", None)], "g").splitlines()
    assert lines[0].endswith("| MSE 2nd half, sampled |")
    assert lines[2].endswith("| 0.0194 |") and lines[3].endswith("| – |")
    assert lines[-1].startswith("| baseline: mean training frame") and lines[-1].endswith("| 0.0279 |")


def test_reuse_scores_the_kept_run_and_refuses_one_of_another_config(pend16, tmp_path):
    cfg = RunConfig().with_overrides(
        [
            f"train.data={json.dumps(str(pend16))}",
            "model.channels=4",
            "model.features=8",
            "model.rnn_hidden=8",
            "train.steps=2",
            "train.batch_size=4",
        ]
    )
    run, seconds = _trained(cfg, tmp_path / "run", reuse=True)  # nothing there yet: trained
    assert seconds > 0
    weights = (tmp_path / "run" / "model.pt").stat().st_mtime_ns
    _, kept = _trained(cfg, tmp_path / "run", reuse=True)
    assert (tmp_path / "run" / "model.pt").stat().st_mtime_ns == weights  # not trained again
    assert kept == pytest.approx(run.summary()["train_seconds"])
    other = RunConfig().with_overrides([f"train.data={json.dumps(str(pend16))}"])
    with pytest.raises(ConfigError, match="trained under another config"):
        _trained(other, tmp_path / "run", reuse=True)
