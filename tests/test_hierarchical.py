import pytest
import torch

from physvae import RunConfig
from physvae.checkpoint import load as load_ckpt
from physvae.checkpoint import save_atomic
from physvae.transitions import Hierarchical, HierarchicalConfig, LocallyLinear
from simulators import ConfigError

pytestmark = pytest.mark.usefixtures("float64_default")  # exact checks in double precision


def _moving(config: HierarchicalConfig, latent_dim: int = 5, input_dim: int = 0) -> Hierarchical:
    """A transition whose slow network g and slow-to-fast maps C are not zero (as after training)."""
    torch.manual_seed(0)
    tr = Hierarchical(latent_dim, input_dim, config)
    with torch.no_grad():
        torch.nn.init.normal_(tr.slow_net[-1].weight, std=0.5)
        torch.nn.init.normal_(tr.C, std=0.3)
    return tr


def test_slow_prior_mean_is_exactly_held_between_clock_updates():
    tr = _moving(HierarchicalConfig(slow_dim=2, period=3))
    z0 = torch.randn(4, 5)
    with torch.no_grad():
        out = torch.cat([z0[:, None], tr.rollout(z0, 12, dt=0.1)], dim=1)  # frames 0 … 12
    for t in range(1, 13):
        same = torch.equal(out[:, t, :2], out[:, t - 1, :2])
        assert same == (t % 3 != 0), t
        assert tr.updates_at(t) == (t % 3 == 0)
    assert not torch.equal(out[:, 1, 2:], out[:, 0, 2:])  # the fast part moves every frame


def test_a_rollout_after_a_context_keeps_the_phase_of_the_clock():
    tr = _moving(HierarchicalConfig(slow_dim=2, period=4))
    z0 = torch.randn(3, 5)
    with torch.no_grad():
        whole = tr.rollout(z0, 11, dt=0.1)
        z, state = z0, None
        for _ in range(5):  # an inference sweep over a context of 6 frames steps 5 times
            z, _, state = tr.step(z, state, 0.1, None)
        rest = tr.rollout(z, 6, dt=0.1, state=state)
    assert state.frame == 5
    torch.testing.assert_close(rest, whole[:, 5:], rtol=0, atol=0)


def test_clock_update_and_step_mode_follow_their_equations():
    z = torch.randn(4, 5)
    s, f = z[:, :2], z[:, 2:]
    clock = _moving(HierarchicalConfig(slow_dim=2, period=2, regimes=1))
    mean, std, _ = clock.step(z, clock.init_state(4, z.device), 0.1, None)  # into frame 1: held
    s_new = s
    f_new = f @ clock.A[0].T + s_new @ clock.C[0].T + clock.c
    torch.testing.assert_close(mean, torch.cat([s_new, f_new], dim=1))
    torch.testing.assert_close(std[0], torch.full((5,), 0.05).index_fill(0, torch.tensor([0, 1]), 0.005))
    mean, std, _ = clock.step(z, clock.step(z, None, 0.1, None)[2], 0.1, None)  # into frame 2: update
    s_new = s + clock.slow_net(s)
    f_new = f @ clock.A[0].T + s_new @ clock.C[0].T + clock.c
    torch.testing.assert_close(mean, torch.cat([s_new, f_new], dim=1))
    torch.testing.assert_close(std[0], torch.full((5,), 0.05))
    step = _moving(HierarchicalConfig(slow_dim=2, slow_mode="step", slow_step=0.1, regimes=1))
    mean, std, _ = step.step(z, None, 0.1, None)
    torch.testing.assert_close(mean[:, :2], s + 0.1 * step.slow_net(s))
    torch.testing.assert_close(std[0, :2], torch.full((2,), 0.005))


def test_untrained_slow_latent_is_held_and_fast_one_with_one_regime_is_matrix_powers():
    torch.manual_seed(0)
    tr = Hierarchical(5, 0, HierarchicalConfig(slow_dim=2, period=1, regimes=1, init_scale=0.3))
    z0 = torch.randn(3, 5)
    with torch.no_grad():
        out = tr.rollout(z0, 6, dt=0.1)
    A = tr.A[0].detach()
    for t in range(6):
        torch.testing.assert_close(out[:, t, :2], z0[:, :2], rtol=0, atol=0)  # g starts at zero, C too
        torch.testing.assert_close(out[:, t, 2:], z0[:, 2:] @ torch.linalg.matrix_power(A, t + 1).T)


def test_controls_enter_the_fast_part_only():
    tr = Hierarchical(4, 1, HierarchicalConfig(slow_dim=1, regimes=1))
    with torch.no_grad():
        tr.B.fill_(0.5)
    z = torch.zeros(1, 4)
    mean, _, _ = tr.step(z, None, 0.1, torch.tensor([[2.0]]))
    torch.testing.assert_close(mean, torch.tensor([[0.0, 1.0, 1.0, 1.0]]))


def test_linear_maps_of_a_held_frame_reproduce_the_step():
    tr = _moving(HierarchicalConfig(slow_dim=2, period=5, regimes=1))
    z = torch.randn(1, 5)
    maps = tr.linear_maps(z)
    mean, _, _ = tr.step(z, None, 0.1, None)
    offset = torch.cat([torch.zeros(2), tr.c])
    torch.testing.assert_close(mean[0], maps.mean_map @ z[0] + offset)
    torch.testing.assert_close(maps.maps[0], maps.mean_map)
    assert maps.maps.shape == (1, 5, 5) and float(maps.usage.detach().sum()) == pytest.approx(1.0)


def test_slow_and_fast_dims_split_the_latent():
    tr = Hierarchical(6, 0, HierarchicalConfig(slow_dim=2))
    assert tr.slow_dims == (0, 1) and tr.fast_dims == (2, 3, 4, 5)
    assert LocallyLinear(6).slow_dims == ()


@pytest.mark.parametrize("mode", ["clock", "step"])
def test_step_gradcheck(mode):
    """float64 gradients of three steps (one an update) w.r.t. the latent and the slow and fast parameters."""
    tr = _moving(HierarchicalConfig(slow_dim=2, period=2, slow_mode=mode, regimes=3, max_norm=0.9), 5, 1)
    z0, u = torch.randn(2, 5, requires_grad=True), torch.randn(2, 3, 1)

    def steps(z0):
        z, state, outs = z0, None, []
        for t in range(3):
            z, std, state = tr.step(z, state, 0.1, u[:, t])
            outs += [z, std]
        return torch.cat(outs, dim=1)

    params = (tr.C, tr.A, tr.slow_net[-1].weight)  # perturbed in place by gradcheck, read by the steps
    assert torch.autograd.gradcheck(lambda z0, *_: steps(z0), (z0, *params), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "override,match",
    [
        ("model.hierarchical.slow_dim=4", "model.hierarchical.slow_dim must be less than model.latent_dim"),
        ("model.hierarchical.slow_dim=0", "model.hierarchical.slow_dim"),
        ("model.hierarchical.period=0", "model.hierarchical.period"),
        ("model.hierarchical.slow_mode='fast'", "model.hierarchical.slow_mode must be one of"),
        ("model.hierarchical.hold_noise=0.0", "model.hierarchical.hold_noise"),
    ],
)
def test_bad_settings_name_the_field(override, match):
    cfg = RunConfig().with_overrides(["model.transition=hierarchical", "model.latent_dim=4", override])
    cfg.train.data = "somewhere"
    with pytest.raises(ConfigError, match=match):
        cfg.validate()


def test_config_and_checkpoint_round_trip(tmp_path):
    cfg = RunConfig().with_overrides(
        ["model.transition=hierarchical", "model.hierarchical.slow_dim=3", "model.hierarchical.period=7"]
    )
    cfg.save(tmp_path / "config.toml")
    again = RunConfig.load(tmp_path / "config.toml")
    assert again.model.hierarchical == HierarchicalConfig(slow_dim=3, period=7)
    tr = _moving(again.model.hierarchical, 6, 1)
    save_atomic({"model": tr.state_dict()}, tmp_path / "t.pt")
    torch.manual_seed(1)
    fresh = Hierarchical(6, 1, again.model.hierarchical)
    fresh.load_state_dict(load_ckpt(tmp_path / "t.pt")["model"])
    z0, u = torch.randn(2, 6), torch.randn(2, 9, 1)
    with torch.no_grad():
        torch.testing.assert_close(fresh.rollout(z0, 9, 0.1, u), tr.rollout(z0, 9, 0.1, u), rtol=0, atol=0)
