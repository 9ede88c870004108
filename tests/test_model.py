import copy

import numpy as np
import pytest
import torch

import physvae
import simulators as S
from physvae import ModelConfig, build_model
from physvae.data import SequenceDataset
from physvae.model import DataSpec
from physvae.transitions import TRANSITIONS


def _tiny(transition: str, input_dim=1, likelihood="gaussian") -> ModelConfig:
    cfg = ModelConfig(
        transition=transition, latent_dim=2, channels=2, features=4, rnn_hidden=3, likelihood=likelihood
    )
    cfg.locally_linear.regimes, cfg.locally_linear.hidden = 2, 3
    cfg.neural_ode.hidden, cfg.gru.hidden, cfg.hamiltonian.hidden = 3, 3, 3
    cfg.physics.hidden, cfg.physics.match_states, cfg.physics.residual = 3, False, True
    if transition == "physics":  # (cos θ, sin θ, θ̇) and one extra dimension
        cfg.latent_dim = 4
    return cfg


SPEC = DataSpec(size=16, channels=1, input_dim=1, dt=0.1, binarized=False, state_names=["x"])


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_gradcheck_through_one_elbo_in_float64(name):
    """Gradients of the loss (ELBO and prediction term) with respect to the frames and to every transition parameter, by finite differences."""
    torch.manual_seed(0)
    model = build_model(SPEC, _tiny(name)).double()
    inputs = torch.randn(1, 3, 1, dtype=torch.float64)
    names = [n for n, p in model.transition.named_parameters() if p.requires_grad]
    params = tuple(model.transition.get_parameter(n).detach().clone().requires_grad_() for n in names)

    def elbo(x, *ps):
        torch.manual_seed(1)  # the same reparameterization noise on every call
        override = {f"transition.{n}": p for n, p in zip(names, ps)}
        return torch.func.functional_call(model, override, (x, inputs), strict=False, tie_weights=False)

    model.forward = lambda x, u: model.elbo(x, u, predict_weight=0.5, predict_context=1)["loss"]  # both terms
    x = torch.rand(1, 3, 1, 16, 16, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(elbo, (x, *params), eps=1e-6, atol=1e-5, rtol=1e-4, fast_mode=True)


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_each_transition_overfits_one_small_batch(name, pend16):
    torch.manual_seed(0)
    data = SequenceDataset(S.load_dataset(pend16)["train"])
    batch = data.batch(np.arange(4))
    cfg = ModelConfig(transition=name, latent_dim=4, channels=8, features=32, rnn_hidden=32)
    model = build_model(DataSpec.from_dataset(S.load_dataset(pend16)), cfg)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = model.elbo(batch.frames, batch.inputs)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.25 * losses[0], (losses[0], losses[-5:])


def test_hidden_frames_are_filled_by_the_transition_alone():
    torch.manual_seed(0)
    model = build_model(SPEC, _tiny("locally_linear")).eval()
    frames = torch.rand(2, 5, 1, 16, 16)
    mask = torch.ones(2, 5)
    mask[:, 2:] = 0
    other = frames.clone()
    other[:, 2:] = torch.rand(2, 3, 1, 16, 16)  # change only the hidden frames
    a = model.infer(frames, mask, sample=False)
    b = model.infer(other, mask, sample=False)
    torch.testing.assert_close(a.z, b.z)
    torch.testing.assert_close(a.q_mean[:, 2:], a.p_mean[:, 2:])


def test_predict_extends_past_the_training_length():
    model = build_model(SPEC, _tiny("neural_ode")).eval()
    frames, z = model.predict(
        torch.rand(2, 4, 1, 16, 16), n_context=4, horizon=30, inputs=torch.zeros(2, 34, 1)
    )
    assert frames.shape == (2, 34, 1, 16, 16) and z.shape == (2, 34, 2)
    assert torch.all((frames >= 0) & (frames <= 1))


@pytest.mark.parametrize("name", ["locally_linear", "gru"])
def test_prediction_term_is_the_likelihood_of_predict_and_depends_on_the_future_only(name):
    torch.manual_seed(0)
    model = build_model(SPEC, _tiny(name)).double().eval()
    frames, inputs = (
        torch.rand(2, 6, 1, 16, 16, dtype=torch.float64),
        torch.randn(2, 6, 1, dtype=torch.float64),
    )
    torch.manual_seed(1)
    plain = model.elbo(frames, inputs)
    torch.manual_seed(1)
    both = model.elbo(frames, inputs, predict_weight=0.5, predict_context=2)
    _, z = model.predict(frames, n_context=2, horizon=4, inputs=inputs)
    expected = model.likelihood.log_prob(frames[:, 2:], model.decode(z[:, 2:])).sum(1).mean() / 6
    torch.testing.assert_close(both["predict"], expected)
    torch.testing.assert_close(both["loss"], plain["loss"] - 0.5 * expected)
    assert plain["predict"].item() == 0.0
    # the rollout's frames come from the context alone: changing a future frame moves only its own likelihood
    other = frames.clone()
    other[:, 4] = torch.rand(2, 1, 16, 16, dtype=torch.float64)
    _, z_other = model.predict(other, n_context=2, horizon=4, inputs=inputs)
    torch.testing.assert_close(z, z_other)


def test_latent_overshooting_adds_the_rollouts_distance_to_the_posterior():
    """The loss with predict_latent_weight w is the loss without it plus exactly w · overshoot(the prediction's
    rolled-out latents, the posterior means of those frames); overshoot is 0 on the posterior itself and 1 per
    dimension for a rollout one posterior standard deviation off everywhere."""
    from physvae.model import overshoot

    torch.manual_seed(0)
    model = build_model(SPEC, _tiny("locally_linear")).double().eval()
    frames, inputs = (
        torch.rand(2, 6, 1, 16, 16, dtype=torch.float64),
        torch.randn(2, 6, 1, dtype=torch.float64),
    )
    torch.manual_seed(1)
    plain = model.elbo(frames, inputs, predict_weight=0.5, predict_context=2)
    torch.manual_seed(1)
    held = model.elbo(frames, inputs, predict_weight=0.5, predict_context=2, predict_latent_weight=3.0)
    _, z = model.predict(frames, n_context=2, horizon=4, inputs=inputs)
    mu = held["posterior"].q_mean[:, 2:]
    torch.testing.assert_close(held["loss"], plain["loss"] + 3.0 * overshoot(z[:, 2:], mu))
    assert overshoot(mu, mu).item() == 0.0
    sd = mu.reshape(-1, mu.shape[-1]).std(dim=0)
    assert overshoot(mu + sd, mu).item() == pytest.approx(1.0)


def test_the_elbo_adds_the_transitions_regularizer_at_the_frame_times():
    """A NeuralODE with the velocity-consistency penalty: the loss is −ELBO plus exactly w · the mismatch of the
    posterior sample at the frames' times (evenly spaced by Δt, or the given uneven ones); 0 without it."""
    cfg = _tiny("neural_ode")
    cfg.neural_ode.velocity_consistency = 2.5
    torch.manual_seed(0)
    model = build_model(SPEC, cfg).double()
    frames = torch.rand(2, 5, 1, 16, 16, dtype=torch.float64)
    inputs = torch.randn(2, 5, 1, dtype=torch.float64)
    uneven = torch.tensor([[0.0, 0.1, 0.25, 0.3, 0.5], [0.0, 0.05, 0.1, 0.2, 0.3]], dtype=torch.float64)
    for times, grid in [(None, torch.arange(5, dtype=torch.float64).expand(2, 5) * 0.1), (uneven, uneven)]:
        out = model.elbo(frames, inputs, times=times)
        expected = 2.5 * model.transition.velocity_mismatch(out["posterior"].z, grid)
        torch.testing.assert_close(out["regularizer"], expected)
        torch.testing.assert_close(out["loss"], -out["elbo"] + expected)
    model.transition.cfg.velocity_consistency = 0.0
    assert model.elbo(frames, inputs)["regularizer"].item() == 0.0


@pytest.mark.parametrize("name", ["neural_ode", "hamiltonian"])
def test_decoding_from_positions_reads_q_alone(name):
    """With decode_from = "position" the frames do not move when the rates half of z = (q, v) or (q, p) does and
    do when q does; the seed's encoder weights are those of the model without the option."""
    cfg = _tiny(name)
    cfg.latent_dim = 4
    torch.manual_seed(0)
    plain = build_model(SPEC, cfg)
    cfg.decode_from = "position"
    torch.manual_seed(0)
    model = build_model(SPEC, cfg)
    for a, b in zip(plain.encoder.parameters(), model.encoder.parameters()):
        torch.testing.assert_close(a, b)
    z = torch.randn(2, 3, 4)
    rates, where = z.clone(), z.clone()
    rates[..., 2:] += 5.0
    where[..., :2] += 5.0
    torch.testing.assert_close(model.decode(rates), model.decode(z))
    assert (model.decode(where) - model.decode(z)).abs().max() > 1e-3


def test_decoding_from_positions_needs_a_position_half():
    for name, order in [("locally_linear", 2), ("neural_ode", 1)]:
        cfg = _tiny(name)
        cfg.neural_ode.order, cfg.decode_from = order, "position"
        with pytest.raises(S.ConfigError, match="decode_from='position' needs a latent split"):
            build_model(SPEC, cfg)
    cfg = _tiny("neural_ode")
    cfg.decode_from = "velocity"
    with pytest.raises(S.ConfigError, match="model.decode_from must be one of"):
        build_model(SPEC, cfg)


def test_torch_dataset_items_and_windows(pend16, box32):
    split = S.load_dataset(pend16)["train"]
    ds = SequenceDataset(split, window=5)
    item = ds[3]
    assert item["frames"].shape == (5, 1, 16, 16) and item["frames"].dtype == torch.float32
    assert 0 <= item["frames"].min() and item["frames"].max() <= 1
    assert item["states"].shape == (5, 7) and item["inputs"].shape == (5, 1)
    full = SequenceDataset(split)[3]
    starts = [i for i in range(11) if torch.equal(full["frames"][i : i + 5], item["frames"])]
    assert starts and torch.equal(full["states"][starts[0] : starts[0] + 5], item["states"])
    box = SequenceDataset(S.load_dataset(box32)["train"])[0]["frames"]
    assert set(box.unique().tolist()) == {0.0, 1.0}


def test_bad_data_inputs(pend16, tmp_path):
    split = S.load_dataset(pend16)["train"]
    with pytest.raises(S.ConfigError, match="window of 40 frames is longer"):
        SequenceDataset(split, window=40)
    empty = copy.copy(split)
    empty.frames = split.frames[:0]
    with pytest.raises(S.DatasetError, match="is empty"):
        SequenceDataset(empty)
    odd = S.generate(S.preset("dvbf_pendulum16", size=24, splits={"train": 2}), tmp_path / "odd")
    with pytest.raises(S.ConfigError, match="24×24 is not supported"):
        DataSpec.from_dataset(S.load_dataset(odd))
    with pytest.raises(S.ConfigError, match="unknown transition 'spring'"):
        build_model(SPEC, ModelConfig(transition="spring"))
    with pytest.raises(S.ConfigError, match="even latent_dim"):
        build_model(SPEC, ModelConfig(transition="neural_ode", latent_dim=3))


def test_likelihood_follows_the_data(box32, pend16):
    assert isinstance(
        build_model(
            DataSpec.from_dataset(S.load_dataset(box32)), _tiny("static", likelihood="auto")
        ).likelihood,
        physvae.likelihoods.Bernoulli,
    )
    assert isinstance(
        build_model(
            DataSpec.from_dataset(S.load_dataset(pend16)), _tiny("static", likelihood="auto")
        ).likelihood,
        physvae.likelihoods.Gaussian,
    )


def test_static_model_sees_one_frame_only():
    """The per-frame baseline: changing other frames never moves z_t (else velocity would leak into it)."""
    torch.manual_seed(0)
    model = build_model(SPEC, _tiny("static")).eval()
    frames = torch.rand(1, 5, 1, 16, 16)
    other = frames.clone()
    other[:, [0, 1, 3, 4]] = torch.rand(1, 4, 1, 16, 16)
    a, b = model.infer(frames, sample=False), model.infer(other, sample=False)
    torch.testing.assert_close(a.z[:, 2], b.z[:, 2])


def test_frame_inference_reads_each_frame_alone_whatever_is_hidden():
    """model.inference='frame': the evidence about z_t is the same whichever other frames are seen or what they
    show (so heavy masking at evaluation is no input a recurrent network never met in training)."""
    torch.manual_seed(0)
    cfg = _tiny("locally_linear")
    cfg.inference = "frame"
    model = build_model(SPEC, cfg).eval()
    feats = model.encode(torch.rand(2, 6, 1, 16, 16))
    other = feats.clone()
    other[:, [0, 1, 4, 5]] = torch.randn_like(other[:, [0, 1, 4, 5]])
    hidden = torch.tensor([[1.0, 0.0, 1.0, 1.0, 0.0, 0.0]] * 2)
    a = model.inference(feats, torch.ones(2, 6))
    b = model.inference(other, hidden)
    for x, y in zip(a, b):
        torch.testing.assert_close(x[:, 2:4], y[:, 2:4])
    cfg.inference_net = "attention"
    with pytest.raises(S.ConfigError, match="model.inference='frame' reads each frame alone"):
        build_model(SPEC, cfg)
