"""Anomaly detection: the metrics on constructed cases with known answers, the scores on stub models, the CLI."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

import simulators as S
from physvae import ModelConfig, build_model
from physvae.anomaly import (
    DetectConfig,
    causal_posterior,
    causal_sweep,
    latent_kl,
    multistep_nll,
    pixel_change,
    predictive_nll,
    sampled_nll,
    score_is_causal,
)
from physvae.cli import main
from physvae.data import Batch, SequenceDataset
from physvae.likelihoods import Bernoulli
from physvae.metrics import detection as D
from physvae.model import DataSpec, Posterior

NAMES = list(S.EVENT_NAMES)


def _labels(n=200, t=20, seed=0):
    """n sequences: a third normal, a third kicked (one frame), a third with a lasting gravity change."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, t), dtype=np.int64)
    for i in range(n):
        k = int(rng.integers(5, t - 1))
        if i % 3 == 1:
            labels[i, k] = 1
        elif i % 3 == 2:
            labels[i, k:] = 3
    return labels


def test_a_score_equal_to_the_label_ranks_perfectly():
    labels = _labels()
    scores = (labels > 0).astype(float)
    r = D.report(scores, labels, D.window(scores, 5), 0.5, NAMES)
    for kind in ("kick", "gravity", "any"):
        assert r["kinds"][kind]["auroc"] == 1.0 and r["kinds"][kind]["auprc"] == 1.0
        assert r["kinds"][kind]["detected"] == 1.0 and r["kinds"][kind]["mean_delay"] == 0.0
    assert r["false_alarms"] == {"frame_rate": 0.0, "sequence_rate": 0.0}
    assert set(r["kinds"]) == {"kick", "gravity", "any"}


def test_a_random_score_ranks_at_chance_and_a_reversed_one_at_zero():
    labels = _labels(n=3000)
    scores = np.random.default_rng(1).random(labels.shape)
    scored = D.window(scores, 5)
    r = D.ranking(scores, labels, scored, 1)
    assert abs(r["auroc"] - 0.5) < 0.03
    assert abs(r["auprc"] - r["prevalence"]) < 0.01  # a random score's AUPRC is the positives' share
    assert D.ranking(-(labels > 0).astype(float), labels, scored, None)["auroc"] == 0.0


def test_other_kinds_and_unscored_frames_are_left_out():
    labels = np.array([[0, 0, 1, 0], [0, 0, 3, 3]])
    scores = np.array([[9.0, 0.0, 2.0, 1.0], [np.nan, 0.5, 5.0, 5.0]])
    scored = D.window(scores, 1)  # frame 0 out, and the NaN
    r = D.ranking(scores, labels, scored, 1)
    # kick positive 2.0 against the normal frames 0.0, 1.0, 0.5 (the gravity frames are neither)
    assert (r["positives"], r["negatives"], r["auroc"]) == (1, 3, 1.0)
    assert D.ranking(scores, labels, D.window(scores, 0), 1)["auroc"] == 0.75  # 9.0 at frame 0 outranks it


def test_the_threshold_is_the_quantile_of_scored_normal_frames():
    scores = np.array([[100.0, 1.0, 2.0, 3.0], [100.0, 4.0, np.nan, 5.0]])
    assert D.threshold(scores, D.window(scores, 1), 0.5) == 3.0  # median of 1, 2, 3, 4, 5
    with pytest.raises(ValueError, match="no scored frames"):
        D.threshold(scores, D.window(scores, 4), 0.5)


def test_delays_count_frames_from_the_onset_and_ignore_earlier_alarms():
    labels = np.zeros((4, 10), dtype=np.int64)
    labels[0, 4] = 1  # alarm at 6: delay 2
    labels[1, 3:] = 3  # alarm at 3: delay 0
    labels[2, 5] = 2  # alarm only at 2, before the onset: missed
    scores = np.zeros((4, 10))
    scores[0, 6] = scores[1, 3] = scores[2, 2] = scores[3, 7] = 1.0
    d = D.delays(scores, labels, D.window(scores, 1), 0.5)
    np.testing.assert_array_equal(d[:2], [2.0, 0.0])
    assert np.isnan(d[2]) and np.isnan(d[3])  # missed; and no event in sequence 3
    assert D.delay_summary(d[:3]) == {"events": 3, "detected": 2 / 3, "mean_delay": 1.0, "median_delay": 1.0}
    fa = D.false_alarms(scores[3:], D.window(scores[3:], 1), 0.5)
    assert fa == {"frame_rate": 1 / 9, "sequence_rate": 1.0}


class _Stub(torch.nn.Module):
    """A model whose prediction is always the grey frame 0.5 and whose posterior equals its prior but at t = 2."""

    likelihood = Bernoulli()
    device = torch.device("cpu")

    def predict(self, frames, n_context, horizon, inputs=None, times=None):
        shape = (frames.shape[0], n_context + horizon, *frames.shape[2:])
        return torch.full(shape, 0.5), None

    def infer(self, frames, mask=None, inputs=None, sample=True, times=None):
        b, t = frames.shape[:2]
        q_mean = torch.zeros(b, t, 3)
        q_mean[:, 2] = 2.0
        ones = torch.ones(b, t, 3)
        return Posterior(q_mean, q_mean, ones, torch.zeros(b, t, 3), ones)


def test_the_scores_on_a_stub_model_are_the_closed_forms():
    frames = torch.rand(2, 5, 1, 4, 4).round()
    b = Batch(frames, torch.zeros(2, 5, 1), None)
    nll = predictive_nll(_Stub(), b)
    assert torch.isnan(nll[:, 0]).all()
    torch.testing.assert_close(nll[:, 1:], torch.full((2, 4), 16 * math.log(2.0)))  # 16 pixels at p = 0.5
    kl = latent_kl(_Stub(), b)
    torch.testing.assert_close(kl[:, 1:], torch.tensor([[0.0, 6.0, 0.0, 0.0]] * 2))  # 3 dims × ½ · 2²
    change = pixel_change(None, b)
    torch.testing.assert_close(change[:, 3], (frames[:, 3] - frames[:, 2]).abs().mean((1, 2, 3)))


class _Echo(_Stub):
    """Predicts every frame after the context as the context's last frame (hold the last frame), and records the
    (context, horizon) it was asked for."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def predict(self, frames, n_context, horizon, inputs=None, times=None):
        self.calls.append((n_context, horizon))
        last = frames[:, n_context - 1 : n_context].clamp(0.1, 0.9)
        return torch.cat([frames[:, :n_context], last.expand(-1, horizon, -1, -1, -1)], 1), None


def test_the_multistep_score_predicts_each_frame_from_the_frames_horizon_steps_before():
    frames = torch.rand(2, 6, 1, 4, 4).round()
    b = Batch(frames, torch.zeros(2, 6, 1), None)
    echo = _Echo()
    nll = multistep_nll(echo, b, horizon=3)
    assert echo.calls == [(1, 3), (2, 3), (3, 3)]  # frames 3, 4, 5 from frames < 1, < 2, < 3
    assert torch.isnan(nll[:, :3]).all()
    for t in range(3, 6):  # frame t scored against frame t − 3 held: Bernoulli at 0.9 / 0.1
        same = (frames[:, t] == frames[:, t - 3]).flatten(1).sum(-1).double()
        expected = -(same * math.log(0.9) + (16 - same) * math.log(0.1))
        torch.testing.assert_close(nll[:, t].double(), expected, rtol=1e-5, atol=1e-5)


def _small_model(path):
    """An untrained small LocallyLinear model on the dataset at ``path`` and a batch of 3 of its test sequences."""
    data = S.load_dataset(path)
    torch.manual_seed(0)
    cfg = ModelConfig(transition="locally_linear", latent_dim=3, channels=4, features=8, rnn_hidden=8)
    model = build_model(DataSpec.from_dataset(data), cfg).eval()
    return model, SequenceDataset(data["test"]).batch(np.arange(3))


def test_the_multistep_score_one_step_ahead_is_the_predictive_score(pend16):
    model, b = _small_model(pend16)
    with torch.no_grad():
        torch.testing.assert_close(
            multistep_nll(model, b, horizon=1), predictive_nll(model, b, one_pass=False), equal_nan=True
        )


class _Scale(torch.nn.Module):
    """The wrapped transition's mean, with a fixed process noise s."""

    def __init__(self, inner, s):
        super().__init__()
        self.inner, self.s = inner, s

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.inner, name)

    def step(self, z, state, dt, u):
        mean, _, state = self.inner.step(z, state, dt, u)
        return mean, torch.full_like(mean, self.s), state


def test_the_sampled_score_is_a_mixture_over_draws_that_collapses_to_the_predictive_score(pend16):
    """−log (1/S) Σ p(x_t | z⁽ˢ⁾): with almost no process noise the posterior narrows after two frames and every
    draw is the mean prediction, so the score is the predictive one; with the model's own noise it differs."""
    model, b = _small_model(pend16)
    with torch.no_grad():
        noisy = sampled_nll(model, b, samples=8)
        model.transition = _Scale(model.transition, 1e-6)
        quiet, plain = sampled_nll(model, b, samples=4), predictive_nll(model, b, one_pass=False)
    assert torch.isnan(quiet[:, 0]).all() and torch.isnan(noisy[:, 0]).all()
    torch.testing.assert_close(quiet[:, 3:], plain[:, 3:], rtol=1e-4, atol=1e-3)
    assert (noisy[:, 3:] - plain[:, 3:]).abs().max() > 0.05  # draws that differ: another score


@pytest.mark.parametrize("transition", ["locally_linear", "gru"])
def test_one_filtering_pass_gives_the_predictions_of_predict_frame_by_frame(transition, pend16):
    data = S.load_dataset(pend16)
    spec = DataSpec.from_dataset(data)
    torch.manual_seed(0)
    cfg = ModelConfig(transition=transition, inference="filter", latent_dim=3, channels=4, features=8)
    model = build_model(spec, replace(cfg, rnn_hidden=8)).eval()
    assert causal_sweep(model)
    assert not causal_sweep(build_model(spec, replace(cfg, inference="smoother", rnn_hidden=8)))
    b = SequenceDataset(data["test"]).batch(np.arange(3))
    with torch.no_grad():
        fast, slow = predictive_nll(model, b), predictive_nll(model, b, one_pass=False)
    torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-3, equal_nan=True)


@pytest.mark.parametrize("evidence", ["network", "difference"])
def test_a_filter_whose_velocity_evidence_looks_ahead_is_flagged_not_causal(evidence, pend16):
    """The flag against the posterior's own behaviour: perturb frame t + 1 and see whether q(z_t) moves."""
    data = S.load_dataset(pend16)
    torch.manual_seed(0)
    cfg = ModelConfig(
        transition="neural_ode", inference="filter", latent_dim=4, channels=4, features=8, rnn_hidden=8
    )
    cfg.neural_ode.velocity_evidence = evidence
    if evidence == "network":
        model = build_model(DataSpec.from_dataset(data), cfg).eval()
    else:
        with pytest.warns(UserWarning, match="q\\(z_t\\) sees frame t \\+ 1"):
            model = build_model(DataSpec.from_dataset(data), cfg).eval()
    b = SequenceDataset(data["test"]).batch(np.arange(2))
    t = 5
    later = b.frames.clone()
    later[:, t + 1] = 1.0 - later[:, t + 1]
    with torch.no_grad():
        q, q_later = (model.infer(f, None, b.inputs, sample=False).q_mean[:, t] for f in (b.frames, later))
    moved = not torch.allclose(q, q_later)
    assert moved == (evidence == "difference")
    assert model.transition.looks_ahead == moved
    assert causal_posterior(model) == causal_sweep(model) == score_is_causal(model, "kl") == (not moved)
    assert score_is_causal(model, "predictive")


def test_bad_protocols_name_the_field():
    with pytest.raises(S.ConfigError, match="quantile must lie in"):
        DetectConfig(quantile=1.0).validate()
    with pytest.raises(S.ConfigError, match="unknown score 'psnr'"):
        DetectConfig(scores=["psnr"]).validate()
    with pytest.raises(S.ConfigError, match="horizon must be at least 1, got 0"):
        DetectConfig(horizon=0).validate()
    with pytest.raises(S.ConfigError, match="samples must be at least 1, got 0"):
        DetectConfig(samples=0).validate()


TINY = [
    "--train.steps=3",
    "--train.batch_size=4",
    "--train.threads=1",
    "--model.latent_dim=3",
    "--model.channels=4",
    "--model.features=8",
    "--model.rnn_hidden=8",
    "--quiet",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, pend_events):
    """A tiny run on normal pendulum data, and the same data with events."""
    normal, events = pend_events
    run = tmp_path_factory.mktemp("detect") / "run"
    assert main(["train", "--data", str(normal), "--out", str(run), *TINY]) == 0
    return run, normal, events


def test_detect_cli_writes_metrics_scores_and_figure(trained, tmp_path, capsys):
    run, _, events = trained
    out = tmp_path / "det"
    args = [
        "detect",
        str(run),
        "--data",
        str(events),
        "--out",
        str(out),
        "--quantile",
        "0.9",
        "--horizon",
        "3",
        "--scores",
        "predictive,kl,multistep,pixel_change,predictive_sampled",
        "--samples",
        "2",
    ]
    assert main(args) == 0
    assert "predictive: AUROC" in capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert m["main_score"] == "predictive" and m["protocol"]["first_frame"] == 5
    assert m["protocol"]["horizon"] == 3 and m["protocol"]["samples"] == 2
    assert m["causal"]["predictive_sampled"]
    for score in ("predictive", "kl", "multistep", "pixel_change", "predictive_sampled"):
        r = m["scores"][score]
        assert 0.0 <= r["kinds"]["any"]["auroc"] <= 1.0 and math.isfinite(r["threshold"])
    scores = np.load(out / "scores.npz")
    labels = np.asarray(S.load_dataset(events)["test"].events)
    np.testing.assert_array_equal(scores["labels"], labels)
    assert scores["predictive"].shape == labels.shape and (out / "scores.png").stat().st_size > 0


def test_detect_refuses_data_without_labels_or_of_another_contract(trained, tmp_path, capsys):
    run, normal, _ = trained
    assert main(["detect", str(run), "--data", str(normal), "--out", str(tmp_path / "a")]) == 2
    assert "has no anomaly labels" in capsys.readouterr().err
    cfg = S.preset("dvbf_pendulum16", splits={"val": 2, "test": 2}, size=32)
    cfg.params = replace(cfg.params, events=S.PendulumEvents(share=0.5))
    other = S.generate(cfg, tmp_path / "big")
    assert main(["detect", str(run), "--data", str(other), "--out", str(tmp_path / "b")]) == 2
    assert "32×32×1 frames" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
