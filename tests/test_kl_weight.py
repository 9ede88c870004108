"""The KL weight β: the warm-up, the re-warm after a judged collapse, and a killed run resuming through one."""

import json
from types import SimpleNamespace

import pytest
import torch

from physvae import RunConfig, fit
from physvae.checkpoint import load as load_ckpt
from physvae.cli import main
from physvae.kl_weight import beta_at, rewarm_due, rewarm_steps
from simulators import ConfigError


def _train(steps=2000, kl_warmup=0, collapse_rewarm=0.25):
    return SimpleNamespace(steps=steps, kl_warmup=kl_warmup, collapse_rewarm=collapse_rewarm)


def test_beta_rises_linearly_after_a_rewarm_and_never_above_the_warmup():
    cfg = _train()
    assert rewarm_steps(cfg) == 500
    assert beta_at(cfg, 1) == 1.0 and beta_at(cfg, 700) == 1.0  # no warm-up, no re-warm: the plain ELBO
    assert beta_at(cfg, 600, []) == 1.0  # the step that judges collapse trains at its β; the next re-warmed
    assert beta_at(cfg, 601, [600]) == pytest.approx(1 / 500)
    assert beta_at(cfg, 850, [600]) == pytest.approx(0.5)
    assert beta_at(cfg, 1100, [600]) == 1.0 and beta_at(cfg, 1500, [600]) == 1.0
    assert beta_at(cfg, 1300, [600, 1200]) == pytest.approx(0.2)  # the latest re-warm counts
    warm = _train(kl_warmup=1000)
    assert beta_at(warm, 250) == pytest.approx(0.25)
    assert beta_at(warm, 700, [600]) == pytest.approx(0.2)  # the lower of the two
    assert beta_at(warm, 900, [200]) == pytest.approx(0.9)


def test_a_rewarm_is_due_only_when_judged_collapsed_with_beta_back_at_one_and_time_to_finish():
    cfg = _train()  # collapse judged from step 500 (a quarter of 2000); a re-warm lasts 500 steps
    assert rewarm_due(cfg, 500, True, [])
    assert not rewarm_due(cfg, 499, True, [])  # before the judged steps: every decoder starts so
    assert not rewarm_due(cfg, 800, False, [])
    assert not rewarm_due(cfg, 800, True, [500])  # a re-warm under way (β 0.6)
    assert rewarm_due(cfg, 1000, True, [500])  # β back at 1 and still collapsed: again
    assert rewarm_due(cfg, 1500, True, []) and not rewarm_due(
        cfg, 1501, True, []
    )  # it must end by the last step
    assert not rewarm_due(_train(collapse_rewarm=0.0), 800, True, [])  # off: collapse is only reported
    assert not rewarm_due(_train(kl_warmup=1000), 800, True, [])  # the warm-up itself still under way


@pytest.mark.parametrize("value", [-0.1, 0.76, 1.0, 2])
def test_a_rewarm_fraction_that_could_never_fire_is_refused_by_name(value):
    cfg = RunConfig()
    cfg.train.data, cfg.train.collapse_rewarm = "somewhere", value
    with pytest.raises(ConfigError, match=r"train.collapse_rewarm must be in \[0, 0.75\]"):
        cfg.validate()
    cfg.train.collapse_rewarm = 0.75  # from a quarter of the steps to the last: the longest that can end
    cfg.validate()


def _config(data, steps=12) -> RunConfig:
    cfg = RunConfig()
    cfg.model.latent_dim, cfg.model.channels, cfg.model.features, cfg.model.rnn_hidden = 2, 4, 16, 16
    cfg.train.data, cfg.train.batch_size, cfg.train.steps = str(data), 4, steps
    cfg.train.checkpoint_every, cfg.train.log_every, cfg.train.threads = 2, 1, 1
    return cfg


def test_a_run_judged_collapsed_rewarms_and_resumes_through_it(pend16, tmp_path, monkeypatch):
    from physvae import collapse

    # every logged step judged collapsed: the re-warm's mechanics, apart from what judges collapse
    monkeypatch.setattr(collapse, "collapsed", lambda *a, **k: True)
    monkeypatch.setattr(collapse, "SPREAD_MIN_STEP", 0)
    cfg = _config(pend16)  # 12 steps: judged from step 3, a re-warm over 3 steps, ending by step 12
    full = fit(cfg, tmp_path / "full", progress=False)
    lines = full.metrics()
    assert [m["step"] for m in lines if m.get("rewarm")] == [3, 6, 9]
    assert [round(m["beta"], 6) for m in lines] == [1, 1, 1, 0.333333, 0.666667, 1, 0.333333, 0.666667, 1,
                                                   0.333333, 0.666667, 1]  # fmt: skip
    assert full.summary()["collapse"]["rewarmed_at"] == [3, 6, 9]

    class Killed(Exception):
        pass

    def kill(step, metrics):
        if step == 7:
            raise Killed

    with pytest.raises(Killed):
        fit(cfg, tmp_path / "killed", progress=False, callback=kill)
    state = load_ckpt(tmp_path / "killed" / "checkpoints" / "last.pt")
    assert state["step"] == 6 and state["rewarms"] == [3, 6]  # step 7 must train at β 1/3, not 1
    # and at the λ the spread of step 6 gives (LocallyLinear's start weight, predict_weight_at)
    assert state["spread"] == full.metrics()[5]["decoded_spread"]
    resumed = fit(RunConfig(), tmp_path / "killed", resume=True, progress=False)
    assert [m["beta"] for m in resumed.metrics()] == [m["beta"] for m in lines]
    assert [m["loss"] for m in resumed.metrics()] == [m["loss"] for m in lines]
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_an_untrained_decoder_judged_collapsed_is_rewarmed_and_said(pend16, tmp_path, monkeypatch, capsys):
    from physvae import collapse

    # an untrained decoder draws one frame whatever its latents (judged from step 0 here, not step 100)
    monkeypatch.setattr(collapse, "SPREAD_MIN_STEP", 0)
    out = tmp_path / "s"
    args = ["train", "--out", str(out), "--quiet", f"--train.data={json.dumps(str(pend16))}",
            "--model.latent_dim=2", "--model.channels=4", "--model.features=16", "--model.rnn_hidden=16",
            "--train.batch_size=8", "--train.steps=8", "--train.log_every=1"]  # fmt: skip
    assert main(args) == 0
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert lines[1]["collapsed"] and lines[1]["rewarm"]  # step 2, a quarter of 8
    assert lines[2]["beta"] == pytest.approx(0.5)  # re-warmed over 2 steps
    rewarmed = json.loads((out / "summary.json").read_text())["collapse"]["rewarmed_at"]
    assert rewarmed == [2, 4, 6]  # collapsed again each time β was back at 1, the last ending by step 8
    assert "re-warmed from 0 after steps 2, 4, 6 (train.collapse_rewarm)" in capsys.readouterr().err
    # switched off, the same run only reports
    assert main(args[:2] + [str(tmp_path / "off")] + args[3:] + ["--train.collapse_rewarm=0"]) == 0
    off = [json.loads(line) for line in (tmp_path / "off" / "metrics.jsonl").read_text().splitlines()]
    assert all(m["beta"] == 1.0 and "rewarm" not in m for m in off) and off[1]["collapsed"]


def test_a_run_saved_before_the_rewarm_resumes_without_it(pend16, tmp_path):
    from physvae.run import Run

    run = fit(_config(pend16, steps=2), tmp_path / "r", progress=False)
    saved = (run.path / "config.toml").read_text()
    assert "collapse_rewarm = 0.25" in saved and Run(run.path).config.train.collapse_rewarm == 0.25
    older = "".join(
        line for line in saved.splitlines(keepends=True) if not line.startswith("collapse_rewarm")
    )
    (run.path / "config.toml").write_text(older)  # as physvae wrote it before the option
    assert Run(run.path).config.train.collapse_rewarm == 0.0  # a collapsed run goes on as it began: unwarmed
