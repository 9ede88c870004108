import pytest
import torch

import physvae
from physvae import ModelConfig, RunConfig, build_model, fit, gaussian
from physvae.content import ContentEncoder, with_content
from physvae.model import DataSpec
from simulators import ConfigError

SPEC = DataSpec(size=16, channels=1, input_dim=1, dt=0.1, binarized=False, state_names=["x"])


def _tiny(content_dim=3, **kw) -> ModelConfig:
    return ModelConfig(
        latent_dim=2,
        channels=2,
        features=4,
        rnn_hidden=3,
        likelihood="gaussian",
        content_dim=content_dim,
        **kw,
    )


def test_content_off_by_default_and_old_configs_load_without_it():
    assert ModelConfig().content_dim == 0
    data = ModelConfig().to_dict()
    del data["content_dim"]  # a run saved before the option existed
    assert ModelConfig.from_dict(data).content_dim == 0
    torch.manual_seed(0)
    plain = build_model(SPEC, _tiny(0))
    assert plain.content is None and not any("content" in k for k in plain.state_dict())
    assert plain.decoder.inp[0].in_features == 2


def test_the_kl_counts_content_once_per_sequence():
    """elbo's KL × T = Σ_t KL_t + KL_c, each recomputed from the returned posterior."""
    torch.manual_seed(0)
    model = build_model(SPEC, _tiny())
    x, u = torch.rand(2, 5, 1, 16, 16), torch.zeros(2, 5, 1)
    out = model.elbo(x, u)
    post = out["posterior"]
    frames_kl = gaussian.kl(post.q_mean, post.q_std, post.p_mean, post.p_std).sum((1, 2))
    content_kl = gaussian.kl(post.content.mean, post.content.std, 0.0 * post.content.mean, 1.0).sum(1)
    torch.testing.assert_close(out["kl"] * 5, (frames_kl + content_kl).mean())
    assert post.content.z.shape == (2, 3) and post.z.shape == (2, 5, 2)


def test_content_is_the_masked_mean_over_observed_frames():
    """Hidden frames do not move q(z_c | x); the pooled features equal the mean over the observed ones."""
    torch.manual_seed(0)
    enc = ContentEncoder(4, 5, 3)
    feats, mask = torch.randn(2, 6, 4), torch.tensor([[1, 1, 0, 1, 0, 0], [0, 1, 1, 1, 1, 1.0]])
    other = torch.where(mask[..., None] > 0, feats, torch.full_like(feats, 1e3))
    a, b = enc(feats, mask, sample=False), enc(other, mask, sample=False)
    torch.testing.assert_close(a.mean, b.mean)
    means = torch.stack([feats[0, [0, 1, 3]].mean(0), feats[1, 1:].mean(0)])
    torch.testing.assert_close(a.mean, enc.net(means).chunk(2, -1)[0])


def test_prediction_and_reconstruction_read_content_from_the_seen_frames_only():
    torch.manual_seed(0)
    model = build_model(SPEC, _tiny()).eval()
    x, u = torch.rand(2, 6, 1, 16, 16), torch.zeros(2, 6, 1)
    changed = x.clone()
    changed[:, 3:] = torch.rand(2, 3, 1, 16, 16)
    torch.testing.assert_close(model.predict(x, 3, 3, u)[0], model.predict(changed, 3, 3, u)[0])
    mask = torch.tensor([[1, 1, 1, 0, 0, 0]] * 2)
    a, pa = model.reconstruct(x, mask, u)
    b, pb = model.reconstruct(changed, mask, u)
    torch.testing.assert_close(pa.content.mean, pb.content.mean)
    torch.testing.assert_close(a, b)


def test_decoder_reads_a_constant_content_beside_each_frame():
    z, c = torch.randn(2, 4, 3), torch.randn(2, 5)
    joined = with_content(z, c, 5)
    torch.testing.assert_close(joined[..., :3], z)
    torch.testing.assert_close(joined[..., 3:], c[:, None].expand(2, 4, 5))
    torch.testing.assert_close(with_content(z, None, 5)[..., 3:], torch.zeros(2, 4, 5))


def test_gradcheck_through_the_content_path_in_float64(float64_default):
    """Gradients of the loss w.r.t. the frames and every content-encoder parameter, by finite differences."""
    torch.manual_seed(0)
    model = build_model(SPEC, _tiny(2))
    names = [n for n, _ in model.content.named_parameters()]
    params = tuple(model.content.get_parameter(n).detach().clone().requires_grad_() for n in names)
    inputs = torch.randn(1, 3, 1)

    def loss(x, *ps):
        torch.manual_seed(1)  # the same reparameterization noise on every call
        override = {f"content.{n}": p for n, p in zip(names, ps)}
        return torch.func.functional_call(model, override, (x, inputs), strict=False, tie_weights=False)

    model.forward = lambda x, u: model.elbo(x, u, predict_weight=0.5, predict_context=2)["loss"]
    x = torch.rand(1, 3, 1, 16, 16, requires_grad=True)
    assert torch.autograd.gradcheck(loss, (x, *params), eps=1e-6, atol=1e-5, rtol=1e-4, fast_mode=True)


def test_checkpoint_round_trip_keeps_the_content_latent(pend16, tmp_path):
    cfg = RunConfig()
    cfg.model.channels, cfg.model.features, cfg.model.rnn_hidden, cfg.model.content_dim = 4, 16, 16, 2
    cfg.train.data, cfg.train.batch_size, cfg.train.steps, cfg.train.threads = str(pend16), 4, 3, 1
    run = fit(cfg, tmp_path / "r", progress=False)
    again = physvae.load(tmp_path / "r")
    assert again.config.model.content_dim == 2
    x, u = torch.rand(2, 15, 1, 16, 16), torch.zeros(2, 15, 1)
    a, pa = run.model.reconstruct(x, inputs=u)
    b, pb = again.model.reconstruct(x, inputs=u)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(pa.content.mean, pb.content.mean)


@pytest.mark.parametrize(
    "override, match",
    [("model.content_dim=-1", "model.content_dim"), ("model.content_dim=1.5", "model.content_dim")],
)
def test_bad_content_settings_name_the_field(override, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig().with_overrides([override]).model.validate()


def test_the_kalman_vae_refuses_a_content_latent():
    with pytest.raises(ConfigError, match="content_dim must be 0 with transition 'kalman'"):
        build_model(SPEC, ModelConfig(transition="kalman", content_dim=2))


def test_the_prediction_term_decodes_with_the_context_content():
    """With the prediction term on, the returned emission is still the posterior's, over all T frames."""
    torch.manual_seed(0)
    model = build_model(SPEC, _tiny())
    x, u = torch.rand(2, 6, 1, 16, 16), torch.zeros(2, 6, 1)
    out = model.elbo(x, u, predict_weight=1.0, predict_context=2)
    assert out["emission"].shape == x.shape and out["predict"].item() != 0.0
