"""train.predict_weight = "auto": the prediction term's weight by transition, resolved to a number before a run;
train.predict_weight_start: λ while the decoder draws one frame whatever the latents."""

import json

import pytest

from physvae import RunConfig, fit
from physvae.bench.runner import training_settings
from physvae.config import PREDICT_WEIGHT_AUTO, PREDICT_WEIGHT_START_AUTO, TrainConfig
from physvae.train import predict_weight_at
from simulators import ConfigError


def test_auto_is_the_default_and_resolves_by_transition():
    cfg = RunConfig()
    assert cfg.train.predict_weight == "auto" and cfg.model.transition == "locally_linear"
    assert cfg.predict_weight() == PREDICT_WEIGHT_AUTO["locally_linear"] == 0.25
    for transition in ("neural_ode", "gru", "hamiltonian", "physics"):
        assert cfg.with_overrides([f"model.transition={transition}"]).predict_weight() == 1.0
    assert cfg.with_overrides(["train.predict_weight=0"]).predict_weight() == 0.0
    assert cfg.with_overrides(["train.predict_weight=0.5", "model.transition=gru"]).predict_weight() == 0.5


def test_validate_writes_the_number_so_a_saved_run_keeps_it(tmp_path):
    cfg = RunConfig().with_overrides(["train.data=x"]).validate()
    assert cfg.train.predict_weight == 0.25
    assert RunConfig.load(cfg.save(tmp_path / "config.toml")).train.predict_weight == 0.25


def test_a_word_other_than_auto_is_refused_by_name():
    with pytest.raises(ConfigError, match=r'train.predict_weight must be a number >= 0 or "auto".*big'):
        RunConfig().with_overrides(["train.data=x", "train.predict_weight=big"]).validate()
    with pytest.raises(ConfigError, match="train.predict_weight"):
        RunConfig().with_overrides(["train.data=x", "train.predict_weight=-1"]).validate()


def test_auto_still_needs_frames_to_predict():
    train = TrainConfig(data="x", predict_context=15)
    with pytest.raises(ConfigError, match="prediction term would predict nothing"):
        train.check_length(15, "split 'train'")


def test_a_cell_left_to_auto_records_the_number_it_trained_with():
    """A record's settings hold the resolved weights: a neural ODE cell at "auto" compares equal to one trained at
    1 with no start weight (as before either existed), a LocallyLinear one to one trained at 0.25 from 1."""
    auto = RunConfig()
    assert training_settings(auto) == training_settings(
        RunConfig().with_overrides(["train.predict_weight=0.25", "train.predict_weight_start=1"])
    )
    ode = RunConfig().with_overrides(["model.transition=neural_ode"])
    assert training_settings(ode) == training_settings(
        ode.with_overrides(["train.predict_weight=1.0", "train.predict_weight_start=0"])
    )
    for other in (["train.predict_weight=1.0"], ["train.predict_weight=0.25"]):  # the second: no start weight
        assert training_settings(auto) != training_settings(RunConfig().with_overrides(other))


def test_training_at_auto_is_training_at_the_resolved_number(pend16, tmp_path):
    def losses(weight: str) -> list[float]:
        final, _, start = weight.partition(" --start ")
        cfg = RunConfig().with_overrides(
            [f"train.predict_weight={final}"] + [f"train.predict_weight_start={start}"] * bool(start)
        )
        cfg.model.channels, cfg.model.features, cfg.model.rnn_hidden = 4, 16, 16
        cfg.train.data, cfg.train.batch_size, cfg.train.steps = str(pend16), 4, 4
        cfg.train.log_every, cfg.train.threads = 1, 1
        fit(cfg, tmp_path / weight.replace(" ", "_"), progress=False)
        lines = (tmp_path / weight.replace(" ", "_") / "metrics.jsonl").read_text().splitlines()
        return [json.loads(line)["loss"] for line in lines if '"loss"' in line]

    auto = losses("auto")
    assert len(auto) == 4 and auto == losses("0.25 --start 1") and auto != losses("1.0")


def test_a_run_saved_before_the_prediction_term_resumes_without_it(pend16, tmp_path):
    """A config.toml without predict_weight was written before the term existed: the run trained the plain ELBO and
    goes on so, not at today's "auto" (0.25 for this LocallyLinear)."""
    from physvae.run import Run

    cfg = RunConfig()
    cfg.model.latent_dim, cfg.model.channels, cfg.model.features, cfg.model.rnn_hidden = 2, 4, 16, 16
    cfg.train.data, cfg.train.batch_size, cfg.train.steps, cfg.train.threads = str(pend16), 4, 2, 1
    run = fit(cfg, tmp_path / "r", progress=False)
    saved = (run.path / "config.toml").read_text()
    assert "predict_weight = 0.25" in saved and Run(run.path).config.train.predict_weight == 0.25
    older = "".join(line for line in saved.splitlines(keepends=True) if not line.startswith("predict_weight"))
    (run.path / "config.toml").write_text(older)  # as physvae wrote it before the term
    assert Run(run.path).config.train.predict_weight == 0.0
    assert Run(run.path).config.train.predict_weight_start == 0.0
    assert Run(run.path).config.train.predict_weight_release == 1.0  # the whole rise, as before the field


def test_the_early_weight_is_resolved_by_transition_only_where_the_weight_is_auto():
    assert RunConfig().predict_weight_start() == PREDICT_WEIGHT_START_AUTO["locally_linear"] == 1.0
    for transition in ("neural_ode", "gru", "hamiltonian", "physics"):
        assert RunConfig().with_overrides([f"model.transition={transition}"]).predict_weight_start() == 0.0
    # a weight set by hand (the published objectives' 0 among them) trains as set, from the first step
    assert RunConfig().with_overrides(["train.predict_weight=0"]).predict_weight_start() == 0.0
    both = RunConfig().with_overrides(
        ["train.data=x", "train.predict_weight=0", "train.predict_weight_start=2"]
    )
    assert both.validate().train.predict_weight_start == 2.0 and both.train.predict_weight == 0.0


def test_lambda_holds_at_the_start_while_the_decoded_frames_do_not_vary():
    cfg = TrainConfig(data="x", predict_weight=0.25, predict_weight_start=1.0)
    assert predict_weight_at(cfg, 0.0) == 1.0  # one frame drawn whatever the latents: the start weight
    assert predict_weight_at(cfg, 0.4) == pytest.approx(0.6) and predict_weight_at(cfg, 0.75) == 0.25
    assert (
        predict_weight_at(cfg, 1.0) == predict_weight_at(cfg, 1.3) == 0.25
    )  # as varied as the data, or more
    flat = TrainConfig(data="x", predict_weight=0.25, predict_weight_start=0.0)
    assert {predict_weight_at(flat, s) for s in (0.0, 0.5, 1.0)} == {0.25}
    above = TrainConfig(data="x", predict_weight=1.0, predict_weight_start=0.5)
    assert {predict_weight_at(above, s) for s in (0.0, 0.5, 1.0)} == {1.0}  # the weight is a floor


def test_training_logs_the_lambda_each_step_took_from_the_step_before(pend16, tmp_path):
    cfg = RunConfig()
    cfg.model.latent_dim, cfg.model.channels, cfg.model.features, cfg.model.rnn_hidden = 2, 4, 16, 16
    cfg.train.data, cfg.train.batch_size, cfg.train.steps, cfg.train.threads = str(pend16), 4, 6, 1
    cfg.train.log_every = 1
    fit(cfg, tmp_path / "r", progress=False)
    lines = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    steps = [x for x in lines if "loss" in x]
    spreads = [0.0] + [x["decoded_spread"] for x in steps[:-1]]  # before the first step: none
    assert [x["predict_weight"] for x in steps] == pytest.approx(
        [max(0.25, 1.0 - min(s, 1.0)) for s in spreads]
    )
    assert steps[0]["predict_weight"] == 1.0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "train.predict_weight_start=big",
            r'train.predict_weight_start must be a number >= 0 or "auto".*big',
        ),
        ("train.predict_weight_start=-1", "train.predict_weight_start"),
    ],
)
def test_a_bad_early_weight_is_refused_by_name(override, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig().with_overrides(["train.data=x", override]).validate()


def test_a_killed_cell_from_before_the_fields_is_judged_by_what_it_ran(tmp_path):
    """A suite's run folder whose config.toml predates predict_weight trained the plain ELBO: resumed by a cell at
    0 it is kept, by a cell at "auto" it is set aside (not read as "auto" itself and resumed)."""
    from physvae.bench.runner import set_aside_if_changed

    plain = RunConfig().with_overrides(["train.data=x", "train.predict_weight=0"]).validate()
    run_dir = tmp_path / "cell"
    run_dir.mkdir()
    text = plain.save(run_dir / "config.toml").read_text()
    older = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("predict_weight"))
    (run_dir / "config.toml").write_text(older)
    assert set_aside_if_changed(run_dir, plain, tmp_path / "aside") is None
    moved = set_aside_if_changed(run_dir, RunConfig().with_overrides(["train.data=x"]), tmp_path / "aside")
    assert moved == tmp_path / "aside" / "cell-1" and not run_dir.exists()


def test_a_killed_cell_whose_settings_cannot_be_read_is_set_aside(tmp_path, capsys):
    """A run folder left by a physvae that had a field since removed (train.predict_weight_fall, 2026-12-07) trains
    afresh, saying why, rather than stopping the cell on an unknown key."""
    from physvae.bench.runner import set_aside_if_changed

    cfg = RunConfig().with_overrides(["train.data=x"]).validate()
    run_dir = tmp_path / "cell"
    run_dir.mkdir()
    text = cfg.save(run_dir / "config.toml").read_text()
    (run_dir / "config.toml").write_text(text.replace("[train]\n", "[train]\npredict_weight_fall = 0.75\n"))
    assert set_aside_if_changed(run_dir, cfg, tmp_path / "aside") == tmp_path / "aside" / "cell-1"
    out = capsys.readouterr().out
    assert (
        "settings this physvae cannot read" in out
        and "predict_weight_fall" in out
        and "training afresh" in out
    )


def test_the_release_sets_the_spread_at_which_lambda_is_back_at_the_weight():
    cfg = TrainConfig(data="x", predict_weight=0.25, predict_weight_start=1.0, predict_weight_release=0.5)
    assert predict_weight_at(cfg, 0.0) == 1.0  # the hold is the same
    assert predict_weight_at(cfg, 0.2) == pytest.approx(0.6)  # 1 × (1 − 0.2 / 0.5)
    assert predict_weight_at(cfg, 0.375) == 0.25  # 1 × (1 − 0.75) reaches the weight
    assert predict_weight_at(cfg, 0.5) == predict_weight_at(cfg, 0.9) == 0.25
    whole = TrainConfig(data="x", predict_weight=0.25, predict_weight_start=1.0)
    assert whole.predict_weight_release == 1.0 and predict_weight_at(whole, 0.2) == pytest.approx(0.8)


@pytest.mark.parametrize("bad", [0, -0.5, 1.5, float("nan"), "half"])
def test_a_release_outside_zero_to_one_is_refused_by_name(bad):
    with pytest.raises(ConfigError, match=r"train\.predict_weight_release"):
        TrainConfig(data="x", predict_weight_release=bad).validate()
