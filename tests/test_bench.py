import copy
import csv
import dataclasses
import json
import re

import pytest
import torch

from physvae.bench import load_suite, run_suite
from physvae.bench.suite import RECORD_COLUMNS, suites_dir
from physvae.cli import main
from physvae.evaluation import columns
from physvae.provenance import code_source, cpu_name
from simulators import ConfigError


@pytest.fixture(scope="module")
def smoke_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "smoke"
    assert main(["bench", "--suite", "smoke", "--out", str(out), "--jobs", "2"]) == 0
    return out


def test_smoke_suite_end_to_end(smoke_out):
    suite = load_suite("smoke")
    records = json.loads((smoke_out / "results.json").read_text())
    assert len(records) == len(suite.datasets) * len(suite.models) * len(suite.seeds) == 8
    for r in records:
        assert set(r) >= {
            "suite",
            "cell",
            "dataset",
            "preset",
            "model",
            "transition",
            "seed",
            "train_seconds",
            "steps",
            "device",
            "versions",
            "metrics",
        }
        m = r["metrics"]
        assert set(m["physics"]["linear"]["r2"]) and m["prediction"]["horizon"] > 0
        assert r["versions"]["torch"] and r["device"] == "cpu"
        assert r["versions"]["source"] == code_source()  # which code made it (None outside a checkout)
        assert r["versions"]["train_source"] == code_source()  # trained in this process's code too
        # where it ran: figures agree bit for bit only under the same CPU kernels
        assert r["versions"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
        assert r["versions"]["cpu"] == cpu_name()
    pend = [r for r in records if r["dataset"] == "pendulum"]
    assert all(r["metrics"]["prediction"]["horizon"] == 12 - 3 for r in pend)  # the long test set
    with open(smoke_out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and "r2_linear.omega" in rows[0]
    md = (smoke_out / "results.md").read_text()
    assert "DVBF-LL" in md and "| LocallyLinear | 1 |" in md and "## box" in md
    assert f"Device: cpu ({cpu_name()}, {torch.backends.cpu.get_cpu_capability()} kernels)" in md
    assert (smoke_out / "comparison.png").stat().st_size > 0


def test_a_table_of_cells_from_two_machines_names_each_machine_and_its_cells(smoke_out):
    from physvae.bench.report import tables

    records = json.loads((smoke_out / "results.json").read_text())
    pend = [r for r in records if r["dataset"] == "pendulum"]
    other = dict(pend[0], versions=dict(pend[0]["versions"], cpu="Another CPU", cpu_capability="AVX2"))
    md = tables(load_suite("smoke"), [other, *pend[1:]])
    line = next(x for x in md.splitlines() if x.startswith("Device:"))
    here = f"cpu ({cpu_name()}, {torch.backends.cpu.get_cpu_capability()} kernels)"
    assert f"cpu (Another CPU, AVX2 kernels) for {other['model']} s0;" in line
    assert f"{here} for " + ", ".join(f"{r['model']} s0" for r in pend[1:]) in line


def test_rerun_skips_finished_cells_and_redoes_missing_ones(smoke_out):
    cells = smoke_out / "cells"
    keep, redo = cells / "pendulum__Static__s0.json", cells / "box__GRU__s0.json"
    before = keep.stat().st_mtime_ns
    redo.unlink()
    logs = []
    run_suite(load_suite("smoke"), smoke_out, jobs=1, log=logs.append)
    assert any("7 already done" in line for line in logs)
    assert keep.stat().st_mtime_ns == before and redo.is_file()
    assert any(line.startswith("done box__GRU__s0") for line in logs)


def test_the_suite_is_written_beside_its_records(smoke_out):
    """run_suite leaves ``suite.toml`` in the folder (the smoke_out fixture ran the smoke suite there)."""
    assert load_suite(smoke_out / "suite.toml") == load_suite("smoke")


def test_a_suite_file_written_by_hand_is_kept_where_it_is_the_suite(tmp_path):
    from physvae.bench.runner import keep_suite_file
    from physvae.bench.suite import suites_dir

    path = tmp_path / "suite.toml"
    hand = "# kept: a note written by hand\n" + suites_dir().joinpath("smoke.toml").read_text()
    path.write_text(hand)
    keep_suite_file(load_suite("smoke"), path)
    assert path.read_text() == hand
    quick = load_suite("quick")
    keep_suite_file(quick, path)  # another suite: written anew
    assert load_suite(path) == quick and "kept: a note" not in path.read_text()
    path.write_text("not = [toml")
    keep_suite_file(quick, path)
    assert load_suite(path) == quick


def test_a_saved_suite_reads_back_equal(tmp_path):
    """Every built-in suite round-trips through Suite.save; a suite of changed settings writes them."""
    for name in ("quick", "robustness", "kvae", "physics"):
        assert load_suite(load_suite(name).save(tmp_path / f"{name}.toml")) == load_suite(name)
    quick = load_suite("quick")
    changed = dataclasses.replace(quick, train={**quick.train, "predict_weight": 0.5})
    assert load_suite(changed.save(tmp_path / "changed.toml")).train["predict_weight"] == 0.5


def test_a_record_trained_otherwise_than_the_suite_now_says_is_marked_stale(smoke_out, tmp_path):
    import shutil

    shutil.copytree(smoke_out / "cells", tmp_path / "cells")
    suite = load_suite("smoke")
    gru = next(m for m in suite.models if m.name == "GRU")
    changed = dataclasses.replace(
        suite,
        models=[
            dataclasses.replace(gru, set=[*gru.set, "model.latent_dim=5"]) if m is gru else m
            for m in suite.models
        ],
    )
    logs = []
    run_suite(changed, tmp_path, jobs=1, log=logs.append)
    warned = [line for line in logs if line.startswith("warning:")]
    assert len(warned) == 2 and all("GRU" in line and "model.latent_dim" in line for line in warned)
    md = (tmp_path / "results.md").read_text()
    assert "**Stale records**" in md and "pendulum__GRU__s0 was trained with other settings" in md
    logs.clear()
    run_suite(suite, tmp_path, jobs=1, log=logs.append)  # the suite as the records were made: nothing stale
    assert not [line for line in logs if line.startswith("warning:")]
    assert "Stale" not in (tmp_path / "results.md").read_text()


def test_refresh_baselines_gives_older_records_the_trivial_vpt_from_their_data(smoke_out, tmp_path, capsys):
    import shutil

    out = tmp_path / "old"
    shutil.copytree(smoke_out / "cells", out / "cells")
    shutil.copytree(smoke_out / "work" / "data", out / "work" / "data")  # the suite's data, as a rerun reuses
    kept = {p.name: json.loads(p.read_text()) for p in (out / "cells").glob("*.json")}
    for name, record in kept.items():  # as evaluated before the trivial VPT existed
        old = copy.deepcopy(record)
        for kind in ("mean_frame", "hold_last"):
            del old["metrics"]["baselines"][kind]["vpt_median"]
        old["metrics"]["baselines"].pop("vpt_uninformative", None)
        if name == "box__GRU__s0.json":  # a record whose data cannot be made again
            old["metrics"]["baselines"]["mean_frame"]["recon_mse"] *= 1.01
        (out / "cells" / name).write_text(json.dumps(old))
    assert main(["bench", "--suite", "smoke", "--out", str(out), "--refresh-baselines"]) == 0
    printed = capsys.readouterr().out
    assert "box__GRU__s0: not the data it was evaluated on (mean_frame.recon_mse" in printed
    assert "refreshed 7 records" in printed
    for name, record in kept.items():
        now = json.loads((out / "cells" / name).read_text())
        base = now["metrics"]["baselines"]
        if name == "box__GRU__s0.json":
            assert "vpt_median" not in base["mean_frame"] and "refreshed" not in base
            continue
        for kind in (
            "mean_frame",
            "hold_last",
        ):  # the data alone give what the evaluation with the model gave
            assert base[kind]["vpt_median"] == record["metrics"]["baselines"][kind]["vpt_median"]
        assert base["refreshed"]["fields"] == ["mean_frame.vpt_median", "hold_last.vpt_median"]
        assert base.get("vpt_uninformative") == record["metrics"]["baselines"].get("vpt_uninformative")
        assert now["metrics"]["prediction"] == record["metrics"]["prediction"]
    results = json.loads(
        (out / "results.json").read_text()
    )  # the report rewritten from the refreshed records
    assert len(results) == 8 and sum("refreshed" in r["metrics"]["baselines"] for r in results) == 7


def test_killed_cell_resumes_from_its_checkpoint(smoke_out):
    run_dir = smoke_out / "work" / "runs" / "pendulum__GRU__s0"
    (run_dir / "model.pt").unlink()
    (smoke_out / "cells" / "pendulum__GRU__s0.json").unlink()
    run_suite(load_suite("smoke"), smoke_out, jobs=1, log=lambda s: None)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["resumed_from"] == 4  # the last checkpoint; nothing retrained
    # the cell reports the training time of both sessions, not only the resumed one's
    last = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=False)  # saved at the final step
    assert summary["train_seconds"] >= last["train_seconds"] > summary["train_seconds_this_session"] > 0
    record = json.loads((smoke_out / "cells" / "pendulum__GRU__s0.json").read_text())
    assert record["train_seconds"] == summary["train_seconds"]


def test_cells_glob_runs_only_those_cells_and_reports_the_rest_as_missing(tmp_path):
    out = tmp_path / "part"
    assert main(["bench", "--suite", "smoke", "--out", str(out), "--cells", "box__Static__*"]) == 0
    assert [p.name for p in (out / "cells").iterdir()] == ["box__Static__s0.json"]
    assert all(
        p.name.startswith("balls-") for p in (out / "work" / "data").iterdir()
    )  # no pendulum data made
    records = json.loads((out / "results.json").read_text())
    assert [r["cell"] for r in records] == ["box__Static__s0"]
    md = (out / "results.md").read_text()
    assert "**Partial: 1 of 8 cells finished.**" in md
    assert "pendulum__LocallyLinear__s0" in md and "box__GRU__s0" in md and "## pendulum" not in md


def test_a_model_restricted_to_some_datasets_runs_only_there(tmp_path):
    path = _suite_file(tmp_path, **{'transition = "gru"': 'transition = "gru"\ndatasets = ["box"]'})
    out = tmp_path / "restricted"
    run_suite(load_suite(path), out, cells="*__GRU__*")
    assert [p.name for p in (out / "cells").iterdir()] == ["box__GRU__s0.json"]  # no pendulum__GRU cell
    assert "pendulum__GRU__s0" not in (out / "results.md").read_text()  # not even as missing


def test_cells_takes_several_globs_and_refuses_one_that_matches_nothing(tmp_path):
    out = tmp_path / "two"
    run_suite(load_suite("smoke"), out, cells="box__Static__s0, pendulum__Static__*")
    assert sorted(p.name for p in (out / "cells").iterdir()) == [
        "box__Static__s0.json",
        "pendulum__Static__s0.json",
    ]
    with pytest.raises(ConfigError, match=r"--cells 'nonesuch' matches no cell"):
        run_suite(load_suite("smoke"), tmp_path / "three", cells="box__Static__s0,nonesuch")
    assert not (tmp_path / "three").exists()


def test_cells_glob_matching_nothing_fails_naming_the_suites_cells(tmp_path):
    with pytest.raises(
        ConfigError, match=r"--cells 'nonesuch\*' matches no cell of suite 'smoke'.*box__GRU__s0"
    ):
        run_suite(load_suite("smoke"), tmp_path / "none", cells="nonesuch*")
    assert not (tmp_path / "none").exists()  # nothing generated, nothing written


def test_bench_jobs_below_one_is_refused_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="jobs must be at least 1 \\(worker processes\\), got -2"):
        run_suite(load_suite("smoke"), tmp_path / "neg", jobs=-2)
    assert not (tmp_path / "neg").exists()


def _suite_file(tmp_path, **changes):
    text = suites_dir().joinpath("smoke.toml").read_text()
    for old, new in changes.items():
        text = text.replace(old, new)
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "old,new,match",
    [
        ('transition = "gru"', 'transition = "lstm"', "model 'GRU': unknown transition 'lstm'"),
        ('preset = "kvae_box32"', 'preset = "kvae_box64"', "dataset 'box': unknown preset 'kvae_box64'"),
        ('"recon_mse"', '"fvd"', "no evaluation section gives the column 'fvd'"),
        ('"recon_mse"', '"r2_poly"', "metric 'r2_poly' needs \\[eval\\] poly_probe = true"),
        ("poly_probe = false", "poly_probe = 0", "poly_probe must be a bool"),
        ("eval = {n_context = 3}", "n_context = 3", "'n_context' has moved to eval = {n_context = ...}"),
        ("[eval]", "[evaluation]", "unknown key 'evaluation'"),
        ("steps = 4", "stepz = 4", "unknown key 'train.stepz'"),
        ("rnn_hidden = 16", 'rnn_hidden = "big"', "model.rnn_hidden must be an integer"),
        (
            'transition = "gru"',
            'transition = "gru"\ndatasets = ["boxx"]',
            r"model 'GRU': datasets \['boxx'\] are not",
        ),
    ],
)
def test_bad_suite_fails_before_training_naming_the_entry(tmp_path, old, new, match):
    with pytest.raises(ConfigError, match=match):
        load_suite(_suite_file(tmp_path, **{old: new}))
    assert not (tmp_path / "bench_out").exists()


def test_unknown_suite_name():
    with pytest.raises(ConfigError, match="known suites: .*quick.*smoke"):
        load_suite("nonesuch")


def test_every_suite_file_is_valid():
    names = sorted(p.name.removesuffix(".toml") for p in suites_dir().iterdir() if p.name.endswith(".toml"))
    assert {
        "smoke",
        "quick",
        "paper",
        "paper_short",
        "targets",
        "physics",
        "kvae",
        "kvae_cpu",
        "robustness",
    } <= set(names)
    for name in names:
        suite = load_suite(name)
        assert set(suite.metrics) <= set(columns()) | set(RECORD_COLUMNS)


def test_kvae_cpu_suite_keeps_the_kvae_protocol_at_a_smaller_size():
    full, cpu = load_suite("kvae"), load_suite("kvae_cpu")
    cells = {}
    for suite, name in ((full, "KalmanVAE"), (cpu, "KalmanVAEPaper")):
        kalman = next(m for m in suite.models if m.name == name)
        cells[suite.name] = suite.run_config(kalman, "x", 0, suite.datasets[0])
    paper, small = cells["kvae"], cells["kvae_cpu"]
    assert paper.eval == small.eval  # the same imputation protocols and probes
    assert cpu.datasets[0].preset == "kvae_box32" and cpu.datasets[0].splits == full.datasets[0].splits
    assert small.model.channels < paper.model.channels and small.train.steps < paper.train.steps
    # KVAE's training (reconstruction weighted 0.3, α held for 10 of 80 epochs), scaled to the shorter run
    assert paper.model.kalman.recon_scale == small.model.kalman.recon_scale == 0.3
    for c in (paper, small):
        assert c.model.kalman.alpha_warmup / c.train.steps == pytest.approx(10 / 80, abs=0.001)
    both = [dataclasses.replace(c.model.kalman, alpha_warmup=0) for c in (paper, small)]
    assert both[0] == both[1]


def test_the_kvae_suites_physics_box_trains_as_its_kept_record():
    """Both kvae suites' PhysicsBox cell trains with exactly the settings of the run kept in
    benchmarks/results/kvae_physics_kink_cpu2/frame/run (that record's seeds are what the suites reproduce; the
    kept weights are seed 1's), reads each frame alone, and is scored by the suites' own imputation protocols."""
    from pathlib import Path

    from physvae.bench.runner import training_settings
    from physvae.config import RunConfig

    kept = Path(__file__).parents[1] / "benchmarks/results/kvae_physics_kink_cpu2/frame/run/config.toml"
    recorded = RunConfig.load(kept)
    for name in ("kvae", "kvae_cpu"):
        suite = load_suite(name)
        box = next(m for m in suite.models if m.name == "PhysicsBox")
        plain = next(d for d in suite.datasets if d.name == "kvae_box32")
        cfg = suite.run_config(box, "x", recorded.train.seed, plain)
        assert cfg.model.inference == "frame"
        assert training_settings(cfg) == training_settings(recorded)
        assert cfg.eval.drop_probs == recorded.eval.drop_probs and cfg.eval.gaps == recorded.eval.gaps
        assert cfg.eval.imputation_first == recorded.eval.imputation_first == 4


def test_kvae_suite_cells_and_its_report_show_the_published_curve(tmp_path):
    from physvae.bench.report import write_report

    suite = load_suite("kvae")
    kalman = next(m for m in suite.models if m.transition == "kalman")
    cfg = suite.run_config(kalman, "x", 0, suite.datasets[0])
    assert (cfg.model.latent_dim, cfg.model.kalman.a_dim, cfg.model.kalman.regimes) == (4, 2, 3)
    assert (cfg.train.lr, cfg.train.batch_size, cfg.eval.imputation_first) == (0.007, 32, 4)
    assert cfg.eval.drop_probs[-1] == 1.0 and cfg.eval.gaps == list(range(1, 16, 2))
    assert [d.preset for d in suite.datasets] == ["kvae_box32", "kvae_box32_gravity", "kvae_box32_faithful"]

    def record(dataset, preset, model, seed):
        drop = {str(p): 0.01 * p for p in cfg.eval.drop_probs}
        gap = {str(g): 0.001 * g for g in cfg.eval.gaps}
        imputation = {"metric": "hamming", "drop": drop, "gap": gap, "baseline_consecutive_hamming": 0.03}
        r2 = {"x0": 0.9, "vx0": 0.5}
        physics = {"linear": {"r2": r2}, "codes_linear": {"r2": r2}, "rollout_linear": {"r2": r2}}
        return {
            "dataset": dataset,
            "preset": preset,
            "model": model,
            "seed": seed,
            "device": "cpu",
            "steps": 10,
            "train_seconds": 1.0,
            "metrics": {"imputation": imputation, "physics": physics},
        }

    records = [
        record(d.name, d.preset, m.name, s) for d in suite.datasets for m in suite.models for s in (0, 1)
    ]
    paths = write_report(suite, records, tmp_path)
    md = (tmp_path / "results.md").read_text()
    assert "KVAE smoothing (Fraccaro et al. 2017" in md and "*0.0057*" in md and "*0.0227*" in md
    assert "imputation_hamming.drop_1.0" in md and "imputation_hamming.gap_15" in md and "r2_codes.vx0" in md
    assert md.count("KVAE smoothing") == 2  # beside both looks of the plain box; none for gravity
    assert tmp_path / "imputation.png" in paths and (tmp_path / "imputation.png").stat().st_size > 0


def test_imputation_figure_draws_the_trivial_baselines_beside_the_curves():
    from physvae.bench.report import _trivial_baselines

    def record(mean_frame, lit, consecutive):
        return {
            "metrics": {
                "baselines": {"mean_frame": {"hamming": mean_frame}, "always_lit": {"hamming": lit}},
                "imputation": {"metric": "hamming", "baseline_consecutive_hamming": consecutive},
            }
        }

    # an empty background: drawing nothing is both the mean frame's and the always-lit pixels' Hamming
    same = [record(0.02, 0.02, 0.03), record(0.04, 0.04, 0.05)]
    assert _trivial_baselines(same, "hamming") == [
        ("mean frame = always-lit pixels", pytest.approx(0.03)),
        ("consecutive frames (KVAE)", pytest.approx(0.04)),
    ]
    bordered = [record(0.05, 0.02, 0.03)]
    assert [name for name, _ in _trivial_baselines(bordered, "hamming")] == [
        "mean frame",
        "always-lit pixels",
        "consecutive frames (KVAE)",
    ]
    grey = [{"metrics": {"baselines": {"mean_frame": {"recon_mse": 0.01}}, "imputation": {"metric": "mse"}}}]
    assert _trivial_baselines(grey, "mse") == [("mean frame", 0.01)]


def test_a_failed_cell_is_recorded_and_the_others_still_run(tmp_path, capsys):
    # GRU's lr of 1e30 makes its loss non-finite within the first steps: training diverges
    path = _suite_file(tmp_path, **{'transition = "gru"': 'transition = "gru"\nset = ["train.lr=1e30"]'})
    out = tmp_path / "diverged"
    assert (
        main(["bench", "--suite", str(path), "--out", str(out), "--cells", "box__GRU__s0,box__Static__s0"])
        == 1
    )
    err = capsys.readouterr().err
    assert re.search(
        r"1 cell\(s\) failed \(box__GRU__s0: (loss|gradient norm) is (nan|inf) at step \d+;", err
    )
    assert [p.name for p in (out / "cells").iterdir()] == ["box__Static__s0.json"]  # the other cell finished
    failure = json.loads((out / "failed" / "box__GRU__s0.json").read_text())
    assert failure["exception"] == "TrainingDiverged" and "Traceback" in failure["traceback"]
    md = (out / "results.md").read_text()
    assert "**Failed cells**" in md and "- box__GRU__s0: " in md and "the last good checkpoint is kept" in md
    assert "**Partial: 1 of 8 cells finished.**" in md and "pendulum__GRU__s0" in md
    # fixed settings: the rerun retries the failed cell afresh (its diverged run set aside, not resumed with the old
    # lr), keeps the finished one, and clears the failure
    fixed = _suite_file(tmp_path)
    logs = []
    run_suite(load_suite(fixed), out, cells="box__GRU__s0,box__Static__s0", log=logs.append)
    assert any("1 already done, 1 to run" in line for line in logs)
    assert "train.lr 1e+30 → 0.001" in capsys.readouterr().out
    assert (out / "work" / "set_aside" / "box__GRU__s0-1" / "config.toml").is_file()
    assert json.loads((out / "cells" / "box__GRU__s0.json").read_text())["settings"]["train"]["lr"] == 1e-3
    assert not (out / "failed" / "box__GRU__s0.json").exists()
    assert "Failed" not in (out / "results.md").read_text()
