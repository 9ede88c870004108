"""A variation judged on the mean of several seeds: figures worked by hand from the records, the report's files
and the script that joins record folders of different seeds."""

import copy
import json
import sys

import pytest

from benchmarks import machine, seeds_judged
from physvae.bench import load_suite
from physvae.bench.against import Tolerances
from physvae.bench.against_seeds import across_seeds, judge_mean, seeds_table
from physvae.bench.report import write_report
from simulators import ConfigError

from .test_against import _record, _suite_file, _with_mean_vpt


def _seeded(record: dict, seed: int, **metrics) -> dict:
    r = copy.deepcopy(record)
    r["seed"] = seed
    for key, value in metrics.items():
        section, name = key.split("__")
        r["metrics"][section][name] = value
    return r


def _pair(seed, plain_omega, variant_omega, plain_vpt=20.0, variant_vpt=20.0, beats=1.0, collapsed=False):
    plain = _record("pendulum", [plain_omega, 0.99, 0.99, 0.9], plain_vpt, 0.3)
    variant = _record(
        "pendulum_grey", [variant_omega, 0.99, 0.99, 0.9], variant_vpt, 0.4, beats=beats, collapsed=collapsed
    )
    return _seeded(variant, seed), _seeded(plain, seed)


def test_the_mean_is_judged_and_each_seeds_misses_kept():
    # omega: seed 0 drops 0.98 -> 0.90 (0.08, a miss), seed 1 gains 0.96 -> 0.99; the means 0.97 -> 0.945 drop 0.025
    row = judge_mean([_pair(0, 0.98, 0.90), _pair(1, 0.96, 0.99)], Tolerances())
    assert row["seeds"] == [0, 1] and row["misses"] == []
    assert row["velocity"] == pytest.approx(
        {"target": "omega", "plain": 0.97, "variant": 0.945, "drop": 0.025}
    )
    assert row["per_seed_misses"] == {"0": ["omega R² 0.900 vs 0.980 (drop 0.080 > 0.05)"], "1": []}
    assert row["pred_over_mean_frame"] == {"plain": [0.3, 0.3], "variant": [0.4, 0.4]}
    # both seeds lose 0.06 on omega: the mean loses it too
    row = judge_mean([_pair(0, 0.98, 0.92), _pair(1, 0.96, 0.90)], Tolerances())
    assert row["misses"] == ["omega R² 0.910 vs 0.970 (drop 0.060 > 0.05)"]


def test_the_mean_miss_gives_the_curved_probe_averaged_over_the_seeds():
    pairs = [_pair(0, 0.98, 0.92), _pair(1, 0.96, 0.90)]  # omega's means 0.97 -> 0.91: a miss
    for (variant, plain), (p, v) in zip(pairs, ((0.99, 0.985), (0.99, 0.975))):
        plain["metrics"]["physics"]["curved"] = {"r2": {"omega": p}}
        variant["metrics"]["physics"]["curved"] = {"r2": {"omega": v}}
    row = judge_mean(pairs, Tolerances())
    assert row["velocity"]["curved"] == pytest.approx({"plain": 0.99, "variant": 0.98})
    assert row["misses"] == [
        "omega R² 0.910 vs 0.970 (drop 0.060 > 0.05); degree-3 probe 0.980 vs 0.990: held through a curved chart"
    ]
    del pairs[1][1]["metrics"]["physics"][
        "curved"
    ]  # one seed's plain record predates the probe: the miss alone
    assert judge_mean(pairs, Tolerances())["misses"] == ["omega R² 0.910 vs 0.970 (drop 0.060 > 0.05)"]


def test_vpt_of_the_means_in_frames_and_in_seconds():
    # VPT 20 -> 12 and 20 -> 18: mean 20 -> 15, a drop of exactly 25 %, within the tolerance
    within = [_pair(0, 0.98, 0.98, 20.0, 12.0), _pair(1, 0.98, 0.98, 20.0, 18.0)]
    row = judge_mean(within, Tolerances())
    assert row["vpt"] == pytest.approx({"plain": 20.0, "variant": 15.0}) and row["misses"] == []
    beyond = [_pair(0, 0.98, 0.98, 20.0, 12.0), _pair(1, 0.98, 0.98, 20.0, 16.0)]  # 20 -> 14: 30 %
    assert judge_mean(beyond, Tolerances())["misses"] == ["VPT 14 vs 20 (drop 30% > 25%)"]
    # at double the frame rate 24 frames of 0.05 s are 1.2 s against the plain 2 s: judged in seconds
    fast = [_pair(0, 0.98, 0.98, 20.0, 24.0), _pair(1, 0.98, 0.98, 20.0, 24.0)]
    row = judge_mean(fast, Tolerances(), dt=(0.1, 0.05))
    assert row["vpt_seconds"] == pytest.approx({"plain": 2.0, "variant": 1.2})
    assert row["misses"] == ["VPT 1.2 s vs 2 s (drop 40% > 25%)"]
    assert judge_mean(fast, Tolerances(), judge_vpt=False)["misses"] == []
    # noisy data: the VPTs against the frames before the noise (8 and 10), not the noisy ones (20), are averaged
    noisy = [
        (_seeded(v, v["seed"], prediction__clean={"vpt_median": clean}), p)
        for (v, p), clean in zip([_pair(0, 0.98, 0.98), _pair(1, 0.98, 0.98)], (8.0, 10.0))
    ]
    row = judge_mean(noisy, Tolerances())
    assert row["vpt"] == pytest.approx({"plain": 20.0, "variant": 9.0}) and row["vpt_clean"]
    assert row["misses"] == ["VPT 9 vs 20 (drop 55% > 25%)"]


def test_vpt_of_the_means_is_not_judged_where_a_seeds_mean_frame_says_it_cannot_be(tmp_path):
    # seed 1's plain cell: the mean frame lasts the whole horizon (a lit background); the mean VPT 20 -> 11 is not
    # judged
    (v0, p0), (v1, p1) = _pair(0, 0.98, 0.98, variant_vpt=12.0), _pair(1, 0.98, 0.98, variant_vpt=10.0)
    pairs = [(_with_mean_vpt(v0, 0), _with_mean_vpt(p0, 0)), (_with_mean_vpt(v1, 0), _with_mean_vpt(p1, 45))]
    row = judge_mean(pairs, Tolerances())
    assert row["vpt"] == {"plain": 20.0, "variant": 11.0} and row["vpt_judged"] is False
    assert row["vpt_unjudged"].startswith("the mean frame lasts the whole horizon on the plain cell")
    assert row["misses"] == [] and row["per_seed_misses"]["0"] == ["VPT 12 vs 20 (drop 40% > 25%)"]
    md = seeds_table(load_suite(_suite_file(tmp_path)), [row])
    assert "| 20 → 11 (not judged: the mean frame lasts the whole horizon on the plain cell (45 of 45" in md
    pairs[1] = (
        _with_mean_vpt(v1, 0),
        _with_mean_vpt(p1, 0),
    )  # no lit background: the mean drop 45 % is a miss
    assert judge_mean(pairs, Tolerances())["misses"] == ["VPT 11 vs 20 (drop 45% > 25%)"]
    pairs[1] = (
        _with_mean_vpt(v1, 10),
        _with_mean_vpt(p1, 0),
    )  # seed 1's variant no longer than its mean frame
    assert judge_mean(pairs, Tolerances())["misses"][1].startswith(
        "seed 1: VPT 10 no longer than the variant's mean frame's 10"
    )


def test_every_seed_must_beat_the_baselines_and_train_alike():
    pairs = [_pair(0, 0.98, 0.98), _pair(1, 0.98, 0.98, beats=0.0)]
    assert judge_mean(pairs, Tolerances())["misses"] == ["does not beat a trivial baseline on seed 1"]
    pairs = [_pair(0, 0.98, 0.98, collapsed=True), _pair(1, 0.98, 0.98, collapsed=None)]
    assert judge_mean(pairs, Tolerances())["misses"] == [
        "training ended collapsed (or no collapse record) on seed 0, 1"
    ]
    variant, plain = _pair(2, 0.98, 0.98)
    variant["settings"]["train"]["steps"] = 20
    misses = judge_mean([_pair(0, 0.98, 0.98), (variant, plain)], Tolerances())["misses"]
    assert len(misses) == 1 and misses[0].startswith(
        "seed 2: trained with other settings than its plain cell"
    )


def test_only_variations_with_a_plain_cell_on_two_seeds_get_a_row(tmp_path):
    suite = load_suite(_suite_file(tmp_path))
    v0, p0 = _pair(0, 0.98, 0.90)
    v1, p1 = _pair(1, 0.96, 0.99)
    assert across_seeds(suite, [p0, v0, v1]) == []  # seed 1's plain cell has not run
    assert across_seeds(suite, [p0, v0]) == []  # one seed: the per-seed table says it all
    rows = across_seeds(suite, [v1, p1, p0, v0])
    assert [r["seeds"] for r in rows] == [[0, 1]] and rows[0]["dataset"] == "pendulum_grey"
    md = seeds_table(suite, rows)
    assert "| pendulum_grey | pendulum | LL | 0, 1 | +0.000 (sin_theta) | +0.025 (omega) | 20 → 20 |" in md
    assert "s0: omega R² 0.900 vs 0.980 (drop 0.080 > 0.05); s1: none |" in md
    rows[0]["vpt_clean"] = True
    assert "| 20 → 20 (clean frames) |" in seeds_table(suite, rows)


def test_the_report_writes_the_mean_judgment_beside_the_per_seed_one(tmp_path):
    suite = load_suite(_suite_file(tmp_path))
    records = [*_pair(0, 0.98, 0.90), *_pair(1, 0.96, 0.99)]
    write_report(suite, records, tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "against_seeds.json").read_text())
    assert saved == across_seeds(suite, records)
    for name in ("against.md", "results.md"):
        text = (tmp_path / "out" / name).read_text()
        assert "## Each variation against its plain dataset" in text
        assert "## Variations judged on the mean of several seeds" in text
    write_report(suite, list(_pair(0, 0.98, 0.90)), tmp_path / "one")
    assert not (tmp_path / "one" / "against_seeds.json").exists()


def _folder(root, name, records):
    (root / name / "cells").mkdir(parents=True)
    for r in records:
        cell = f"{r['dataset']}__{r['model']}__s{r['seed']}"
        (root / name / "cells" / f"{cell}.json").write_text(json.dumps(r))
    return root / name


def test_the_script_joins_record_folders_of_two_seeds(tmp_path, monkeypatch, capsys):
    a = _folder(tmp_path, "s0", _pair(0, 0.98, 0.90))
    b = _folder(tmp_path, "s1", _pair(1, 0.96, 0.99))
    suite = _suite_file(tmp_path)
    monkeypatch.setattr(machine, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(sys, "argv", ["seeds_judged", "--suite", str(suite), str(a), str(b), "--name", "t"])
    seeds_judged.main()
    assert "| pendulum_grey | pendulum | LL | 0, 1 |" in capsys.readouterr().out
    (saved,) = (tmp_path / "results").glob("t_*.json")
    assert [r["seeds"] for r in json.loads(saved.read_text())["rows"]] == [[0, 1]]
    with pytest.raises(ConfigError, match=r"cell pendulum__LL__s0 is recorded twice"):
        seeds_judged.load_records([a, a])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"empty: no cell records"):
        seeds_judged.load_records([tmp_path / "empty"])
    monkeypatch.setattr(sys, "argv", ["seeds_judged", "--suite", str(suite), str(a)])
    with pytest.raises(ConfigError, match="no variation has its plain cell on two seeds"):
        seeds_judged.main()
