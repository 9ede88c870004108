"""train.predict_weight = "auto": the prediction term's weight by transition, resolved to a number before a run;
train.predict_weight_start: the early weight that falls to 0 over the first predict_weight_fall of the steps."""

import json
import math

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
    1 with no early weight (as before either existed), a LocallyLinear one to one trained at 0.25 from 1."""
    auto = RunConfig()
    assert training_settings(auto) == training_settings(
        RunConfig().with_overrides(["train.predict_weight=0.25", "train.predict_weight_start=1"])
    )
    ode = RunConfig().with_overrides(["model.transition=neural_ode"])
    assert training_settings(ode) == training_settings(
        ode.with_overrides(["train.predict_weight=1.0", "train.predict_weight_start=0"])
    )
    for other in (["train.predict_weight=1.0"], ["train.predict_weight=0.25"]):  # the second: no early weight
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


def test_lambda_falls_from_the_early_weight_to_the_weight_by_half_a_cosine():
    cfg = TrainConfig(
        data="x", steps=1000, predict_weight=0.25, predict_weight_start=1.0, predict_weight_fall=0.5
    )
    lam = [predict_weight_at(cfg, s) for s in range(1001)]
    assert lam[0] == 1.0 and lam[250] == pytest.approx(0.5) and lam[500] == lam[1000] == 0.25
    assert lam[150] == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.3)))  # early weight above 0.25 here
    assert all(a >= b for a, b in zip(lam, lam[1:])) and min(lam) == 0.25
    flat = TrainConfig(data="x", steps=1000, predict_weight=0.25, predict_weight_start=0.0)
    assert {predict_weight_at(flat, s) for s in range(1001)} == {0.25}
    above = TrainConfig(data="x", steps=1000, predict_weight=1.0, predict_weight_start=0.5)
    assert {predict_weight_at(above, s) for s in range(1001)} == {1.0}  # the weight is a floor


def test_a_rewarm_of_beta_starts_the_early_weight_over():
    cfg = TrainConfig(
        data="x", steps=1000, predict_weight=0.25, predict_weight_start=1.0, predict_weight_fall=0.5
    )
    assert predict_weight_at(cfg, 600, [250]) == 0.25 and predict_weight_at(cfg, 600, [500]) == pytest.approx(
        0.5 * (1 + math.cos(math.pi * 100 / 500))
    )
    assert predict_weight_at(cfg, 500, [500]) == 1.0  # the re-warm's own step: the early weight at its start
    assert [predict_weight_at(cfg, s, [250, 500]) for s in (750, 1000)] == [pytest.approx(0.5), 0.25]


def test_training_logs_the_lambda_of_each_step(pend16, tmp_path):
    cfg = RunConfig()
    cfg.model.latent_dim, cfg.model.channels, cfg.model.features, cfg.model.rnn_hidden = 2, 4, 16, 16
    cfg.train.data, cfg.train.batch_size, cfg.train.steps, cfg.train.threads = str(pend16), 4, 4, 1
    cfg.train.log_every = 1
    fit(cfg, tmp_path / "r", progress=False)
    lines = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    logged = [x["predict_weight"] for x in lines if "loss" in x]
    span = cfg.train.predict_weight_fall * 4  # the early weight falls over this many of the 4 steps
    expected = [max(0.25, 0.5 * (1 + math.cos(math.pi * min(s / span, 1)))) for s in range(1, 5)]
    assert logged == pytest.approx(expected) and logged[0] > logged[-1] == 0.25


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "train.predict_weight_start=big",
            r'train.predict_weight_start must be a number >= 0 or "auto".*big',
        ),
        ("train.predict_weight_start=-1", "train.predict_weight_start"),
        (
            "train.predict_weight_fall=0",
            r"train.predict_weight_fall must be a fraction of the steps in \(0, 1\]",
        ),
        ("train.predict_weight_fall=1.5", "train.predict_weight_fall"),
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
