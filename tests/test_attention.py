import pytest
import torch

import physvae
from physvae import RunConfig, fit
from physvae.attention import InferenceAttention
from simulators import ConfigError


def _net(smoother: bool, heads: int = 4, layers: int = 2) -> InferenceAttention:
    torch.manual_seed(0)
    net = InferenceAttention(
        features=6, width=16, latent_dim=3, heads=heads, layers=layers, smoother=smoother
    )
    with torch.no_grad():  # a "nothing seen" key unlike the frames', so a test sees it if it leaks
        net.nothing.normal_()
    return net


def _evidence(net, feats, mask):
    with torch.no_grad():
        return net(feats, mask)


def test_the_filter_at_t_does_not_change_when_later_frames_do():
    net, feats, mask = _net(smoother=False), torch.randn(2, 12, 6), torch.ones(2, 12)
    base = _evidence(net, feats, mask)
    for t in (0, 5, 10):
        other = feats.clone()
        other[:, t + 1 :] = torch.randn_like(other[:, t + 1 :]) * 10
        changed = _evidence(net, other, mask)
        for a, b in zip(base, changed):
            assert torch.equal(a[:, : t + 1], b[:, : t + 1])  # exactly: future frames never enter
            assert not torch.allclose(a[:, t + 1 :], b[:, t + 1 :])


def test_the_smoother_at_t_reads_later_frames_and_knows_their_order():
    net, feats, mask = _net(smoother=True), torch.randn(1, 9, 6), torch.ones(1, 9)
    base = _evidence(net, feats, mask)
    other = feats.clone()
    other[:, 5] += 1.0
    assert not torch.allclose(base[0][:, 4], _evidence(net, other, mask)[0][:, 4])
    # the reversed sequence is not read as the same sequence reversed: past and future differ
    rev = _evidence(net, feats.flip(1), mask)[0].flip(1)
    assert not torch.allclose(base[0], rev, atol=1e-3)


@pytest.mark.parametrize("smoother", [False, True])
def test_hidden_frames_are_ignored_exactly(smoother):
    net, feats = _net(smoother), torch.randn(3, 10, 6)
    mask = torch.ones(3, 10)
    mask[:, [0, 3, 4, 9]] = 0  # a hidden first frame too: the filter's query at 0 sees no frame at all
    base = _evidence(net, feats, mask)
    other = feats.clone()
    other[:, [0, 3, 4, 9]] = float("nan")  # not even a NaN in a hidden frame reaches the output
    for a, b in zip(base, _evidence(net, other, mask)):
        assert torch.isfinite(a).all() and torch.equal(a, b)


def test_sequences_longer_than_any_trained_on_are_read_by_position_free_biases():
    net = _net(smoother=True)
    mean, std = _evidence(net, torch.randn(1, 500, 6), torch.ones(1, 500))
    assert mean.shape == (1, 500, 3) and torch.isfinite(mean).all() and (std > 0).all()
    # shifting a sequence inside a longer one changes nothing under the filter: no absolute positions
    filt, feats = _net(smoother=False), torch.randn(1, 30, 6)
    mask = torch.ones(1, 30)
    mask[:, :10] = 0
    a = _evidence(filt, feats, mask)[0][:, 10:]
    b = _evidence(filt, feats[:, 10:], mask[:, 10:])[0]
    torch.testing.assert_close(a, b)


def _config(data, inference: str) -> RunConfig:
    cfg = RunConfig()
    cfg.model.channels, cfg.model.features, cfg.model.rnn_hidden = 4, 16, 16
    cfg.model.inference_net, cfg.model.inference = "attention", inference
    cfg.train.data, cfg.train.batch_size, cfg.train.steps = str(data), 4, 6
    cfg.train.checkpoint_every, cfg.train.log_every, cfg.train.threads = 3, 1, 1
    cfg.train.mask_prob = 0.3
    return cfg


@pytest.mark.parametrize("inference", ["filter", "smoother"])
def test_an_attention_run_trains_and_loads_back_to_the_same_model(pend16, tmp_path, inference):
    run = fit(_config(pend16, inference), tmp_path / "r", progress=False)
    losses = [m["loss"] for m in run.metrics()]
    assert len(losses) == 6 and all(torch.isfinite(torch.tensor(losses)))
    model = run.model
    assert isinstance(model.inference, InferenceAttention) and model.inference.smoother == (
        inference == "smoother"
    )
    again = physvae.load(tmp_path / "r")
    assert again.config.model.inference_net == "attention"
    frames, inputs = torch.rand(2, 15, 1, 16, 16), torch.zeros(2, 15, 1)
    a, _ = model.reconstruct(frames, inputs=inputs)
    b, _ = again.model.reconstruct(frames, inputs=inputs)
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    "overrides, match",
    [
        (["model.inference_net=transformer"], "model.inference_net must be one of"),
        (["model.inference_net=attention", "model.attention_heads=3"], "multiple of model.attention_heads"),
        (
            ["model.inference_net=attention", "model.attention_heads=1", "model.rnn_hidden=16"],
            "must be even for model.inference='smoother'",
        ),
        (["model.attention_layers=0"], "model.attention_layers"),
    ],
)
def test_bad_attention_settings_name_the_field(overrides, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig().with_overrides(overrides).model.validate()


def test_an_odd_head_count_is_fine_for_the_filter():
    cfg = RunConfig().with_overrides(["model.inference_net=attention", "model.attention_heads=1"])
    cfg.model.inference = "filter"
    cfg.model.validate()
