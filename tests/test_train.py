import json
import os

import numpy as np
import pytest
import torch

import physvae
from physvae import RunConfig, TrainingDiverged, fit
from physvae.checkpoint import load as load_ckpt
from physvae.cli import main
from physvae.provenance import code_source
from physvae.train import _predict_context
from simulators import ConfigError


def _config(data, **train) -> RunConfig:
    cfg = RunConfig()
    cfg.model.channels, cfg.model.features, cfg.model.rnn_hidden = 4, 16, 16
    cfg.train.data, cfg.train.batch_size, cfg.train.steps = str(data), 4, 6
    cfg.train.checkpoint_every, cfg.train.log_every, cfg.train.threads = 2, 1, 1
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


class Killed(Exception):
    pass


def _kill_at(step):
    def callback(s, metrics):
        if s == step:
            raise Killed

    return callback


@pytest.mark.parametrize("transition", sorted(physvae.TRANSITIONS))
def test_resumed_run_ends_with_the_same_parameters(pend16, tmp_path, transition):
    cfg = _config(pend16, mask_prob=0.2, predict_weight=0.5, predict_context=2, predict_context_max=6)
    cfg.model.transition = transition  # every term of the loss on, with a random context length
    full = fit(cfg, tmp_path / "full", progress=False)
    with pytest.raises(Killed):
        fit(cfg, tmp_path / "killed", progress=False, callback=_kill_at(5))  # last checkpoint: step 4
    assert load_ckpt(tmp_path / "killed" / "checkpoints" / "last.pt")["step"] == 4
    resumed = fit(RunConfig(), tmp_path / "killed", resume=True, progress=False)
    a, b = full.model.state_dict(), resumed.model.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert [m["step"] for m in resumed.metrics()] == [1, 2, 3, 4, 5, 6]
    assert [m["loss"] for m in resumed.metrics()] == [m["loss"] for m in full.metrics()]


def test_nan_stops_training_and_keeps_the_last_good_checkpoint(pend16, tmp_path):
    def poison(step, metrics):
        if step == 3:
            with torch.no_grad():
                next(run_model[0].parameters()).fill_(float("nan"))

    run_model = []
    orig = physvae.train.seeded_model  # fit's model is made there (before the run folder)

    def build(*args):
        run_model.append(orig(*args))
        return run_model[-1]

    physvae.train.seeded_model = build
    try:
        with pytest.raises(TrainingDiverged, match="at step 4"):
            fit(_config(pend16), tmp_path / "r", progress=False, callback=poison)
    finally:
        physvae.train.seeded_model = orig
    state = load_ckpt(tmp_path / "r" / "checkpoints" / "last.pt")
    assert state["step"] == 2
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert not (tmp_path / "r" / "model.pt").exists()


def test_config_save_load_identical(tmp_path):
    cfg = RunConfig().with_overrides(
        ["model.transition=neural_ode", "model.neural_ode.order=1", "train.lr=0.003"]
    )
    path = cfg.save(tmp_path / "c.toml")
    assert RunConfig.load(path) == cfg
    assert RunConfig.load(path).model.neural_ode.order == 1


@pytest.mark.parametrize(
    "override,match",
    [
        ("model.latent=3", "unknown key 'model.latent'"),
        ("train.steps=ten", "train.steps must be an integer"),
        ("train.steps=1.5", "train.steps must be an integer"),
        ("model.neural_ode.adjoint=3", "must be a bool"),
        ("nothing=1", "unknown key 'nothing'"),
    ],
)
def test_overrides_are_type_checked(override, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig().with_overrides([override])


@pytest.mark.parametrize(
    "override,match",
    [
        ("train.predict_weight=-1", "train.predict_weight must be"),
        ("train.predict_context=0", "train.predict_context must be an integer >= 1"),
        ("train.predict_context_max=-1", "train.predict_context_max must be an integer >= 0"),
        ("model.locally_linear.max_norm=-0.5", "model.locally_linear.max_norm must be"),
        ("model.locally_linear.regimes=0", "model.locally_linear.regimes must be an integer >= 1"),
    ],
)
def test_bad_loss_and_transition_settings_name_the_field(override, match):
    cfg = RunConfig().with_overrides(["train.data=somewhere", override])
    with pytest.raises(ConfigError, match=match):
        cfg.validate()


def test_random_prediction_context_covers_its_range_and_repeats_per_step():
    cfg = RunConfig().with_overrides(["train.predict_context=2", "train.predict_context_max=6"]).train
    draws = [_predict_context(cfg, np.random.default_rng([0, s]), 15) for s in range(200)]
    assert set(draws) == {2, 3, 4, 5, 6}
    assert draws == [_predict_context(cfg, np.random.default_rng([0, s]), 15) for s in range(200)]
    short = {_predict_context(cfg, np.random.default_rng([0, s]), 5) for s in range(200)}
    assert short == {2, 3, 4}  # clipped to the window: at least one frame left to predict
    for top in (0, 1, 2):  # no range above predict_context: a fixed context
        fixed = RunConfig().with_overrides([f"train.predict_context_max={top}"]).train
        assert {_predict_context(fixed, np.random.default_rng(s), 15) for s in range(20)} == {2}
    longer = RunConfig().with_overrides(["train.predict_context=10"]).train  # above the default maximum of 6
    assert {_predict_context(longer, np.random.default_rng(s), 15) for s in range(20)} == {10}


def test_load_gives_a_model_ready_to_evaluate(pend16, tmp_path):
    run = fit(_config(pend16), tmp_path / "r", progress=False)
    again = physvae.load(tmp_path / "r")
    assert not again.model.training
    frames = torch.rand(2, 15, 1, 16, 16)
    a, _ = run.model.reconstruct(frames, inputs=torch.zeros(2, 15, 1))
    b, _ = again.model.reconstruct(frames, inputs=torch.zeros(2, 15, 1))
    torch.testing.assert_close(a, b)
    assert again.summary()["steps"] == 6 and again.metrics()[-1]["step"] == 6


def test_cli_train_resume_and_errors(pend16, tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "train",
        "--data",
        str(pend16),
        "--out",
        str(out),
        "--quiet",
        "--model.transition=gru",
        "--model.channels",
        "4",
        "--train.steps=2",
        "--train.batch_size=2",
    ]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2 and summary["source"] == code_source()
    assert main(args) == 2 and "already holds a run" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    assert (
        main(["train", "--data", str(pend16), "--out", str(tmp_path / "x"), "--model.transition=spring"]) == 2
    )
    assert "unknown transition 'spring'" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2


def test_collapse_is_detected_on_numbers_from_both_sides():
    from physvae.collapse import collapsed

    assert collapsed(
        kl=0.001, recon_mse=0.027, mean_frame_mse=0.027
    )  # nothing in the latents, the mean frame
    assert not collapsed(kl=0.001, recon_mse=0.010, mean_frame_mse=0.027)  # reconstructs better than the mean
    assert not collapsed(kl=0.5, recon_mse=0.030, mean_frame_mse=0.027)  # early training: latents in use
    # a KL kept above the floor while the decoder draws one frame whatever the latents (the spread): collapse too
    assert collapsed(kl=0.25, recon_mse=0.027, mean_frame_mse=0.027, spread=0.013)
    assert not collapsed(kl=0.25, recon_mse=0.027, mean_frame_mse=0.027, spread=0.9)  # drawn, not yet well
    assert not collapsed(kl=0.25, recon_mse=0.010, mean_frame_mse=0.027, spread=0.013)  # beats the mean frame


def test_the_decoded_spread_is_the_share_of_the_frames_variation_drawn():
    from physvae.collapse import SPREAD_MIN_STEP, spread_judged, spread_ratio

    frames = torch.rand(4, 5, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    mean = frames.mean((0, 1))
    assert spread_ratio(frames, frames) == pytest.approx(1.0)
    assert spread_ratio(mean.expand_as(frames) + 0.3, frames) == pytest.approx(0.0, abs=1e-12)  # one frame
    assert spread_ratio(mean + 0.5 * (frames - mean), frames) == pytest.approx(0.25)  # half the departures
    assert spread_ratio(frames, torch.ones_like(frames)) is None  # frames all alike: nothing to judge
    assert not spread_judged(SPREAD_MIN_STEP - 1, 200) and spread_judged(SPREAD_MIN_STEP, 200)
    assert not spread_judged(999, 4000) and spread_judged(1000, 4000)  # a quarter of the steps


def test_a_model_forced_to_collapse_is_reported_and_a_normal_one_is_not(pend16, tmp_path, capsys):
    base = [
        f"train.data={json.dumps(str(pend16))}",
        "model.latent_dim=2",
        "model.channels=4",
        "model.features=16",
        "model.rnn_hidden=16",
        "train.steps=40",
        "train.batch_size=8",
        "train.log_every=5",
    ]
    # a fixed pixel noise of 1 makes every frame nearly free to explain: the optimum is q = prior, the mean frame
    args = ["train", "--out", str(tmp_path / "c"), "--quiet", *(f"--{o}" for o in base)]
    assert main(args + ["--model.obs_std=1.0", "--train.lr=0.01"]) == 0
    err = capsys.readouterr().err
    assert "warning: posterior collapse at the end of training" in err
    assert "no better than the mean" not in err
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert summary["collapse"]["at_end"] and "kl_warmup" in summary["collapse"]["advice"]
    last = [json.loads(line) for line in (tmp_path / "c" / "metrics.jsonl").read_text().splitlines()][-1]
    assert last["collapsed"] and last["kl"] < 0.01 and last["recon_mse"] >= 0.95 * last["mean_frame_mse"]
    run = fit(RunConfig().with_overrides(base), tmp_path / "n", progress=False)
    assert run.summary()["collapse"] == {"at_end": False, "logged_steps_collapsed": 0}
    # three steps in, the latents are in use and the decoder has not learned the frame yet: said, not as collapse
    assert main(["train", "--out", str(tmp_path / "e"), "--quiet", *(f"--{o}" for o in base), "--train.steps=3",
                 "--train.log_every=1"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "is no better than the mean frame's" in err and "collapse" not in err
    summary = json.loads((tmp_path / "e" / "summary.json").read_text())
    assert summary["mean_frame"]["no_better_at_end"] and not summary["collapse"]["at_end"]


def test_a_decoder_drawing_one_frame_is_collapse_though_its_kl_is_above_the_floor(
    pend16, tmp_path, capsys, monkeypatch
):
    from physvae import collapse

    # an untrained decoder draws about one frame whatever its latents, with a KL above the floor: judged from
    # step 0 here (by default from step 100 and a quarter of the steps, as every decoder starts so)
    monkeypatch.setattr(collapse, "SPREAD_MIN_STEP", 0)
    args = ["train", "--out", str(tmp_path / "s"), "--quiet", f"--train.data={json.dumps(str(pend16))}",
            "--model.latent_dim=2", "--model.channels=4", "--model.features=16", "--model.rnn_hidden=16",
            "--train.batch_size=8", "--train.steps=4", "--train.log_every=1"]  # fmt: skip
    assert main(args) == 0
    assert "warning: posterior collapse at the end of training" in capsys.readouterr().err
    lines = [json.loads(line) for line in (tmp_path / "s" / "metrics.jsonl").read_text().splitlines()]
    last = lines[-1]
    assert last["kl"] >= collapse.KL_FLOOR and last["decoded_spread"] < collapse.SPREAD_FLOOR
    assert (
        last["collapsed"] and json.loads((tmp_path / "s" / "summary.json").read_text())["collapse"]["at_end"]
    )


def test_a_torn_last_metrics_line_is_trimmed_on_resume(pend16, tmp_path):
    cfg = _config(pend16)
    with pytest.raises(Killed):
        fit(cfg, tmp_path / "run", progress=False, callback=_kill_at(5))
    with open(tmp_path / "run" / "metrics.jsonl", "a") as f:
        f.write('{"step": 6, "lo')  # a full disk cut the append short
    resumed = fit(RunConfig(), tmp_path / "run", resume=True, progress=False)
    assert [m["step"] for m in resumed.metrics()] == [1, 2, 3, 4, 5, 6]


def test_a_run_killed_while_being_created_can_be_started_again(pend16, tmp_path, monkeypatch):
    cfg = _config(pend16, steps=2)

    def killed(self, path):
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(RunConfig, "save", killed)  # config.toml, which marks a run, is written last
        with pytest.raises(Killed):
            fit(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "config.toml").exists()
    assert fit(cfg, tmp_path / "run", progress=False).finished
    # a run an older physvae left with config.toml but no spec.json: resuming names it, a fresh start works
    (tmp_path / "run" / "spec.json").unlink()
    with pytest.raises(ConfigError, match="has no spec.json"):
        fit(RunConfig(), tmp_path / "run", resume=True, progress=False)
    assert fit(cfg, tmp_path / "run", progress=False).finished


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_failed_start_leaves_nothing_that_blocks_the_retry(pend16, tmp_path):
    with pytest.raises(ConfigError, match="torch sees no CUDA device"):
        fit(_config(pend16, device="cuda"), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
    assert fit(_config(pend16, steps=2, device="cpu"), tmp_path / "run", progress=False).finished


def test_a_model_the_data_cannot_make_leaves_no_run_behind(pend16, tmp_path):
    """Checks that need the data and the model together (here: a known parameter the data's physics lacks) run
    before the run folder is made, so the corrected retry into the same folder works."""
    cfg = _config(pend16, steps=2)
    cfg.model.transition, cfg.model.latent_dim = "physics", 4
    cfg.model.physics.known = {"gravity": 9.81}
    with pytest.raises(ConfigError, match="known names 'gravity'"):
        fit(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
    cfg.model.physics.known = {"torque_gain": 1.0}
    assert fit(cfg, tmp_path / "run", progress=False).finished


def test_stale_temporaries_are_removed_and_live_ones_kept(pend16, tmp_path):
    with pytest.raises(Killed):
        fit(_config(pend16), tmp_path / "run", progress=False, callback=_kill_at(3))
    dead, live = 4_194_305, os.getpid()  # above Linux's largest pid: no such process
    stale = [
        tmp_path / "run" / "checkpoints" / f".last.pt.tmp-{dead}",
        tmp_path / "run" / f".spec.json.tmp-{dead}",
    ]
    kept = tmp_path / "run" / f".notes.txt.tmp-{live}"
    for path in [*stale, kept]:
        path.write_bytes(b"half")
    fit(RunConfig(), tmp_path / "run", resume=True, progress=False)
    assert not any(p.exists() for p in stale) and kept.exists()


def test_a_flipped_bit_in_a_saved_weight_is_an_error_naming_the_file(tmp_path):
    from physvae import checkpoint

    weights = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "n": torch.tensor(3)}
    path = checkpoint.save_atomic({"model": weights, "step": 1}, tmp_path / "model.pt")
    assert torch.equal(checkpoint.load(path)["model"]["w"], weights["w"])
    raw = bytearray(path.read_bytes())
    at = raw.find(weights["w"].numpy().tobytes())  # the tensor's bytes inside the zip, stored uncompressed
    assert at > 0
    raw[at + 5] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(
        ConfigError, match=r"model.pt is corrupted: its weights do not match their saved SHA-256"
    ):
        checkpoint.load(path)


def test_a_reconstruction_no_better_than_the_mean_frame_is_said_without_collapse():
    from physvae.collapse import against_mean_frame

    lines = [{"step": 5, "recon_mse": 0.03, "mean_frame_mse": 0.02, "collapsed": False},
             {"step": 10, "recon_mse": 0.024, "mean_frame_mse": 0.013, "collapsed": False}]  # fmt: skip
    worse = against_mean_frame(lines)
    assert worse["no_better_at_end"] and worse["ratio"] == pytest.approx(0.024 / 0.013)
    assert "decoder can draw" in worse["advice"]
    lines[-1].update(recon_mse=0.005)
    assert against_mean_frame(lines) == {
        "recon_mse": 0.005, "mean_frame_mse": 0.013, "ratio": pytest.approx(0.005 / 0.013), "no_better_at_end": False
    }  # fmt: skip
    lines[-1].update(recon_mse=0.013, collapsed=True)  # collapse has its own advice
    assert "advice" not in against_mean_frame(lines) and against_mean_frame(lines)["no_better_at_end"]
    assert against_mean_frame([{"step": 1, "loss": 0.0}]) == {}  # nothing logged to judge
