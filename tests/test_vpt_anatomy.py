"""The VPT anatomy benchmark's arithmetic on constructed error arrays with known answers."""

import numpy as np

from benchmarks.vpt_anatomy import anatomy, runs_over
from physvae.metrics import frames as fm


def test_runs_over_counts_each_run_once_across_rows():
    over = np.array([[1, 1, 0, 1, 0, 0], [0, 0, 0, 1, 1, 1], [0] * 6], dtype=bool)
    assert sorted(runs_over(over).tolist()) == [1, 2, 3]  # a run at a row's end stops there
    assert runs_over(np.zeros((2, 3), dtype=bool)).size == 0


def test_anatomy_tells_a_spike_from_a_drift_and_finds_the_fast_frames():
    """Row 0: one spike at frame 1; row 1: over from frame 4 on (a drift); row 2: never over. The speed is high
    exactly where the errors are."""
    hi = 2 * fm.VPT_THRESHOLD
    errors = np.zeros((3, 6))
    errors[0, 1] = hi
    errors[1, 4:] = hi
    speed = np.where(errors > 0, 10.0, np.arange(18).reshape(3, 6) / 100)
    a = anatomy(errors, speed, every=2)
    assert a["every_frame"]["vpt_quartiles"] == [2.5, 4.0, 5.0]  # VPT [1, 4, 6]
    assert a["every_frame"]["valid_frames_median"] == 5.0  # valid [5, 4, 6]
    assert a["every_2th_frame"] == {"horizon": 3, **fm.vpt_distribution(errors[:, ::2])}
    assert a["every_2th_frame"]["vpt_quartiles"] == [2.5, 3.0, 3.0]  # frames 0, 2, 4: VPT [3, 2, 3], no spike
    assert a["runs_over_threshold"] == {"count": 2, "median_length": 1.5, "share_one_frame": 0.5}
    assert a["over_share_by_third"] == [1 / 6, 0.0, 2 / 6]
    assert a["over_share_by_speed_quartile"][3] > 0.5 and a["over_share_by_speed_quartile"][:3] == [0.0] * 3


def test_a_benchmark_script_given_no_run_says_so_in_one_line(tmp_path):
    """Bad input to a benchmark script: the ConfigError's message and exit code 2, no traceback."""
    import subprocess
    import sys

    missing = tmp_path / "not_a_run"
    missing.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.vpt_anatomy", str(missing)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert f"{missing} is not a run folder (no config.toml)" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith(
        "python -m benchmarks.vpt_anatomy: error:"
    )
