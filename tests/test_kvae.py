"""The Kalman VAE: exact inference in its LGSSM, imputation by smoothing, prediction by filtering, training."""

import numpy as np
import pytest
import torch

import simulators as S
from physvae import ModelConfig, RunConfig, build_model
from physvae.data import SequenceDataset
from physvae.kalman import kalman_filter, rts_smoother
from physvae.kvae import KalmanVAE
from physvae.model import DataSpec
from simulators import ConfigError

SPEC = DataSpec(size=16, channels=1, input_dim=1, dt=0.1, binarized=False, state_names=["x"])


def _model(spec=SPEC, **kalman) -> KalmanVAE:
    torch.manual_seed(0)
    cfg = ModelConfig(transition="kalman", latent_dim=4, channels=4, features=8)
    cfg.kalman.lstm_hidden, cfg.kalman.init_scale = 6, 0.5
    for k, v in kalman.items():
        setattr(cfg.kalman, k, v)
    return build_model(spec, cfg).eval()


def test_build_model_makes_a_kalman_vae_with_the_configured_sizes():
    model = _model(a_dim=3, regimes=5)
    assert isinstance(model, KalmanVAE)
    tr = model.transition
    assert tr.A.shape == (5, 4, 4) and tr.C.shape == (5, 3, 4) and tr.B.shape == (5, 4, 1)
    torch.testing.assert_close(tr.A, torch.eye(4).expand(5, 4, 4))  # an untrained model is stable
    mean, std = model.encode(torch.rand(2, 3, 1, 16, 16))
    assert mean.shape == std.shape == (2, 3, 3) and bool((std > 0).all())


def test_imputation_is_smoothing_with_the_hidden_codes_missing():
    """Hidden frames' pixels are never read; their codes are C_t E[z_t | seen codes], from the exact smoother."""
    model = _model()
    frames, u = torch.rand(2, 7, 1, 16, 16), torch.randn(2, 7, 1)
    mask = torch.tensor([[1, 1, 0, 0, 1, 0, 1], [1, 0, 1, 1, 1, 1, 0]], dtype=torch.float32)
    rec, post = model.reconstruct(frames, mask, u)
    noisy = torch.where(mask[:, :, None, None, None] > 0, frames, torch.rand_like(frames))
    rec2, _ = model.reconstruct(noisy, mask, u)
    torch.testing.assert_close(rec2, rec, rtol=0, atol=0)

    a, _ = model.encode(frames)
    filt, _, drive = model.transition.filter(a, mask > 0, u)
    q, r = model.transition.noises(torch.float32)
    tr = model.transition
    torch.testing.assert_close(drive.u, u)
    f = kalman_filter(
        a, filt.A, filt.C, q, r, tr.mu0, tr.sigma0, mask, u, drive.B
    )  # the plain filter, same matrices
    s = rts_smoother(f, filt.A)
    torch.testing.assert_close(post.q_mean, s.means)
    torch.testing.assert_close(post.z, s.means)
    smoothed_codes = (filt.C @ s.means[..., None])[..., 0]
    hidden = mask == 0
    torch.testing.assert_close(post.codes[hidden], smoothed_codes[hidden])
    torch.testing.assert_close(post.codes[~hidden], a[~hidden])
    torch.testing.assert_close(rec, model.likelihood.mean(model.decode(post.codes)))


def test_the_lstm_is_fed_a_missing_codes_predicted_mean():
    model = _model()
    a = torch.randn(1, 4, 2)
    mask = torch.tensor([[True, True, False, True]])
    filt, _, _ = model.transition.filter(a, mask)
    predicted = (filt.C[:, 2] @ filt.predicted_means[:, 2, :, None])[..., 0]
    torch.testing.assert_close(filt.codes[:, 2], predicted)
    tr = model.transition  # α_3 from the LSTM over (0, a_0, a_1, predicted a_2)
    state = tr.init_state(1, a.device)
    for code in (a[:, 0], a[:, 1], predicted):
        state = tr.feed(state, code)
    torch.testing.assert_close(filt.A[:, 3], tr.mix(tr.weights(state))[0])


def test_prediction_is_filtering_with_the_future_missing_and_has_the_right_shapes():
    model = _model()
    frames, u = torch.rand(3, 6, 1, 16, 16), torch.randn(3, 9, 1)
    pred, z = model.predict(frames, 4, 5, u)
    assert pred.shape == (3, 9, 1, 16, 16) and z.shape == (3, 9, 4)
    assert bool(((pred >= 0) & (pred <= 1)).all())
    a, _ = model.encode(frames[:, :4])
    a = torch.cat([a, torch.zeros(3, 5, 2)], 1)
    mask = torch.arange(9).expand(3, 9) < 4
    filt, _, _ = model.transition.filter(a, mask, u)
    torch.testing.assert_close(z[:, 4:], filt.predicted_means[:, 4:])  # each rollout step = a skipped update
    post = model.infer(frames[:, :4], None, u[:, :4], sample=False)
    torch.testing.assert_close(z[:, :4], post.q_mean)  # smoothed over the context


@pytest.mark.parametrize("float64,bias", [(False, False), (True, False), (True, True)])
def test_the_sampled_elbo_is_the_exact_one(float64, bias):
    """log p(a | z) + log p(z) − log p(z | a) = log p(a) for the smoothed sample: KVAE's ELBO has no z-noise."""
    model = _model(float64=float64, bias=bias)
    if bias:  # offsets that matter: the same in the filter's log p(a) and the sample's log p(a, z)
        with torch.no_grad():
            model.transition.B.normal_()
    frames, u = torch.rand(2, 5, 1, 16, 16), torch.randn(2, 5, 1)
    mask = torch.tensor([[1, 1, 0, 1, 1], [1, 1, 1, 1, 1]], dtype=torch.float32)
    terms = {}
    for elbo in ("sample", "exact"):
        model.transition.config.elbo = elbo
        torch.manual_seed(3)
        terms[elbo] = model.elbo(frames, u, mask)
    tol = {"rtol": 1e-6, "atol": 1e-6} if float64 else {"rtol": 1e-4, "atol": 1e-3}
    torch.testing.assert_close(terms["sample"]["kl"], terms["exact"]["kl"], **tol)
    assert terms["sample"]["posterior"].z.dtype == torch.float32


def test_regime_offsets_are_an_input_of_ones_to_the_plain_filter():
    """With ``bias`` each regime's step is affine: z_t = A z_{t−1} + B_u u_{t−1} + b; the filter equals the plain
    one driven by (u, 1), and a rollout step adds b to A z."""
    model = _model(bias=True, regimes=1)
    tr = model.transition
    assert tr.B.shape == (1, 4, 2)  # the input's column, then the offset
    with torch.no_grad():
        tr.B.copy_(torch.randn(1, 4, 2))
        tr.A.copy_(0.9 * torch.eye(4) + 0.05 * torch.randn(4, 4))
    a, u = torch.randn(2, 6, 2), torch.randn(2, 6, 1)
    mask = torch.tensor([[1, 0, 1, 1, 0, 1], [1, 1, 1, 0, 0, 0]], dtype=torch.bool)
    filt, _, drive = tr.filter(a, mask, u)
    ones = torch.cat([u, torch.ones(2, 6, 1)], -1)
    torch.testing.assert_close(drive.u, ones)
    q, r = tr.noises(torch.float32)
    plain = kalman_filter(
        a, tr.A[0].detach(), tr.C[0].detach(), q, r, tr.mu0, tr.sigma0, mask, ones, tr.B[0].detach()
    )
    torch.testing.assert_close(filt.filtered_means, plain.filtered_means)
    torch.testing.assert_close(filt.log_likelihood, plain.log_likelihood)
    z = torch.randn(2, 4)
    mean, _, _ = tr.step(z, None, 0.1, None)  # no input given: only the offset drives
    torch.testing.assert_close(mean, z @ tr.A[0].T + tr.B[0, :, 1], rtol=1e-5, atol=1e-6)


def test_float64_option_runs_the_filter_in_float64():
    model = _model(float64=True)
    filt, _, _ = model.transition.filter(torch.randn(2, 3, 2))
    assert filt.filtered_covs.dtype == torch.float64
    assert model.infer(torch.rand(2, 3, 1, 16, 16)).z.dtype == torch.float32


def test_a_tiny_kalman_vae_learns_the_box(box32):
    data = S.load_dataset(box32)
    train = SequenceDataset(data["train"])
    torch.manual_seed(0)
    cfg = ModelConfig(transition="kalman", latent_dim=4, channels=8, features=32)
    model = build_model(DataSpec.from_dataset(data), cfg)
    opt = torch.optim.Adam(model.parameters(), lr=7e-3)  # KVAE's learning rate
    rng, losses = np.random.default_rng(0), []
    for _ in range(25):
        batch = train.sample(8, rng)
        mask = torch.from_numpy((rng.random((8, 20)) > 0.3).astype(np.float32))
        loss = model.elbo(batch.frames, batch.inputs, mask)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.5 * losses[0], (losses[0], losses[-5:])


def test_config_round_trip_rebuilds_the_same_model(tmp_path):
    cfg = RunConfig()
    cfg.model.transition, cfg.model.latent_dim, cfg.model.channels, cfg.model.features = "kalman", 4, 4, 8
    cfg.model.kalman.a_dim, cfg.model.kalman.regimes, cfg.model.kalman.float64 = 3, 2, True
    cfg.model.kalman.elbo = "exact"
    cfg.save(tmp_path / "config.toml")
    loaded = RunConfig.load(tmp_path / "config.toml")
    assert loaded == cfg
    frames = torch.rand(1, 4, 1, 16, 16)
    outs = []
    for c in (cfg, loaded):
        torch.manual_seed(0)
        outs.append(build_model(SPEC, c.model).reconstruct(frames)[0])
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)
    over = cfg.with_overrides(["model.kalman.regimes=4", "model.kalman.lstm_hidden=7"])
    assert over.model.kalman.regimes == 4 and over.model.kalman.lstm_hidden == 7


@pytest.mark.parametrize(
    "override,match",
    [
        ("model.kalman.regimes=0", "model.kalman.regimes"),
        ("model.kalman.a_dim=0", "model.kalman.a_dim"),
        ("model.kalman.process_var=0.0", "model.kalman.process_var"),
        ("model.kalman.obs_var=-1.0", "model.kalman.obs_var"),
        ("model.kalman.init_var=0.0", "model.kalman.init_var"),
        ("model.kalman.elbo=mc", "model.kalman.elbo"),
        ("model.kalman.recon_scale=0.0", "model.kalman.recon_scale"),
        ("model.kalman.alpha_warmup=-1", "model.kalman.alpha_warmup"),
    ],
)
def test_bad_settings_name_the_field(override, match):
    cfg = RunConfig().with_overrides(["model.transition=kalman", override])
    with pytest.raises(ConfigError, match=match):
        build_model(SPEC, cfg.model)


def test_a_bias_that_is_no_boolean_is_refused_by_name():
    with pytest.raises(ConfigError, match="model.kalman.bias must be a bool, got 2"):
        RunConfig().with_overrides(["model.transition=kalman", "model.kalman.bias=2"])
    cfg = RunConfig().with_overrides(["model.transition=kalman"])
    cfg.model.kalman.bias = "yes"  # set in code, past the parser
    with pytest.raises(ConfigError, match="model.kalman.bias must be true or false"):
        build_model(SPEC, cfg.model)


def test_free_bits_are_refused_clearly():
    with pytest.raises(ConfigError, match="free_bits"):
        _model().elbo(torch.rand(1, 3, 1, 16, 16), free_bits=0.5)


def test_recon_scale_weighs_the_reconstruction_in_the_loss_only():
    frames = torch.rand(2, 4, 1, 16, 16)
    outs = {}
    for scale in (1.0, 0.3):
        torch.manual_seed(5)
        outs[scale] = _model(recon_scale=scale, elbo="exact").elbo(frames)
    one, kvae = outs[1.0], outs[0.3]
    torch.testing.assert_close(kvae["elbo"], one["elbo"])  # the reported bound is the model's, unscaled
    torch.testing.assert_close(kvae["loss"], -(0.3 * one["recon"] - one["kl"]))


def test_alpha_warmup_holds_the_alpha_network_and_trains_the_rest(tmp_path, box32):
    from physvae import fit

    def trained(steps: int) -> dict:
        cfg = RunConfig().with_overrides(
            [
                "model.transition=kalman",
                "model.latent_dim=4",
                "model.channels=4",
                "model.features=8",
                "model.kalman.alpha_warmup=2",
                f"train.data={box32}",
                f"train.steps={steps}",
                "train.batch_size=4",
                "train.threads=1",
                "train.predict_weight=0",
            ]
        )
        return cfg, fit(cfg, tmp_path / f"run{steps}", progress=False).model.state_dict()

    cfg, held_run = trained(2)
    torch.manual_seed(cfg.train.seed)  # the run's start: build_model after seeding torch with train.seed
    start = build_model(DataSpec.from_dataset(S.load_dataset(box32)), cfg.model).state_dict()
    alpha = [k for k in start if k.startswith(("transition.lstm.", "transition.alpha."))]
    assert alpha and all(torch.equal(held_run[k], start[k]) for k in alpha)
    for k in ("transition.A", "transition.C", "decoder.inp.0.weight"):
        assert not torch.equal(held_run[k], start[k]), k
    _, later = trained(3)  # one step past the warm-up, α trains too
    assert all(not torch.equal(later[k], start[k]) for k in alpha)
