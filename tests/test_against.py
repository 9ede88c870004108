"""Each variation against its plain dataset: target kinds, the comparison's numbers and misses on constructed
records with known answers, the suite checks and the report that shows it."""

import copy
import json

import numpy as np
import pytest

from physvae.bench import load_suite
from physvae.bench.against import Tolerances, compare, comparisons, table
from physvae.bench.report import tables, write_report
from physvae.metrics.probe import probe_targets, target_kinds
from simulators import ConfigError

PENDULUM_NAMES = ["theta", "omega", "sin_theta", "cos_theta", "x", "y", "energy"]
NR = "; mean frame's not on record"  # the VPT column of a record that predates the trivial VPT
PENDULUM_KINDS = ["angle", "velocity", "derived", "derived", "derived", "derived", "energy"]


def test_target_kinds_follow_probe_targets_column_for_column():
    _, names = probe_targets(np.zeros((3, 7)), PENDULUM_NAMES, PENDULUM_KINDS)
    kinds = target_kinds(PENDULUM_NAMES, PENDULUM_KINDS)
    assert dict(zip(names, kinds)) == {
        "omega": "velocity",
        "sin_theta": "derived",
        "cos_theta": "derived",
        "x": "derived",
        "y": "derived",
        "energy": "energy",
    }
    _, names = probe_targets(
        np.zeros((3, 2)), ["phi", "phi_dot"], ["angle", "velocity"]
    )  # no sin/cos columns
    assert names == ["sin_phi", "cos_phi", "phi_dot"]
    assert target_kinds(["phi", "phi_dot"], ["angle", "velocity"]) == ["angle", "angle", "velocity"]
    assert target_kinds(["a", "b"]) == ["coordinate", "coordinate"]  # no kinds: plain coordinates


def _record(dataset, r2, vpt, ratio, beats=1.0, collapsed=False, model="LL", rollout=None):
    targets = ["omega", "sin_theta", "cos_theta", "energy"]
    return {
        "dataset": dataset,
        "model": model,
        "seed": 0,
        "preset": "dvbf_pendulum16",
        "device": "cpu",
        "steps": 10,
        "train_seconds": 1.0,
        "collapse": {"at_end": collapsed},
        "settings": {"model": {"latent_dim": 8, "locally_linear": {"regimes": 4}}, "train": {"steps": 10}},
        "metrics": {
            "physics": {
                "targets": targets,
                "kinds": ["velocity", "derived", "derived", "energy"],
                "linear": {"r2": dict(zip(targets, r2))},
                "rollout_linear": {"r2": dict(zip(targets, rollout or r2))},
            },
            "prediction": {"mse": 0.01, "vpt_median": vpt, "vpt_fraction": vpt / 45},
            "baselines": {"beats_all": beats, "pred_over_mean_frame": ratio, "flags": []},
        },
    }


PLAIN = _record("pendulum", [0.98, 0.99, 0.99, 0.9], 20.0, 0.3)


def test_compare_gives_the_worst_drops_and_nothing_missed_within_tolerance():
    variant = _record("pendulum_grey", [0.94, 0.97, 0.995, 0.1], 16.0, 0.35)  # energy is not compared
    c = compare(variant, PLAIN, Tolerances())
    assert c["position"]["target"] == "sin_theta" and c["position"]["drop"] == pytest.approx(0.02)
    assert c["velocity"]["target"] == "omega" and c["velocity"]["drop"] == pytest.approx(0.04)
    assert c["vpt"] == {"plain": 20.0, "variant": 16.0}  # a 20 % drop: within 25 %
    assert c["pred_over_mean_frame"] == {"plain": 0.3, "variant": 0.35}
    assert c["misses"] == [] and c["collapsed"] is False and c["beats_baselines"] == 1.0


def test_compare_names_every_tolerance_a_variant_breaks():
    variant = _record("pendulum_noise", [0.90, 0.95, 0.99, 0.9], 14.0, 1.2, beats=0.0, collapsed=True)
    misses = compare(variant, PLAIN, Tolerances())["misses"]
    assert misses == [
        "sin_theta R² 0.950 vs 0.990 (drop 0.040 > 0.03)",
        "omega R² 0.900 vs 0.980 (drop 0.080 > 0.05)",
        "VPT 14 vs 20 (drop 30% > 25%)",
        "does not beat a trivial baseline (see its flags)",
        "training ended collapsed",
    ]
    loose = Tolerances(position=0.05, velocity=0.1, vpt=0.5)
    assert compare(variant, PLAIN, loose)["misses"] == misses[3:]


def test_an_r2_miss_says_whether_the_curved_probe_holds_its_target():
    """A linear-probe miss names its target's degree-3 read on both cells: within the tolerance there the state is
    held through a curved chart, beyond it lost; the miss stands either way, and records without it get nothing."""
    variant = _record("pendulum_half_rate", [0.97, 0.98, 0.75, 0.9], 20.0, 0.3)
    plain = copy.deepcopy(PLAIN)
    for record, curved in ((plain, [0.99, 1.0, 1.0, 0.9]), (variant, [0.90, 0.99, 0.985, 0.9])):
        targets = record["metrics"]["physics"]["targets"]
        record["metrics"]["physics"]["curved"] = {"r2": dict(zip(targets, curved))}
    c = compare(variant, plain, Tolerances())
    assert c["position"]["curved"] == {"plain": 1.0, "variant": 0.985}
    assert c["misses"] == [
        "cos_theta R² 0.750 vs 0.990 (drop 0.240 > 0.03); degree-3 probe 0.985 vs 1.000: held through a curved chart"
    ]  # omega drops 0.01 linearly: no miss, so its curved drop of 0.09 is not judged
    variant["metrics"]["physics"]["curved"]["r2"]["cos_theta"] = 0.96
    assert c["misses"][0] != (miss := compare(variant, plain, Tolerances())["misses"][0])
    assert miss.endswith("; degree-3 probe 0.960 vs 1.000: lost at degree 3 too")
    del plain["metrics"]["physics"]["curved"]  # an older plain record: the miss alone
    assert compare(variant, plain, Tolerances())["misses"] == [
        "cos_theta R² 0.750 vs 0.990 (drop 0.240 > 0.03)"
    ]


def test_a_noisy_variant_is_judged_by_its_vpt_against_the_clean_frames(tmp_path):
    # the noise alone puts every frame over VPT's threshold: 0 against the noisy frames
    noisy = _record("pendulum_noise", [0.98, 0.99, 0.99, 0.9], 0.0, 0.3)
    assert compare(noisy, PLAIN, Tolerances())["misses"] == ["VPT 0 vs 20 (drop 100% > 25%)"]
    noisy["metrics"]["prediction"]["clean"] = {"vpt_median": 18.0}
    c = compare(noisy, PLAIN, Tolerances())
    assert c["misses"] == [] and c["vpt"] == {"plain": 20.0, "variant": 18.0} and c["vpt_clean"]
    noisy["metrics"]["prediction"]["clean"]["vpt_median"] = 10.0
    assert compare(noisy, PLAIN, Tolerances())["misses"] == ["VPT 10 vs 20 (drop 50% > 25%)"]
    md = table(load_suite(_suite_file(tmp_path)), [compare(noisy, PLAIN, Tolerances())])
    assert "| 20 → 10 (clean frames); mean frame's not on record |" in md
    noisy_plain = copy.deepcopy(PLAIN)  # a plain drawing with noise too: both read against their clean frames
    noisy_plain["metrics"]["prediction"].update(vpt_median=0.0, clean={"vpt_median": 12.0})
    assert compare(noisy, noisy_plain, Tolerances())["vpt"] == {"plain": 12.0, "variant": 10.0}


def test_a_better_variant_or_a_plain_vpt_of_zero_misses_nothing():
    better = _record("pendulum_border", [1.0, 1.0, 1.0, 1.0], 30.0, 0.1)
    assert compare(better, PLAIN, Tolerances())["misses"] == []
    plain0 = _record("pendulum", [0.98, 0.99, 0.99, 0.9], 0.0, 0.3)
    assert (
        compare(_record("pendulum_bar", [0.98, 0.99, 0.99, 0.9], 0.0, 0.3), plain0, Tolerances())["misses"]
        == []
    )


def test_a_record_without_kinds_says_its_r2_was_not_compared():
    old = _record("pendulum_grey", [0.5, 0.5, 0.5, 0.5], 20.0, 0.3)
    del old["metrics"]["physics"]["kinds"]
    c = compare(old, PLAIN, Tolerances())
    assert c["position"] is None and c["velocity"] is None
    assert c["misses"] == [
        "the record has no state kinds (no states, or evaluated by an older physvae): R² not compared"
    ]


def test_the_rollout_drop_is_shown_but_not_judged():
    variant = _record("pendulum_grey", [0.98, 0.99, 0.99, 0.9], 20.0, 0.3, rollout=[0.5, 0.9, 0.1, -3.0])
    c = compare(variant, PLAIN, Tolerances())
    assert c["rollout"]["target"] == "cos_theta" and c["rollout"]["drop"] == pytest.approx(0.89)  # not energy
    assert c["misses"] == [] and c["rollout"]["probe"] == "rollout_linear"


def test_the_rollout_drop_reads_the_predicted_frames_where_both_records_have_them():
    frames = {"omega": 0.8, "sin_theta": 0.95, "cos_theta": 0.6, "energy": 0.0}
    variant = _record("pendulum_grey", [0.98, 0.99, 0.99, 0.9], 20.0, 0.3, rollout=[0.5, 0.9, 0.1, -3.0])
    plain = _record("pendulum", [0.98, 0.99, 0.99, 0.9], 20.0, 0.3)
    variant["metrics"]["physics"]["rollout_frames_linear"] = {"r2": frames}
    c = compare(variant, plain, Tolerances())  # the plain record predates the frames' probe: latents on both
    assert c["rollout"]["probe"] == "rollout_linear" and c["rollout"]["drop"] == pytest.approx(0.89)
    plain["metrics"]["physics"]["rollout_frames_linear"] = {"r2": {**frames, "cos_theta": 0.9}}
    c = compare(variant, plain, Tolerances())
    assert c["rollout"] == {
        "target": "cos_theta",
        "plain": 0.9,
        "variant": 0.6,
        "drop": pytest.approx(0.3),
        "probe": "rollout_frames_linear",
    }
    # where both records read the predicted frames' pixels, that reading is shown, positions only
    pixel = {"omega": -0.5, "sin_theta": 0.7, "cos_theta": 0.8, "energy": -2.0}
    variant["metrics"]["physics"]["pixel_read"] = {"predicted": pixel}
    plain["metrics"]["physics"]["pixel_read"] = {"predicted": {**pixel, "omega": 0.9, "sin_theta": 0.9}}
    c = compare(variant, plain, Tolerances())
    assert c["rollout"] == {
        "target": "sin_theta",  # omega's larger drop is not a position: a frame's pixels cannot show it
        "plain": 0.9,
        "variant": 0.7,
        "drop": pytest.approx(0.2),
        "probe": "pixel_read",
    }


def test_nothing_passes_for_want_of_data():
    variant = _record("pendulum_grey", [0.1, 0.1, 0.1, 0.1], 20.0, 0.3)
    bare = {**PLAIN, "metrics": {}}  # a plain cell with no sections at all
    assert compare(variant, bare, Tolerances())["misses"] == [
        "no position or velocity R² on both cells: R² not compared",
        "VPT missing on the plain cell: not compared",
    ]
    old = _record("pendulum_grey", [0.98, 0.99, 0.99, 0.9], 20.0, 0.3)
    del old["collapse"], old["metrics"]["baselines"]
    assert compare(old, PLAIN, Tolerances())["misses"] == [
        "no baselines section in the record: not judged",
        "no training collapse record: not judged",
    ]


def test_cells_trained_with_other_settings_are_a_miss_that_names_the_fields():
    variant = _record("pendulum_grey", [0.98, 0.99, 0.99, 0.9], 20.0, 0.3)
    variant["settings"] = {
        "model": {"latent_dim": 8, "locally_linear": {"regimes": 2}},
        "train": {"steps": 20},
    }
    assert compare(variant, PLAIN, Tolerances())["misses"] == [
        "trained with other settings than its plain cell (model.locally_linear.regimes 4 → 2, train.steps 10 → 20)"
        ": differences not the variation's alone"
    ]
    del variant["settings"]  # a record written before cells kept their settings
    assert compare(variant, PLAIN, Tolerances())["misses"] == [
        "no training settings in the variant's record: not known to be trained alike"
    ]


def test_a_field_added_since_the_plain_cell_ran_counts_at_its_default():
    from physvae.config import RunConfig

    default = RunConfig().model.kalman.recon_scale
    variant = _record("pendulum_grey", [0.98, 0.99, 0.99, 0.9], 20.0, 0.3)
    variant["settings"] = copy.deepcopy(PLAIN["settings"])
    variant["settings"]["model"]["kalman"] = {"recon_scale": default}  # a field the older plain record lacks
    assert compare(variant, PLAIN, Tolerances())["misses"] == []
    variant["settings"]["model"]["kalman"]["recon_scale"] = 0.3  # not at its default: trained otherwise
    assert compare(variant, PLAIN, Tolerances())["misses"] == [
        f"trained with other settings than its plain cell (model.kalman.recon_scale {default!r} → 0.3)"
        ": differences not the variation's alone"  # the older record ran at the default
    ]
    variant["settings"]["model"]["kalman"] = {"nonesuch": 1}  # no such field today: cannot be known alike
    assert "model.kalman.nonesuch None → 1" in compare(variant, PLAIN, Tolerances())["misses"][0]


def test_a_record_older_than_the_prediction_weight_trained_without_the_term():
    """train.predict_weight was added at 0 (the plain ELBO) and its default changed since: a record that lacks it
    ran at 0, not at today's "auto"."""
    from physvae.bench.settings import differing

    old = {"model": {"latent_dim": 8}, "train": {"steps": 10}}  # written before the field existed
    at = lambda w: {"model": {"latent_dim": 8}, "train": {"steps": 10, "predict_weight": w}}  # noqa: E731
    assert differing(old, at(0.0)) == []
    assert differing(old, at(1.0)) == [("train.predict_weight", 0.0, 1.0)]
    assert differing(at(0.25), old) == [("train.predict_weight", 0.25, 0.0)]


def test_a_record_older_than_the_early_weight_trained_without_one():
    """train.predict_weight_start was added with "auto" (1 for LocallyLinear at its auto weight): a record that
    lacks it trained at its weight from the first step, as a start of 0 does."""
    from physvae.bench.settings import differing

    old = {"train": {"predict_weight": 0.25}}
    assert differing(old, {"train": {"predict_weight": 0.25, "predict_weight_start": 0.0}}) == []
    new = {"train": {"predict_weight": 0.25, "predict_weight_start": 1.0}}
    assert differing(old, new) == [("train.predict_weight_start", 0.0, 1.0)]


def test_a_record_older_than_the_release_released_over_the_whole_spread():
    """train.predict_weight_release was added at 1 (today's behaviour): a record that lacks it compares as 1."""
    from physvae.bench.settings import differing

    old = {"train": {"predict_weight_start": 1.0}}
    assert differing(old, {"train": {"predict_weight_start": 1.0, "predict_weight_release": 1.0}}) == []
    half = {"train": {"predict_weight_start": 1.0, "predict_weight_release": 0.5}}
    assert differing(old, half) == [("train.predict_weight_release", 1.0, 0.5)]


def test_a_cell_record_keeps_its_settings_less_where_it_ran():
    from physvae.bench.runner import training_settings
    from physvae.config import RunConfig

    a, b = RunConfig(), RunConfig()
    a.train.data, b.train.data, b.train.threads, b.train.device = "x", "y", 1, "cpu"
    assert training_settings(a) == training_settings(b)
    assert (
        training_settings(a)["train"]["steps"] == a.train.steps
        and "data" not in training_settings(a)["train"]
    )
    b.train.predict_weight = 0.0  # the plain ELBO instead of the default prediction term
    assert training_settings(a) != training_settings(b)


def _suite_file(tmp_path, extra="", against='"pendulum"'):
    path = tmp_path / "s.toml"
    path.write_text(
        f"""name = "s"
metrics = ["r2_linear", "vpt_median"]
{extra}
[[datasets]]
name = "pendulum"
preset = "dvbf_pendulum16"
[[datasets]]
name = "pendulum_grey"
preset = "dvbf_pendulum16"
against = {against}
[[models]]
name = "LL"
transition = "locally_linear"
"""
    )
    return path


def test_report_shows_the_comparison_and_writes_against_json(tmp_path):
    suite = load_suite(_suite_file(tmp_path))
    variant = _record("pendulum_grey", [0.90, 0.99, 0.99, 0.9], 20.0, 0.3)
    md = tables(suite, [PLAIN, variant])
    assert "## Each variation against its plain dataset" in md
    row = next(line for line in md.splitlines() if line.startswith("| pendulum_grey | pendulum |"))
    assert "+0.080 (omega)" in row and "omega R² 0.900 vs 0.980 (drop 0.080 > 0.05)" in row
    plain_row = next(line for line in md.splitlines() if line.startswith("| pendulum | (plain) |"))
    assert plain_row.endswith("| 1 | no | none |")  # judged on collapse and the baselines
    assert f"| 20 → 20{NR} | — | 0.300 → 0.300 |" in row  # records without position valid frames show a dash
    plain, valid = copy.deepcopy(PLAIN), copy.deepcopy(variant)
    plain["metrics"]["physics"]["position_valid_frames"] = 12
    valid["metrics"]["physics"]["position_valid_frames"] = 7
    row = next(
        line for line in tables(suite, [plain, valid]).splitlines() if line.startswith("| pendulum_grey")
    )
    assert f"| 20 → 20{NR} | 12 → 7 | 0.300 → 0.300 |" in row  # shown, not judged
    assert "omega R² 0.900 vs 0.980 (drop 0.080 > 0.05) |" in row
    write_report(suite, [PLAIN, variant], tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "against.json").read_text())
    assert (tmp_path / "out" / "against.md").read_text() == table(suite, saved)
    assert saved == comparisons(suite, [PLAIN, variant]) and [r["against"] for r in saved] == [
        "(plain)",
        "pendulum",
    ]
    collapsed = _record("pendulum", [0.98, 0.99, 0.99, 0.9], 20.0, 1.0, beats=0.0, collapsed=True)
    assert comparisons(suite, [collapsed])[0]["misses"] == [
        "does not beat a trivial baseline (see its flags)",
        "training ended collapsed",
    ]
    alone = comparisons(suite, [variant])  # its plain cell has not run
    assert alone[0]["misses"] == ["its plain cell has not run: not compared"]
    write_report(suite, [_record("other", [1, 1, 1, 1], 1.0, 0.1)], tmp_path / "none")
    assert not (tmp_path / "none" / "against.json").exists()  # no dataset of the suite names or is named


def test_dropped_frames_leave_vpt_unjudged(tmp_path):
    suite = load_suite(_suite_file(tmp_path, against='"pendulum"\ndrop_frames = 0.2'))
    suite.models[0].transition = "neural_ode"
    variant = _record("pendulum_grey", [0.98, 0.99, 0.99, 0.9], 2.0, 0.3)  # VPT 20 -> 2 in kept frames
    row = comparisons(suite, [PLAIN, variant])[1]
    assert row["misses"] == [] and row["vpt_judged"] is False
    assert f"| 20 → 2{NR} (not judged) |" in tables(suite, [PLAIN, variant])


def test_vpt_is_judged_in_seconds_where_the_frame_rates_differ(tmp_path):
    slow = _record(
        "pendulum_grey", [0.98, 0.99, 0.99, 0.9], 12.0, 0.3
    )  # 12 frames of 0.2 s: 2.4 s against 2 s
    c = compare(slow, PLAIN, Tolerances(), dt=(0.1, 0.2))
    assert c["misses"] == [] and c["vpt_seconds"] == pytest.approx({"plain": 2.0, "variant": 2.4})
    assert compare(slow, PLAIN, Tolerances())["misses"] == [
        "VPT 12 vs 20 (drop 40% > 25%)"
    ]  # in frames: a miss
    fast = _record("pendulum_grey", [0.98, 0.99, 0.99, 0.9], 28.0, 0.3)  # more frames, less time: 1.4 s
    assert compare(fast, PLAIN, Tolerances(), dt=(0.1, 0.05))["misses"] == [
        "VPT 1.4 s vs 2 s (drop 30% > 25%)"
    ]
    assert "vpt_seconds" not in compare(fast, PLAIN, Tolerances(), dt=(0.1, 0.1))
    # from the suite: the variant's Δt read from its preset and overrides (dvbf_pendulum16: 0.1 s)
    suite = load_suite(_suite_file(tmp_path, against='"pendulum"\nset = ["dt=0.2"]'))
    row = comparisons(suite, [PLAIN, slow])[1]
    assert row["misses"] == [] and row["vpt_seconds"] == pytest.approx({"plain": 2.0, "variant": 2.4})
    assert f"| 20 → 12 frames (2 s → 2.4 s){NR} |" in table(suite, [row])


@pytest.mark.parametrize(
    "against, extra, message",
    [
        ('"nonesuch"', "", "against = 'nonesuch' must name another dataset"),
        ('"pendulum_grey"', "", "against = 'pendulum_grey' must name another dataset"),
        ('"pendulum"', "[tolerances]\nvpt = -1", r"\[tolerances\]: vpt must be a number >= 0, got -1"),
        (
            '"pendulum"',
            "[tolerances]\nspeed = 0.1",
            r"\[tolerances\]: .*speed.*\(keys: position, velocity, vpt\)",
        ),
    ],
)
def test_bad_against_or_tolerances_are_refused_by_name(tmp_path, against, extra, message):
    with pytest.raises(ConfigError, match=message):
        load_suite(_suite_file(tmp_path, extra, against))


def test_tolerances_from_the_suite_replace_the_defaults(tmp_path):
    suite = load_suite(_suite_file(tmp_path, "[tolerances]\nvelocity = 0.1"))
    assert Tolerances.from_suite(suite) == Tolerances(position=0.03, velocity=0.1, vpt=0.25)


def test_rows_of_several_seeds_name_their_seed(tmp_path):
    suite = load_suite(_suite_file(tmp_path))
    variant = _record("pendulum_grey", [0.90, 0.99, 0.99, 0.9], 20.0, 0.3)
    one = table(suite, comparisons(suite, [PLAIN, variant]))
    assert (
        "| pendulum | (plain) | LL |" in one and "seed" not in one.split("Tolerances")[0]
    )  # one seed: as before
    seed1 = [dict(copy.deepcopy(r), seed=1) for r in (PLAIN, variant)]
    two = table(suite, comparisons(suite, [PLAIN, variant, *seed1]))
    rows = [line.split(" | ")[:3] for line in two.splitlines() if line.startswith("| pendulum")]
    assert sorted(rows) == [
        ["| pendulum", "(plain)", "LL, seed 0"],
        ["| pendulum", "(plain)", "LL, seed 1"],
        ["| pendulum_grey", "pendulum", "LL, seed 0"],
        ["| pendulum_grey", "pendulum", "LL, seed 1"],
    ]


def _with_mean_vpt(record: dict, mean: float, horizon: float = 45, clean: float | None = None) -> dict:
    """``record`` with the mean frame's VPT (and its clean VPT) over a horizon of ``horizon`` frames."""
    r = copy.deepcopy(record)
    r["metrics"]["prediction"]["horizon"] = horizon
    r["metrics"]["baselines"]["mean_frame"] = {"vpt_median": mean}
    if clean is not None:
        r["metrics"]["baselines"]["mean_frame"]["vpt_clean_median"] = clean
    return r


def test_vpt_is_not_judged_where_the_mean_frame_lasts_the_whole_horizon(tmp_path):
    # a lit plain background: the mean frame stays under VPT's threshold over all 45 frames; a drop 20 -> 5 says
    # nothing of the dynamics there
    lit_plain = _with_mean_vpt(PLAIN, 45)
    variant = _with_mean_vpt(_record("pendulum_bar", [0.98, 0.99, 0.99, 0.9], 5.0, 0.3), 0)
    c = compare(variant, lit_plain, Tolerances())
    assert c["vpt_judged"] is False and c["misses"] == []
    assert c["vpt_unjudged"].startswith("the mean frame lasts the whole horizon on the plain cell (45 of 45")
    md = table(load_suite(_suite_file(tmp_path)), [c])
    assert "| 20 → 5; mean frame 45 → 0 (not judged: the mean frame lasts the whole horizon" in md
    # a lit variant whose prediction lasts the whole horizon too: a tie VPT cannot break
    tie = _with_mean_vpt(_record("pendulum_grey", [0.98, 0.99, 0.99, 0.9], 45.0, 0.3), 45)
    c = compare(tie, _with_mean_vpt(PLAIN, 0), Tolerances())
    assert c["misses"] == [] and c["vpt_unjudged"].startswith(
        "the variant and its mean frame both last the whole"
    )


def test_a_variant_shorter_than_a_mean_frame_that_fills_the_horizon_misses():
    # the box on grey: the mean frame holds all 36 frames, the model 28 (a gain over the plain 1 by VPT alone)
    plain = _with_mean_vpt(_record("box", [0.98, 0.99, 0.99, 0.9], 1.0, 0.5), 0, horizon=36)
    grey = _with_mean_vpt(_record("box_grey", [0.98, 0.99, 0.99, 0.9], 28.0, 0.55), 36, horizon=36)
    c = compare(grey, plain, Tolerances())
    assert c["vpt_judged"] is True and c["misses"] == [
        "VPT 28 shorter than the variant's mean frame's 36: the prediction leaves VPT's threshold no later than "
        "drawing the mean training frame"
    ]


def test_a_plain_vpt_no_longer_than_its_mean_frames_is_not_judged():
    plain = _with_mean_vpt(PLAIN, 20)  # the plain model's 20 frames: the mean frame's too
    worse = _with_mean_vpt(_record("pendulum_bar", [0.98, 0.99, 0.99, 0.9], 8.0, 0.3), 0)
    c = compare(worse, plain, Tolerances())
    assert (
        c["misses"] == []
        and c["vpt_unjudged"] == "the plain cell's VPT 20 is no longer than its mean frame's 20"
    )
    plain_longer = _with_mean_vpt(PLAIN, 19)  # one frame longer than the mean frame: judged, a 60 % drop
    assert compare(worse, plain_longer, Tolerances())["misses"] == ["VPT 8 vs 20 (drop 60% > 25%)"]


def test_a_variant_no_longer_than_its_mean_frame_misses_even_within_the_vpt_tolerance():
    plain = _with_mean_vpt(PLAIN, 2)
    tie = _with_mean_vpt(_record("pendulum_grey", [0.98, 0.99, 0.99, 0.9], 18.0, 0.3), 18)
    assert compare(tie, plain, Tolerances())["misses"] == [
        "VPT 18 no longer than the variant's mean frame's 18: the prediction leaves VPT's threshold no later than "
        "drawing the mean training frame"
    ]
    ahead = _with_mean_vpt(_record("pendulum_grey", [0.98, 0.99, 0.99, 0.9], 18.0, 0.3), 17)
    assert compare(ahead, plain, Tolerances())["misses"] == []  # one frame past the mean frame: a 10 % drop
    # VPT 0 against a mean frame's 0, the common tie on a dark background, is no such miss (the drop is judged)
    dark = _with_mean_vpt(_record("pendulum_bar", [0.98, 0.99, 0.99, 0.9], 0.0, 0.3), 0)
    assert compare(dark, plain, Tolerances())["misses"] == ["VPT 0 vs 20 (drop 100% > 25%)"]


def test_a_noisy_cells_mean_frame_vpt_is_read_against_the_clean_frames_too():
    # against the noisy frames both the model and the mean frame score 0; against the clean ones 14 and 45
    noisy = _record("pendulum_noise", [0.98, 0.99, 0.99, 0.9], 0.0, 0.3)
    noisy["metrics"]["prediction"]["clean"] = {"vpt_median": 14.0}
    c = compare(_with_mean_vpt(noisy, 0, clean=45), _with_mean_vpt(PLAIN, 0), Tolerances())
    assert c["vpt"]["variant"] == 14.0 and c["vpt_mean_frame"]["variant"] == 45
    assert c["misses"] == [
        "VPT 14 vs 20 (drop 30% > 25%)",
        "VPT 14 shorter than the variant's mean frame's 45: the prediction leaves VPT's threshold no later than "
        "drawing the mean training frame",
    ]
    c = compare(_with_mean_vpt(noisy, 45, clean=0), _with_mean_vpt(PLAIN, 0), Tolerances())
    assert c["vpt_mean_frame"]["variant"] == 0 and c["misses"] == ["VPT 14 vs 20 (drop 30% > 25%)"]
