"""A training session says once what it will cost: timed after its first step, a warning where it is long on a
CPU, nothing for a session too short to time."""

import pytest

from physvae.cost import LONG, TIMED, CostEstimate, duration, lines


def _ticks(estimate: CostEstimate, n: int) -> list[list[str]]:
    return [estimate.tick() for _ in range(n)]


def test_the_estimate_comes_once_after_the_first_step_and_ten_timed_ones():
    times = iter([100.0, 100.0 + 2.5 * TIMED])  # read after the first step and after ten more: 2.5 s a step
    est = CostEstimate(2011, "cpu", 2, clock=lambda: next(times))
    said = _ticks(est, TIMED + 1) + _ticks(
        est, 20
    )  # the clock is read only on the first and the eleventh step
    assert [i for i, s in enumerate(said) if s] == [TIMED]
    estimate, warning = said[TIMED]
    assert estimate == "estimate: 2000 steps left at 2.5 s a step on cpu (2 threads): about 83 min"
    assert 2000 * 2.5 > LONG and warning.startswith(
        "warning: this training will take about 83 min on the CPU"
    )
    assert "--train.window=15" in warning and "--size 16" in warning


def test_no_warning_on_a_gpu_or_a_short_cpu_run_and_nothing_for_a_short_session():
    assert lines(2.5, 2000, "cuda", 16) == ["estimate: 2000 steps left at 2.5 s a step on cuda: about 83 min"]
    assert lines(0.25, 1000, "cpu", 1) == [
        "estimate: 1000 steps left at 0.25 s a step on cpu (1 thread): about 4 min"
    ]
    assert all(s == [] for s in _ticks(CostEstimate(TIMED, "cpu", 2), TIMED))


@pytest.mark.parametrize("seconds,text", [(40, "40 s"), (89, "89 s"), (720, "12 min"), (12600, "3.5 h")])
def test_durations_read_as_a_person_reads_them(seconds, text):
    assert duration(seconds) == text


def test_training_prints_the_estimate_with_its_progress_bar(pend16, tmp_path, capsys):
    import json

    from physvae import RunConfig, fit

    cfg = RunConfig().with_overrides(
        [
            f"train.data={json.dumps(str(pend16))}",
            "model.channels=4",
            "model.features=16",
            "model.rnn_hidden=16",
            f"train.steps={TIMED + 3}",
            "train.batch_size=4",
        ]
    )
    fit(cfg, tmp_path / "run", progress=True)
    out = capsys.readouterr().out
    assert out.count("estimate: 2 steps left at ") == 1
    fit(cfg, tmp_path / "quiet", progress=False)
    assert "estimate" not in capsys.readouterr().out
