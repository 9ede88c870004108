"""train.predict_weight = "auto": the prediction term's weight by transition, resolved to a number before a run."""

import json

import pytest

from physvae import RunConfig, fit
from physvae.bench.runner import training_settings
from physvae.config import PREDICT_WEIGHT_AUTO, TrainConfig
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
    """A record's settings hold the resolved weight: a neural ODE cell at "auto" compares equal to one trained at
    1 before "auto" existed, a LocallyLinear one to one trained at 0.25."""
    auto = RunConfig()
    assert training_settings(auto) == training_settings(
        RunConfig().with_overrides(["train.predict_weight=0.25"])
    )
    ode = RunConfig().with_overrides(["model.transition=neural_ode"])
    assert training_settings(ode) == training_settings(ode.with_overrides(["train.predict_weight=1.0"]))
    assert training_settings(auto) != training_settings(
        RunConfig().with_overrides(["train.predict_weight=1.0"])
    )


def test_training_at_auto_is_training_at_the_resolved_number(pend16, tmp_path):
    def losses(weight: str) -> list[float]:
        cfg = RunConfig().with_overrides([f"train.predict_weight={weight}"])
        cfg.model.channels, cfg.model.features, cfg.model.rnn_hidden = 4, 16, 16
        cfg.train.data, cfg.train.batch_size, cfg.train.steps = str(pend16), 4, 4
        cfg.train.log_every, cfg.train.threads = 1, 1
        fit(cfg, tmp_path / weight, progress=False)
        lines = (tmp_path / weight / "metrics.jsonl").read_text().splitlines()
        return [json.loads(line)["loss"] for line in lines if '"loss"' in line]

    auto = losses("auto")
    assert len(auto) == 4 and auto == losses("0.25") and auto != losses("1.0")


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
