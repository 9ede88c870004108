"""The render decoder: bodies drawn where the stated physics puts them, and nowhere else."""

import math

import numpy as np
import pytest
import torch

from physvae import DataSpec, ModelConfig, RunConfig, TemporalVAE, fit
from physvae.likelihoods import Gaussian
from physvae.model import LearnedInitialPrior
from physvae.physics import PHYSICS, KnownPhysics
from physvae.render_decoder import BLOB, SPRITE_SPAN, RenderDecoder
from physvae.transitions import TRANSITIONS
from simulators import ConfigError
from simulators.storage import load_dataset

from .resume import assert_same_state, kill_and_resume


def _pendulum_latent(theta: torch.Tensor, norm: float = 1.0, extra: float = 0.0) -> torch.Tensor:
    """z (N, 4) = (norm cos θ, norm sin θ, 0, extra)."""
    n = len(theta)
    return torch.stack([norm * theta.cos(), norm * theta.sin(), torch.zeros(n), torch.full((n,), extra)], -1)


def test_the_bob_is_drawn_where_the_camera_puts_the_pendulums_bob_whatever_the_pairs_length():
    dec = RenderDecoder(PHYSICS["pendulum"], size=16, channels=1, latent_dim=4)
    with torch.no_grad():
        dec.centre.copy_(torch.tensor([0.1, -0.2]))
        dec.camera.copy_(torch.tensor([[0.6, 0.1], [0.0, -0.5]]))
    theta = torch.linspace(-math.pi, math.pi, 9)
    hand = torch.stack([0.1 + 0.6 * theta.sin() - 0.1 * theta.cos(), -0.2 + 0.5 * theta.cos()], -1)
    for norm in (1.0, 0.2, 3.0):  # only the pair's direction is the angle
        got = dec.positions(_pendulum_latent(theta, norm))[:, 0]
        torch.testing.assert_close(got, hand)


def test_moving_the_body_by_whole_pixels_moves_the_drawing_by_the_same_pixels():
    torch.manual_seed(0)
    dec = RenderDecoder(PHYSICS["mass_spring"], size=16, channels=2, latent_dim=2)
    with torch.no_grad():
        dec.background.zero_()
        dec.camera.copy_(torch.eye(2) * (2 / 16))  # q = 1 moves the mass one pixel to the right
    z = torch.tensor([[-1.0, 0.0], [2.0, 0.0]])  # q = −1 and q = 2: three pixels apart
    out = dec(z)
    torch.testing.assert_close(out[1, :, :, 3:], out[0, :, :, :-3])
    assert not torch.allclose(out[1], out[0])


def test_extra_dimensions_change_the_look_and_never_the_place():
    torch.manual_seed(0)
    dec = RenderDecoder(PHYSICS["pendulum"], size=16, channels=3, latent_dim=5)
    theta = torch.tensor([0.3, 0.3])
    z = torch.cat([_pendulum_latent(theta), torch.tensor([[0.0], [2.0]])], -1)
    z[1, 3] = -1.0
    pos = dec.positions(z)
    torch.testing.assert_close(pos[0], pos[1])
    assert (dec(z)[0] - dec(z)[1]).abs().max() > 1e-3


def test_sized_by_the_extras_the_orbit_grows_and_the_angle_stays():
    dec = RenderDecoder(PHYSICS["pendulum"], size=16, channels=1, latent_dim=5, scale_from_extras=True)
    with torch.no_grad():
        dec.scale.weight.copy_(torch.tensor([[math.log(2.0), 0.0]]))
    theta = torch.tensor([0.7, 0.7])
    z = torch.cat([_pendulum_latent(theta), torch.tensor([[0.0], [0.0]])], -1)
    z[1, 3] = 1.0  # the first extra dimension doubles the drawing's size
    pos = dec.positions(z)[:, 0] - dec.centre
    torch.testing.assert_close(pos[1], 2 * pos[0])


def test_the_double_pendulums_second_bob_hangs_from_the_first_at_the_learned_length_ratio():
    dec = RenderDecoder(PHYSICS["double_pendulum"], size=32, channels=1, latent_dim=6)
    with torch.no_grad():
        dec.shape.fill_(0.5)
        dec.camera.copy_(torch.eye(2))
    a1, a2 = 0.4, -1.1
    z = torch.tensor([[math.cos(a1), math.sin(a1), math.cos(a2), math.sin(a2), 0.0, 0.0]])
    pos = dec.positions(z)[0]
    first = torch.tensor([math.sin(a1), -math.cos(a1)])
    torch.testing.assert_close(pos[0], first)
    torch.testing.assert_close(pos[1], first + 0.5 * torch.tensor([math.sin(a2), -math.cos(a2)]))


def _fit_decoder(frames: torch.Tensor, theta: torch.Tensor, steps: int = 150) -> float:
    """MSE of a render decoder fitted to frames (N, 1, 16, 16) from latent angles θ (N,)."""
    torch.manual_seed(0)
    dec = RenderDecoder(PHYSICS["pendulum"], size=16, channels=1, latent_dim=4)
    as_stored = (frames.permute(0, 2, 3, 1)[:, None] * 255).round().to(torch.uint8).numpy()
    dec.init_background(as_stored)  # as fit does
    opt = torch.optim.Adam(dec.parameters(), lr=1e-2)
    z = _pendulum_latent(theta)
    for _ in range(steps):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(dec(z), frames)
        opt.zero_grad(), loss.backward(), opt.step()
    with torch.no_grad():
        return float((torch.sigmoid(dec(z)) - frames).pow(2).mean())


def test_only_the_true_angle_draws_the_frames_a_squeezed_copy_cannot(pend16):
    """The reason for the decoder: a conv decoder draws the frames as well from θ/3 as from θ (any invertible
    code will do); the render decoder draws them from the true angle and not from the squeezed one."""
    split = load_dataset(pend16)["train"]
    frames = (
        torch.tensor(np.asarray(split.frames[:, :8], dtype=np.float32) / 255)
        .flatten(0, 1)
        .permute(0, 3, 1, 2)
    )
    theta = torch.tensor(split.states[:, :8, split.state_names.index("theta")], dtype=torch.float32).flatten()
    mean_frame = float((frames - frames.mean(0)).pow(2).mean())
    true, squeezed = _fit_decoder(frames, theta), _fit_decoder(frames, theta / 3)
    assert true < 0.05 * mean_frame  # measured 0.006× the mean frame's MSE
    assert squeezed > 0.3 * mean_frame  # measured 0.7×


def test_the_render_decoder_is_refused_where_it_cannot_draw():
    with pytest.raises(ConfigError, match="model.decoder='render'.*model.transition='physics'"):
        RunConfig().with_overrides(["model.decoder=render"]).validate()
    with pytest.raises(ConfigError, match="model.decoder must be one of"):
        RunConfig().with_overrides(["model.decoder=sprites"]).validate()
    with pytest.raises(ConfigError, match="model.render_scale must be one of"):
        RunConfig().with_overrides(["model.render_scale=local"]).validate()
    blind = KnownPhysics(
        name="blind", state_names=["q"], rhs=lambda y, p, u: y, param_names=[], param_init=[]
    )
    with pytest.raises(ConfigError, match="'blind' has no points"):
        RenderDecoder(blind, size=16, channels=1, latent_dim=1)


def test_a_render_run_resumes_to_the_same_parameters_and_reloads_its_config(pend16, tmp_path):
    over = [f'train.data="{pend16}"', "model.transition=physics", "model.latent_dim=4", "model.decoder=render",
            "model.sprite_hidden=8",
            "model.initial_prior=learned", "model.channels=4", "model.features=16", "model.rnn_hidden=16",
            "train.steps=6", "train.batch_size=4", "train.checkpoint_every=2", "train.log_every=1",
            "train.threads=1", "train.predict_weight=0.5"]  # fmt: skip
    cfg = RunConfig().with_overrides(over)
    full = fit(cfg, tmp_path / "full", progress=False)
    resumed = kill_and_resume(cfg, tmp_path / "killed", kill_at=5, checkpointed=4)
    a = full.model.state_dict()
    assert any(k.startswith("decoder.camera") for k in a) and "initial.log_std" in a
    assert_same_state(a, resumed.model.state_dict())
    assert RunConfig.load(tmp_path / "killed" / "config.toml").model.decoder == "render"


class _Evidence(torch.nn.Module):
    """Features (B, T, D) are the evidence means, with std 0.5."""

    def forward(self, feats, mask):
        return feats, torch.full_like(feats, 0.5)


def test_the_first_posterior_is_the_evidence_times_the_learned_initial_prior():
    spec = DataSpec(size=16, channels=1, input_dim=0, dt=0.1, binarized=False, state_names=[])
    initial = LearnedInitialPrior(2)
    model = TemporalVAE(
        spec,
        torch.nn.Identity(),
        torch.nn.Identity(),
        _Evidence(),
        TRANSITIONS["static"](2),
        Gaussian(0.1),
        None,
        initial,
    )
    ev = torch.tensor([[[3.0, -1.0]]])  # (B=1, T=1, D=2)
    post = model.infer_features(ev, sample=False)
    torch.testing.assert_close(post.p_std[0, 0], torch.ones(2))  # it starts as N(0, I)
    with torch.no_grad():
        initial.mean.copy_(torch.tensor([2.0, 0.0]))
        initial.log_std.copy_(torch.tensor([1.0, 0.5]).log())
    post = model.infer_features(ev, sample=False)
    prec = torch.tensor([1 / 1.0**2 + 1 / 0.5**2, 1 / 0.5**2 + 1 / 0.5**2])  # prior and evidence precisions
    mean = torch.tensor([(2.0 / 1.0 + 3.0 / 0.25), (0.0 / 0.25 - 1.0 / 0.25)]) / prec
    torch.testing.assert_close(post.q_mean[0, 0], mean)
    torch.testing.assert_close(post.q_std[0, 0], prec.rsqrt())
    with pytest.raises(ConfigError, match="model.initial_prior must be one of"):
        RunConfig().with_overrides(["model.initial_prior=zero"]).validate()


def test_the_background_starts_at_what_each_pixel_shows_most_of_the_time():
    rng = np.random.default_rng(0)
    frames = np.full((6, 10, 8, 8, 1), 77, np.uint8)  # 0.30 grey
    frames[..., 0, :, 0] = 255  # a lit top row: a border
    rows, cols = rng.integers(1, 8, (2, 6, 10))
    # a bright dot in one pixel of each frame
    frames[np.arange(6)[:, None], np.arange(10), rows, cols, 0] = 255
    dec = RenderDecoder(PHYSICS["pendulum"], size=8, channels=1, latent_dim=2)
    dec.init_background(frames)
    shown = torch.sigmoid(dec.background)[0]
    assert torch.allclose(shown[1:], torch.full((7, 8), 77 / 255), atol=1e-6)
    # clipped: a logit stays finite
    assert torch.allclose(shown[0], torch.full((8,), 0.999), atol=1e-6)
    with pytest.raises(ConfigError, match=r"frames of shape \(1, 16, 16\).*background \(1, 8, 8\)"):
        dec.init_background(np.zeros((2, 3, 16, 16, 1), np.uint8))


def test_a_render_run_starts_from_its_training_frames_median(pend16, tmp_path):
    over = [f'train.data="{pend16}"', "model.transition=physics", "model.latent_dim=4", "model.decoder=render",
            "model.sprite_hidden=8", "model.channels=4", "model.features=16", "model.rnn_hidden=16",
            "train.steps=1", "train.batch_size=4", "train.lr=1e-12", "train.threads=1"]  # fmt: skip
    run = fit(RunConfig().with_overrides(over), tmp_path / "run", progress=False)
    frames = load_dataset(pend16)["train"].frames
    median = np.median(np.asarray(frames).reshape(-1, *frames.shape[2:]), 0)[..., 0] / 255
    shown = torch.sigmoid(run.model.decoder.background)[0].detach().numpy()
    assert np.allclose(shown, np.clip(median, 1e-3, 1 - 1e-3), atol=1e-4)


def _set_sprite(dec: RenderDecoder, k: int, alpha_logit: float, colour_logits: list[float]) -> None:
    """Make sprite k a constant look everywhere: zero weights, its last layer's bias (opacity, colours)."""
    last = dec.sprites[k][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([alpha_logit, *colour_logits]))


def test_sprites_are_painted_over_the_background_in_their_order():
    dec = RenderDecoder(PHYSICS["double_pendulum"], size=8, channels=2, latent_dim=6)
    with torch.no_grad():
        dec.background.copy_(torch.logit(torch.tensor([0.3, 0.6]))[:, None, None].expand(2, 8, 8))
    z = torch.tensor([[1.0, 0.0, 1.0, 0.0, 0.0, 0.0]])
    _set_sprite(dec, 0, -1e4, [0.0, 0.0])  # both transparent: the background alone
    _set_sprite(dec, 1, -1e4, [0.0, 0.0])
    torch.testing.assert_close(torch.sigmoid(dec(z))[0, :, 0, 0], torch.tensor([0.3, 0.6]))
    a, c1, c2 = 0.25, torch.tensor([0.9, 0.1]), torch.tensor([0.2, 0.5])
    _set_sprite(dec, 0, math.log(a / (1 - a)), torch.logit(c1).tolist())
    _set_sprite(dec, 1, 1e4, torch.logit(c2).tolist())  # opaque, painted last: covers everything
    torch.testing.assert_close(torch.sigmoid(dec(z))[0, :, 3, 5], c2)
    _set_sprite(dec, 1, -1e4, [0.0, 0.0])
    pixel = torch.tensor([(5 + 0.5) / 8 * 2 - 1, (3 + 0.5) / 8 * 2 - 1])  # row 3, column 5: (x, y)
    d2 = ((pixel - dec.positions(z)[0, 0]) * SPRITE_SPAN).pow(2).sum()
    # the disc under the sprite's own logit
    alpha = torch.sigmoid(torch.logit(torch.tensor(a)) + BLOB * (1 - d2))
    by_hand = (1 - alpha) * torch.tensor([0.3, 0.6]) + alpha * c1
    torch.testing.assert_close(torch.sigmoid(dec(z))[0, :, 3, 5], by_hand)


def test_added_sprites_are_the_background_plus_each_sprites_logits():
    dec = RenderDecoder(PHYSICS["double_pendulum"], size=8, channels=1, latent_dim=6, compose="add")
    assert not dec.background.detach().any()  # the first version's start, kept for its saved runs
    _set_sprite(dec, 0, 0.7, [])
    _set_sprite(dec, 1, -0.2, [])
    with torch.no_grad():
        dec.background.fill_(0.1)
    out = dec(torch.tensor([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]]))
    torch.testing.assert_close(out, torch.full((1, 1, 8, 8), 0.6))
    with pytest.raises(ConfigError, match="compose must be 'over' or 'add', got 'under'"):
        RenderDecoder(PHYSICS["pendulum"], size=8, channels=1, latent_dim=2, compose="under")
    with pytest.raises(ConfigError, match="model.render_compose must be one of"):
        RunConfig().with_overrides(["model.render_compose=under"]).validate()


def test_a_render_run_saved_before_compose_existed_reloads_as_the_additive_decoder(pend16, tmp_path):
    from physvae.run import Run

    over = [f'train.data="{pend16}"', "model.transition=physics", "model.latent_dim=4", "model.decoder=render",
            "model.sprite_hidden=8", "model.channels=4", "model.features=16", "model.rnn_hidden=16",
            "train.steps=1", "train.batch_size=4", "train.threads=1"]  # fmt: skip
    for compose in ("add", "over"):
        cfg = RunConfig().with_overrides([*over, f"model.render_compose={compose}"])
        fit(cfg, tmp_path / compose, progress=False)
    # as the physvae before the option wrote it: no render_compose line
    old = tmp_path / "add" / "config.toml"
    old.write_text("\n".join(line for line in old.read_text().splitlines() if "render_compose" not in line))
    run = Run(tmp_path / "add")
    assert run.config.model.render_compose == "add" and run.model.decoder.compose == "add"  # its weights load
    assert Run(tmp_path / "over").config.model.render_compose == "over"


def test_a_colour_from_the_extras_is_one_linear_colour_per_body_whatever_its_pose():
    dec = RenderDecoder(PHYSICS["pendulum"], size=8, channels=3, latent_dim=5, color_from_extras=True)
    _set_sprite(dec, 0, 1e4, [])  # opaque everywhere: every pixel shows the body's colour
    w, c = torch.tensor([[1.0, -2.0], [0.5, 0.0], [0.0, 3.0]]), torch.tensor([0.1, -0.3, 0.2])
    with torch.no_grad():
        dec.colors[0].weight.copy_(w), dec.colors[0].bias.copy_(c)
    extras = torch.tensor([[0.4, -0.2], [-1.0, 0.5]])
    theta = torch.tensor([0.3, -2.0])  # two poses, two extras
    out = dec(torch.cat([_pendulum_latent(theta)[:, :3], extras], -1))  # logits of the painted intensity
    expected = (extras @ w.T + c)[:, :, None, None].expand(2, 3, 8, 8)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(ConfigError, match="needs compose='over'"):
        RenderDecoder(
            PHYSICS["pendulum"], size=8, channels=1, latent_dim=4, compose="add", color_from_extras=True
        )
    with pytest.raises(ConfigError, match="model.render_color must be one of"):
        RunConfig().with_overrides(["model.render_color=flat"]).validate()
    bad = ["model.render_color=extras", "model.render_compose=add", "model.decoder=render"]
    with pytest.raises(ConfigError, match="render_color='extras' needs model.render_compose='over'"):
        RunConfig().with_overrides(bad).validate()


@pytest.mark.parametrize(
    "option, value", [("render_scale", "extras"), ("render_compose", "add"), ("render_color", "extras")]
)
def test_a_render_option_with_the_conv_decoder_is_refused_not_ignored(option, value):
    with pytest.raises(ConfigError, match=f"model.{option}='{value}' applies to the render decoder"):
        ModelConfig(**{option: value}).validate()
    ModelConfig(**{option: value}, decoder="render", transition="physics").validate()
