import json

import numpy as np
import pytest
import torch
from PIL import Image

import simulators as S
from physvae import RunConfig, fit
from physvae.cli import main
from physvae.evaluate import EvalConfig, evaluate
from physvae.evaluation.state_recovery import curved_only, position_valid_frames, shows_position


@pytest.fixture(scope="module")
def tiny_runs(pend16, box32, tmp_path_factory):
    runs = {}
    for name, data, transition in [("pend", pend16, "locally_linear"), ("box", box32, "neural_ode")]:
        cfg = RunConfig().with_overrides(
            [
                f"train.data={json.dumps(str(data))}",
                f"model.transition={transition}",
                "model.channels=4",
                "model.features=16",
                "model.rnn_hidden=16",
                "train.steps=3",
                "train.batch_size=4",
            ]
        )
        runs[name] = fit(cfg, tmp_path_factory.mktemp("runs") / name, progress=False)
    return runs


def test_evaluate_writes_every_figure_of_merit(tiny_runs, tmp_path):
    m = evaluate(tiny_runs["pend"], out=tmp_path, cfg=EvalConfig(n_context=4, drop_probs=[0.5], gaps=[3]))
    assert set(m) >= {
        "reconstruction",
        "prediction",
        "imputation",
        "physics",
        "dynamics",
        "intrinsic_dimension",
    }
    assert m["prediction"]["horizon"] == 11 and len(m["prediction"]["mse_curve"]) == 11
    assert 0 <= m["prediction"]["vpt_median"] <= 11
    q = m["prediction"]["vpt_quartiles"]  # the first crossing over sequences; valid frames count every frame
    assert q[0] <= q[1] == m["prediction"]["vpt_median"] <= q[2] <= 11
    assert m["prediction"]["vpt_median"] <= m["prediction"]["valid_frames_median"] <= 11
    assert list(m["physics"]["linear"]["r2"]) == ["omega", "sin_theta", "cos_theta", "x", "y", "energy"]
    assert m["imputation"]["metric"] == "mse" and set(m["imputation"]["gap"]) == {"3"}
    reference = m["dynamics"]["reference"]
    assert reference["damping"] == 0.5 and reference["natural_frequency"] == pytest.approx(9.81**0.5)
    assert "mean_map" in m["dynamics"] and set(m["dynamics"]["recovered"]) == {"natural_frequency", "damping"}
    assert set(m["physics"]["rollout_frames_linear"]["r2"]) == set(m["physics"]["linear"]["r2"])
    curved = m["physics"]["curved"]  # the degree-3 probe beside the linear one, on the same targets
    assert curved["r2"].keys() == m["physics"]["linear"]["r2"].keys() and curved["degree"] == 3
    window = m["physics"]["position_window_linear"]["r2"]  # the true positions around t, no model
    assert window.keys() == m["physics"]["linear"]["r2"].keys() and window["sin_theta"] > 1 - 1e-9
    traj = m["trajectories"]  # the torque-driven pendulum fitted to the motion; exact on the true states
    assert traj["system"] == "pendulum_driven" and traj["true"] == pytest.approx(
        {"g_over_l": 9.81, "damping": 0.5, "torque_gain": 1.0}
    )
    assert max(traj["true_states"]["relative_error"].values()) < 0.01
    assert set(traj["predicted_frames"]["params"]) == {"g_over_l", "damping", "torque_gain"}
    thirds = traj["predicted_frames_by_third"]  # 11 predicted frames in thirds
    assert thirds["frames"] == [[0, 4], [4, 7], [7, 11]] and len(thirds["params"]["damping"]) == 3
    assert thirds["by_name"]["damping.2"] == thirds["params"]["damping"][1]
    drift = m["latent_drift"]  # the rollout's latents against the test posterior's, per third
    assert list(drift["by_third"]) == ["1", "2", "3"] and all(v >= 0 for v in drift["by_third"].values())
    assert list(drift["posterior_by_third"]) == ["1", "2", "3"]
    last, seen = drift["by_third"]["3"], drift["posterior_by_third"]["3"]
    assert drift["left_posterior"] == (last > drift["threshold"] * max(1.0, seen))
    assert json.loads((tmp_path / "metrics.json").read_text())["protocol"]["n_context"] == 4
    lat = np.load(tmp_path / "latents.npz")
    assert lat["z"].shape == (8, 15, 32) and lat["states"].shape == (8, 15, 7)
    assert list(lat["state_names"])[:2] == ["theta", "omega"]
    for f in (
        "video.gif",
        "state_scatter.png",
        "prediction_curves.png",
        "phase_portrait.png",
        "traversals.png",
        "eigenvalues.png",
        "position_curve.png",
    ):
        assert (tmp_path / f).stat().st_size > 0, f
    curve = m["physics"]["position_r2_curve"]  # a value per frame of the 11-frame horizon, for every read
    assert set(curve) == {"predicted", "truth", "held", "mean_frame"} and {
        len(c) for c in curve.values()
    } == {11}
    assert 0 <= m["physics"]["position_valid_frames"] <= 11


def test_cli_evaluate_on_binarized_box(tiny_runs, tmp_path, capsys):
    out = tmp_path / "ev"
    assert (
        main(
            [
                "evaluate",
                str(tiny_runs["box"].path),
                "--out",
                str(out),
                "--no-poly",
                "--n-context",
                "4",
                "--eval.prediction_samples=2",
            ]
        )
        == 0
    )
    m = json.loads((out / "metrics.json").read_text())
    assert m["imputation"]["metric"] == "hamming" and 0 < m["imputation"]["baseline_consecutive_hamming"] < 1
    assert "poly" not in m["physics"] and (out / "phase_portrait.png").exists()
    assert "no registered physics" in m["trajectories"]["skipped"]  # balls: no stated physics to fit
    printed = capsys.readouterr().out
    assert "state recovery" in printed and "read from the predicted frames" in printed
    physics = m["physics"]
    assert "curved probe (degree 3 of the top 8 principal components): x0 " in printed
    gained = curved_only(physics)  # printed as a note exactly where the curved read beats the linear by 0.05
    assert printed.count("through the curved probe against") == len(gained)
    linear, curved = physics["linear"]["r2"], physics["curved"]["r2"]
    assert set(gained) == {n for n in linear if curved[n] > linear[n] + 0.05}
    assert physics["frames_position_r2"]["truth"] > 0.5  # the reader reads the box's true frames: judged
    shown = shows_position(physics["pixel_read"]["predicted"], physics["kinds"])
    assert physics["rollout_frames_shows_position"] is shown
    assert ("warning: the predicted frames show no position" in printed) is (shown is False)
    assert "pixel reader, the held last context frame (a trivial prediction)" in printed
    assert "pixel reader, the mean training frame (a trivial prediction)" in printed
    valid = physics["position_valid_frames"]
    assert f"position valid for {valid} of {len(physics['position_r2_curve']['predicted'])} frames" in printed
    position, base = physics["frames_position_r2"], m["baselines"]
    assert (
        base["pred_position_r2"] == position["predicted"] and base["reader_position_r2"] == position["truth"]
    )
    assert base["hold_last"]["position_r2"] == position["held"]
    assert base["hold_last"]["position_r2_state"] == position["held_state"]
    assert base["mean_frame"]["position_r2"] == position["mean_frame"]
    assert base["position_judged"] is (position["truth"] >= 0.5)
    flagged = [f for f in base["flags"] if f.startswith("position R²")]
    lost = sum(not position["predicted"] > position[ref] for ref in ("held", "mean_frame"))
    assert len(flagged) == (lost if base["position_judged"] else 0)
    assert all(f"warning: {f}" in printed for f in flagged)
    assert (
        f"predictive mean over 2 sampled trajectories: MSE {m['prediction']['sampled']['mse']:.4f}" in printed
    )


def test_cli_predict_data_scores_the_longer_sequences(tiny_runs, tmp_path, capsys):
    long = S.generate(S.preset("dvbf_pendulum16", n_frames=30, splits={"test": 4}, seed=5), tmp_path / "long")
    out = tmp_path / "ev"
    args = ["evaluate", str(tiny_runs["pend"].path), "--predict-data", str(long), "--out", str(out)]
    assert main(args + ["--no-poly", "--no-figures", "--n-context", "4"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    # 30 − 4 frames of the long test set, not 15 − 4 of the training data
    assert m["prediction"]["horizon"] == 26
    assert m["trajectories"]["true_states"]["params"]["g_over_l"] == pytest.approx(9.81, rel=0.01)
    printed = capsys.readouterr().out
    assert "motion of the predicted frames, fitted with the pendulum_driven physics" in printed
    assert "by thirds of the horizon (frames 0–9, 9–17, 17–26)" in printed


def test_a_context_as_long_as_the_test_sequences_predicts_from_the_longer_ones(tiny_runs, tmp_path):
    # the test split holds 15 frames; with 15 context frames only the 30-frame predict data has a future to draw
    long = S.generate(S.preset("dvbf_pendulum16", n_frames=30, splits={"test": 4}, seed=5), tmp_path / "long")
    out = tmp_path / "ev"
    args = ["evaluate", str(tiny_runs["pend"].path), "--predict-data", str(long), "--out", str(out)]
    assert main(args + ["--no-poly", "--n-context", "15"]) == 0
    assert json.loads((out / "metrics.json").read_text())["prediction"]["horizon"] == 15
    with Image.open(out / "video.gif") as gif:
        assert gif.n_frames == 30  # the predict data's length: truth | reconstruction | prediction per frame


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_trained_on_a_gpu_evaluates_on_the_cpu(pend16, tmp_path):
    cfg = RunConfig().with_overrides(
        [f"train.data={json.dumps(str(pend16))}", "train.device=cuda", "train.steps=2", "train.batch_size=4"]
    )
    run = fit(cfg, tmp_path / "gpu", progress=False)
    assert next(run.model.parameters()).is_cuda
    m = evaluate(
        run, out=tmp_path / "ev", cfg=EvalConfig(n_context=4, drop_probs=[0.5], gaps=[3]), figures=False
    )
    assert np.isfinite(m["reconstruction"]["mse"])  # was a device-mismatch error before the model moved


def test_baselines_sit_beside_the_frame_metrics_and_flag_a_model_that_loses(tiny_runs, pend16, tmp_path):
    m = evaluate(
        tiny_runs["pend"],
        out=tmp_path,
        cfg=EvalConfig(n_context=4, drop_probs=[0.5], gaps=[3]),
        figures=False,
    )
    base = m["baselines"]
    data = S.load_dataset(pend16)
    test = np.asarray(data["test"].frames, np.float64) / 255
    held = np.repeat(test[:, 3:4], 11, axis=1)
    assert base["hold_last"]["pred_mse"] == pytest.approx(((held - test[:, 4:]) ** 2).mean(), rel=1e-5)
    mean = (np.asarray(data["train"].frames, np.float64) / 255).mean((0, 1))
    assert base["mean_frame"]["recon_mse"] == pytest.approx(((mean - test) ** 2).mean(), rel=1e-5)
    # 3 training steps cannot beat holding the last frame: the run is flagged, and says by how much
    assert base["beats_all"] == 0.0 and any("holding the last context frame" in f for f in base["flags"])

    # the trivial predictions' VPT by hand: e_t = mean((gt − pred)²) / mean(gt²), first t over 0.025
    def vpt(pred):
        e = ((test[:, 4:] - pred) ** 2).mean((2, 3, 4)) / (test[:, 4:] ** 2).mean((2, 3, 4))
        over = e > 0.025
        return float(np.median(np.where(over.any(1), over.argmax(1), 11)))

    assert base["hold_last"]["vpt_median"] == vpt(held)
    assert base["mean_frame"]["vpt_median"] == vpt(np.broadcast_to(mean, test[:, 4:].shape))


def test_vpt_is_called_uninformative_where_the_mean_frame_lasts_as_long():
    from physvae.evaluation.baselines import vpt_note

    base = {"mean_frame": {"vpt_median": 44.0}}
    note = vpt_note({"vpt_median": 44.0, "horizon": 44}, base)
    assert (
        note.startswith("VPT cannot tell this prediction from the mean training frame") and "44 of 44" in note
    )
    assert vpt_note({"vpt_median": 45.0, "horizon": 50}, base) is None  # the model lasts longer
    assert (
        vpt_note({"vpt_median": 0.0, "horizon": 50}, {"mean_frame": {"vpt_median": 0.0}}) is None
    )  # a tie at 0


def test_baseline_flags_on_constructed_figures():
    from physvae.evaluation.baselines import _flags

    base = {
        "mean_frame": {"recon_mse": 0.05, "pred_mse": 0.05, "hamming": 0.04},
        "hold_last": {"pred_mse": 0.02},
        "always_lit": {"hamming": 0.024},
    }
    good = {
        "reconstruction": {"mse": 0.01},
        "prediction": {"mse": 0.01},
        "imputation": {"metric": "hamming", "drop": {"0.5": 0.01}, "gap": {"15": 0.02}},
    }
    assert _flags(good, base) == []
    collapsed = {
        "reconstruction": {"mse": 0.05},
        "prediction": {"mse": 0.05},
        "imputation": {"metric": "hamming", "drop": {"0.5": 0.024}, "gap": {"15": 0.03}},
    }
    flags = _flags(collapsed, base)
    assert (
        len(flags) == 5
        and "at drop 0.5 0.024 does not beat drawing only the always-lit pixels (0.024)" in flags[3]
    )
    # a long gap lost to the always-lit pixels but not to the mean frame
    assert (
        flags[4]
        == "imputation Hamming at gap 15 0.03 does not beat drawing only the always-lit pixels (0.024)"
    )
    grey = {"imputation": {"metric": "mse", "drop": {"0.9": 0.04}, "gap": {"3": 0.06}}}
    assert _flags(grey, base) == ["imputation MSE at gap 3 0.06 does not beat the mean frame (0.05)"]


def test_sampled_prediction_sits_beside_the_mean_rollout(tiny_runs, pend16):
    """eval.prediction_samples adds the predictive mean's figures, computed on the same frames from the same
    seeded draws; long_horizon gives its second half."""
    from physvae.evaluation.context import EvalContext
    from physvae.evaluation.prediction import Prediction
    from physvae.evaluation.timescales import long_horizon
    from physvae.sampled_prediction import predictive_mean, sample_trajectories

    model = tiny_runs["pend"].model
    cfg = EvalConfig(n_context=4, horizon=6, prediction_samples=3, seed=5, max_sequences=8, poly_probe=False)
    ctx = EvalContext(model, S.load_dataset(pend16), cfg)
    out = Prediction().run(ctx)
    assert out["sampled"]["samples"] == 3 and len(out["sampled"]["mse_curve"]) == 6
    b = next(ctx.batches(ctx.test))
    with torch.no_grad():
        g = torch.Generator().manual_seed(5)
        p = predictive_mean(model, sample_trajectories(model, b.frames, 4, 6, 3, b.inputs, generator=g))
    want = ((p[:, 4:] - b.frames[:, 4:10]) ** 2).mean().item()
    assert out["sampled"]["mse"] == pytest.approx(want, rel=1e-5)
    assert out["mse"] != out["sampled"]["mse"]  # the mean rollout is scored as before, beside it
    assert long_horizon(ctx)["sampled_mse"] == pytest.approx(float(ctx.sampled_scores[:, 3:, 0].mean()))
    plain = EvalContext(model, S.load_dataset(pend16), EvalConfig(n_context=4, horizon=6, max_sequences=8))
    assert "sampled" not in Prediction().run(plain) and "sampled_mse" not in long_horizon(plain)


def test_cli_evaluate_says_what_to_try_when_only_the_prediction_loses(
    tiny_runs, tmp_path, capsys, monkeypatch
):
    from physvae.evaluation import baselines
    from physvae.evaluation.advice import GENERAL, NEURAL_ODE_NARROW

    lost = "prediction MSE 0.03 does not beat the mean frame (0.02)"  # a model that draws, but does not move
    monkeypatch.setattr(baselines, "_flags", lambda results, base: [lost])
    out = tmp_path / "ev"
    argv = ["evaluate", str(tiny_runs["box"].path), "--out", str(out), "--no-poly", "--no-figures"]
    assert main([*argv, "--n-context", "4"]) == 0
    base = json.loads((out / "metrics.json").read_text())["baselines"]
    # the tiny box run: a second-order 32-wide ODE on a black background, its border not drawn
    assert base["advice"] == [GENERAL, NEURAL_ODE_NARROW]
    printed = capsys.readouterr().out
    assert (
        f"warning: {lost}" in printed
        and f"try: {GENERAL}" in printed
        and f"try: {NEURAL_ODE_NARROW}" in printed
    )


def test_curved_only_names_the_targets_the_degree_3_probe_reads_over_005_better():
    physics = {
        "linear": {"r2": {"sin_theta": 0.97, "cos_theta": 0.75, "omega": 0.90}},
        "curved": {"r2": {"sin_theta": 0.99, "cos_theta": 0.99, "omega": 0.96}},
    }
    assert curved_only(physics) == {"cos_theta": (0.75, 0.99), "omega": (0.90, 0.96)}  # 0.02 is no chart
    assert curved_only({"linear": physics["linear"]}) == {}  # a record from before the curved probe


def test_predicted_frames_show_a_position_only_where_one_is_read_better_than_the_mean():
    box = ["coordinate", "coordinate", "velocity", "velocity", "energy"]
    # every position read worse than the states' own mean (figures once read from a NeuralODE's re-read frames)
    default = {"x0": -9.44, "y0": -6.07, "vx0": -2.75, "vy0": -0.68, "energy": -1.84}
    assert shows_position(default, box) is False
    assert shows_position({**default, "y0": 0.01}, box) is True  # one position read: the frames show it
    velocities_read = {**default, "vx0": 0.9, "energy": 0.9}  # velocities and energy are not positions
    assert shows_position(velocities_read, box) is False
    pendulum = [
        "velocity",
        "derived",
        "derived",
        "energy",
    ]  # omega, sin θ, cos θ (derived from the angle), energy
    swing = {"omega": 0.13, "sin_theta": -0.61, "cos_theta": -3.58, "energy": 0.68}  # the default NeuralODE's
    assert shows_position(swing, pendulum) is False
    assert shows_position({**swing, "cos_theta": 0.2}, ["velocity", "angle", "angle", "energy"]) is True
    assert shows_position({"omega": 0.9}, ["velocity"]) is None  # no position target: not judged
    with pytest.raises(ValueError):
        shows_position({"x0": 0.5}, box)  # targets and kinds must pair one to one


def test_the_pixel_reader_reads_what_the_frames_show_with_no_model(tiny_runs, pend16):
    """Predicted, true and held frames are read by one ridge from pixels fit on the training frames; R² per target
    and the held true state are recomputed here by hand."""
    from physvae.data import frames_tensor
    from physvae.evaluation.context import EvalContext
    from physvae.evaluation.state_recovery import StateRecovery

    ctx = EvalContext(
        tiny_runs["pend"].model,
        S.load_dataset(pend16),
        EvalConfig(n_context=4, max_sequences=8, poly_probe=False),
    )
    pred, reader = ctx.predictions, ctx.pixel_reader
    frames = frames_tensor(np.array(ctx.test.frames[:8]))  # (8, 15, 1, 16, 16)
    np.testing.assert_allclose(pred.reads.truth, reader.read(frames[:, 4:]), atol=1e-6)
    np.testing.assert_allclose(pred.reads.held, reader.read(frames[:, 3]), atol=1e-6)
    train = frames_tensor(np.array(ctx.train.frames[: ctx.count(ctx.train)]))
    np.testing.assert_allclose(pred.reads.mean_frame, reader.read(train.mean((0, 1))), atol=1e-5)
    out = StateRecovery().run(ctx)
    y, names = ctx.targets(np.asarray(ctx.test.states[:8], np.float64))
    truth = y[:, 4:].reshape(-1, len(names))

    def by_hand(read):
        read = np.broadcast_to(read, y[:, 4:].shape).reshape(-1, len(names))
        return 1 - ((truth - read) ** 2).sum(0) / ((truth - truth.mean(0)) ** 2).sum(0)

    reads = [
        ("truth", pred.reads.truth),
        ("held", pred.reads.held[:, None]),
        ("mean_frame", pred.reads.mean_frame),
    ]
    for key, read in reads:
        assert np.allclose(list(out["pixel_read"][key].values()), by_hand(read), atol=1e-5)
    # a linear reader with an intercept reads the mean training frame at the training targets' mean: a constant,
    # so its R² is at most 0
    y_train, _ = ctx.targets(np.asarray(ctx.train.states[: ctx.count(ctx.train)], np.float64))
    np.testing.assert_allclose(pred.reads.mean_frame, y_train.reshape(-1, len(names)).mean(0), atol=1e-4)
    assert all(r2 <= 0 for r2 in out["pixel_read"]["mean_frame"].values())
    assert np.allclose(list(out["hold_last_state"]["r2"].values()), by_hand(y[:, 3:4]), atol=1e-6)
    # a bob on black: its centroid is linear in the pixels, so the reader reads the true frames' angle
    assert out["pixel_read"]["truth"]["sin_theta"] > 0.9 and out["pixel_read"]["truth"]["cos_theta"] > 0.9
    assert out["frames_position_r2"]["truth"] > 0.9
    # frame by frame: the positions' mean R² over the 8 sequences at each horizon frame, by hand
    position = [i for i, k in enumerate(out["kinds"]) if k in ("coordinate", "angle", "derived")]
    for key, read in reads + [("predicted", pred.reads.predicted)]:
        read = np.broadcast_to(read, y[:, 4:].shape)
        for h, value in enumerate(out["position_r2_curve"][key]):
            t, r = y[:, 4 + h, position], read[:, h, position]
            assert value == pytest.approx(np.mean(1 - ((t - r) ** 2).sum(0) / ((t - t.mean(0)) ** 2).sum(0)))
    assert out["position_valid_frames"] == position_valid_frames(out["position_r2_curve"])


def test_the_position_curve_is_sklearns_r2_at_each_frame_constant_targets_included():
    from physvae.evaluation.state_recovery import position_r2, position_r2_curve
    from physvae.metrics.probe import r2_per_target

    rng = np.random.default_rng(0)
    truth = rng.normal(size=(6, 4, 3))
    truth[:, 2, 0] = 0.5  # x does not vary at frame 3
    names, kinds = ["x", "y", "vx"], ["coordinate", "coordinate", "velocity"]
    for read in (truth + 0.3 * rng.normal(size=truth.shape), truth[:, 0], np.zeros(3)):
        full = np.broadcast_to(read[:, None] if read.ndim == 2 else read, truth.shape)
        expected = [position_r2(r2_per_target(full[:, h], truth[:, h], names), kinds) for h in range(4)]
        assert position_r2_curve(read, truth, names, kinds) == pytest.approx(expected, abs=1e-12)
    exact = truth.copy()
    assert position_r2_curve(exact, truth, names, kinds) == pytest.approx([1.0] * 4)


def test_the_position_curve_figure_draws_a_diverged_rollout_and_skips_a_missing_curve(tmp_path):
    from physvae.viz.figures import position_curve

    nan = float("nan")
    physics = {
        "position_r2_curve": {
            "predicted": [0.9, nan, nan],
            "truth": [1.0] * 3,
            "held": [0.5, -2, -9],
            "mean_frame": [-0.1] * 3,
        },
        "position_valid_frames": 1,
    }
    assert position_curve(physics, tmp_path / "curve.png").stat().st_size > 0
    physics["position_r2_curve"] = {
        k: [nan] * 3 for k in physics["position_r2_curve"]
    }  # nothing finite at all
    assert position_curve(physics, tmp_path / "nan.png").stat().st_size > 0
    assert (
        position_curve({"linear": {}}, tmp_path / "none.png") is None and not (tmp_path / "none.png").exists()
    )


def test_position_valid_frames_count_the_frames_before_a_trivial_prediction_shows_it_as_well():
    curves = {
        "predicted": [0.95, 0.90, 0.40, 0.80],
        "held": [0.90, 0.50, 0.30, -1.0],
        "mean_frame": [-0.2, -0.1, 0.45, -0.3],
    }
    assert position_valid_frames(curves) == 2  # frame 3 loses to the mean frame; frame 4's win comes too late
    assert position_valid_frames({**curves, "held": [0.95, 0.5, 0.3, -1.0]}) == 0  # a tie is no win
    assert position_valid_frames({**curves, "mean_frame": [-1.0] * 4}) == 4
    assert position_valid_frames({**curves, "predicted": [0.95, float("nan"), 0.9, 0.9]}) == 1
    # a settling pendulum: late frames' states barely vary, every R² far below 0; beating the trivial ones is not
    # showing the position
    settling = {
        "predicted": [0.9, 0.3, -0.02, -14.5],
        "held": [0.4, -5.0, -15.1, -89.0],
        "mean_frame": [-40.0] * 4,
    }
    assert position_valid_frames(settling) == 2


def test_pixels_average_pool_large_frames_to_at_most_32_a_side():
    from physvae.evaluation.pixel_reader import pixels

    frames = torch.rand(2, 3, 3, 64, 48)  # (N, T, C, H, W): pooled by 2 to 32 × 24
    want = frames.reshape(2, 3, 3, 32, 2, 24, 2).mean((4, 6)).reshape(2, 3, -1).numpy()
    np.testing.assert_allclose(pixels(frames), want, atol=1e-6)
    assert pixels(torch.rand(5, 1, 16, 16)).shape == (5, 256)  # small frames are kept as they are


def test_r2_per_target_on_a_hand_worked_case():
    from physvae.metrics.probe import r2_per_target

    last = np.array([[[0.0]], [[10.0]]])  # two sequences, one target, held over three frames
    future = np.array([[[1.0], [2.0], [3.0]], [[11.0], [12.0], [13.0]]])
    # truth mean 7: SS_tot = 36+25+16+16+25+36 = 154; SS_res = 1+4+9+1+4+9 = 28
    assert r2_per_target(last, future, ["x"]) == {"x": pytest.approx(1 - 28 / 154)}


def test_a_prediction_is_flagged_where_its_frames_show_the_position_no_better_than_a_trivial_one():
    from physvae.evaluation.baselines import _position_flags
    from physvae.evaluation.state_recovery import position_r2

    box = ["coordinate", "coordinate", "velocity", "velocity", "energy"]
    assert position_r2({"x0": 0.22, "y0": 0.05, "vx0": 0.9, "vy0": 0.9, "energy": 0.9}, box) == pytest.approx(
        0.135
    )
    assert position_r2({"vx0": 0.9}, ["velocity"]) is None
    assert np.isnan(position_r2({"x0": np.nan, "y0": 0.5, "vx0": 0, "vy0": 0, "energy": 0}, box))

    def base(pred, held, mean=-0.01, judged=True):
        return {
            "pred_position_r2": pred,
            "position_judged": judged,
            "hold_last": {"pred_mse": 0.02, "position_r2": held},
            "mean_frame": {"recon_mse": 0.03, "position_r2": mean},
        }

    assert _position_flags(base(0.4, 0.1)) == []
    assert _position_flags(base(0.1, 0.1)) == [  # no better: equal loses, as for MSE
        "position R² read from the predicted frames 0.1 does not beat holding the last context frame (0.1; both "
        "read by the pixel reader)"
    ]
    # beats the held frame (far below 0 over a long horizon) but not the mean frame
    assert _position_flags(base(-0.23, -3.13, mean=-0.02)) == [
        "position R² read from the predicted frames -0.23 does not beat the mean frame (-0.02; both read by the "
        "pixel reader)"
    ]
    assert len(_position_flags(base(-9.4, -0.3))) == 2 and len(_position_flags(base(np.nan, -0.3))) == 2
    assert _position_flags(base(-9.4, -0.3, judged=False)) == []  # the reader cannot read the true frames
    assert _position_flags({"hold_last": {"pred_mse": 0.02}}) == []  # no positions: not judged
