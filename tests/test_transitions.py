import numpy as np
import pytest
import torch
from scipy.linalg import expm

from physvae import gaussian
from physvae.transitions import TRANSITIONS, LocallyLinear, LocallyLinearConfig, NeuralODE, NeuralODEConfig
from physvae.transitions.locally_linear import bound_norm
from physvae.transitions.neural_ode import SolverStalled
from simulators import ConfigError

pytestmark = pytest.mark.usefixtures("float64_default")  # exact checks in double precision


def test_locally_linear_with_one_regime_and_no_noise_rolls_out_as_matrix_powers():
    torch.manual_seed(0)
    tr = LocallyLinear(3, 0, LocallyLinearConfig(regimes=1, init_scale=0.3))
    z0 = torch.randn(5, 3)
    A = tr.A[0].detach()
    out = tr.rollout(z0, 6, dt=0.1)
    for t in range(6):
        expected = z0 @ torch.linalg.matrix_power(A, t + 1).T
        torch.testing.assert_close(out[:, t], expected, rtol=1e-12, atol=1e-12)


def test_locally_linear_uses_controls():
    torch.manual_seed(0)
    tr = LocallyLinear(2, 1, LocallyLinearConfig(regimes=1))
    with torch.no_grad():
        tr.B.fill_(0.5)
    z = torch.zeros(1, 2)
    mean, _, _ = tr.step(z, None, 0.1, torch.tensor([[2.0]]))
    torch.testing.assert_close(mean, torch.tensor([[1.0, 1.0]]))


def test_bounded_maps_have_the_set_spectral_norm_and_a_mixture_never_expands():
    torch.manual_seed(0)
    tr = LocallyLinear(6, 0, LocallyLinearConfig(regimes=4, init_scale=0.5, max_norm=0.9))
    raw = torch.linalg.matrix_norm(tr.A.detach(), ord=2)
    assert (raw > 0.9).all()  # every raw map would expand
    norms = torch.linalg.matrix_norm(tr.maps().detach(), ord=2)
    torch.testing.assert_close(norms, torch.full((4,), 0.9), rtol=1e-12, atol=1e-12)
    with torch.no_grad():
        tr.c.zero_()
        z = 10 * torch.randn(64, 6)
        out = tr.rollout(z, 200, dt=0.1)
    # ‖z_t‖ ≤ 0.9^t ‖z_0‖ whatever the state-dependent weights pick
    bound = 0.9 ** torch.arange(1, 201.0)[None, :] * z.norm(dim=-1, keepdim=True)
    assert (out.norm(dim=-1) <= bound * (1 + 1e-9)).all()


def test_bounded_maps_leave_small_maps_unchanged_and_unbounded_default_keeps_raw():
    torch.manual_seed(0)
    small = LocallyLinear(3, 0, LocallyLinearConfig(regimes=2, max_norm=10.0))
    torch.testing.assert_close(small.maps(), small.A, rtol=0, atol=0)
    raw = LocallyLinear(3, 0, LocallyLinearConfig(regimes=2))
    assert raw.maps() is raw.A


def test_maps_carried_in_the_state_give_the_same_step_as_maps_computed_there():
    torch.manual_seed(0)
    tr = LocallyLinear(5, 1, LocallyLinearConfig(regimes=3, init_scale=0.5, max_norm=0.9))
    z, u = torch.randn(4, 5), torch.randn(4, 1)
    state = tr.init_state(4, z.device, z.dtype)
    torch.testing.assert_close(state, tr.maps(), rtol=0, atol=0)
    carried, _, kept = tr.step(z, state, 0.1, u)
    fresh, _, _ = tr.step(z, None, 0.1, u)
    torch.testing.assert_close(carried, fresh, rtol=0, atol=0)
    assert kept is state


def test_norm_bound_gradcheck():
    """float64 gradients through the scaling (an SVD) match finite differences, above and below the bound."""
    torch.manual_seed(0)
    W = torch.randn(3, 4, 4, requires_grad=True)
    for max_norm in (0.95, 100.0):
        assert torch.autograd.gradcheck(lambda W, rho=max_norm: bound_norm(W, rho), (W,), eps=1e-6, atol=1e-6)


def _linear_ode(order: int, solver: str, A: np.ndarray) -> NeuralODE:
    d = A.shape[0]
    tr = NeuralODE(d, 0, NeuralODEConfig(order=order, solver=solver, substeps=8, rtol=1e-10, atol=1e-10))
    k = d if order == 1 else d // 2
    lin = torch.nn.Linear(d, k, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(A if order == 1 else A[k:]))
    tr.func.net = lin
    return tr


@pytest.mark.parametrize("solver,tol", [("rk4", 1e-7), ("dopri5", 1e-8)])
def test_neural_ode_with_linear_field_matches_expm(solver, tol):
    A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    tr = _linear_ode(1, solver, A)
    z0 = torch.tensor([[1.0, 0.5], [-0.3, 2.0]])
    out = tr.rollout(z0, 10, dt=0.1).detach().numpy()
    for t in range(10):
        np.testing.assert_allclose(out[:, t], z0.numpy() @ expm(A * 0.1 * (t + 1)).T, atol=tol)
    assert tr.nfe > 0


def test_second_order_ode_is_a_damped_oscillator():
    """q̇ = v, v̇ = −ω² q − γ v: the full-state matrix [[0, 1], [−ω², −γ]]."""
    A = np.array([[0.0, 1.0], [-4.0, -0.3]])
    tr = _linear_ode(2, "rk4", A)
    z0 = torch.tensor([[1.0, 0.0]])
    out = tr.rollout(z0, 20, dt=0.05).detach().numpy()
    np.testing.assert_allclose(out[0, -1], expm(A * 1.0) @ z0.numpy()[0], atol=1e-7)


def test_divergence_is_the_trace_of_the_field_and_the_penalty_counts_only_its_positive_part():
    """Linear fields: the divergence is tr A (order 1) or the trace of v̇'s block in v (order 2: −γ for the
    damped oscillator); the penalty is weight · relu(trace), zero for a damped field, and it trains the field
    (a gradient reaches its weights) but not the latents."""
    damped = _linear_ode(
        2,
        "rk4",
        np.array(
            [[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0], [-4.0, 0.0, -0.3, 0.5], [0.0, -1.0, 0.2, -0.1]]
        ),
    )
    z = torch.randn(5, 4)
    torch.testing.assert_close(damped.divergence(z), torch.full((5,), -0.4))
    damped.cfg.dissipation = 10.0
    assert damped.regularizer(z[:, None]).item() == 0.0
    A = np.array([[0.3, 2.0], [-2.0, 0.1]])  # a growing spiral: divergence +0.4
    pumped = _linear_ode(1, "rk4", A)
    pumped.cfg.dissipation = 10.0
    zs = torch.randn(2, 3, 2, requires_grad=True)
    penalty = pumped.regularizer(zs)
    torch.testing.assert_close(penalty, torch.tensor(10.0 * 0.4))
    penalty.backward()
    assert pumped.func.net.weight.grad is not None and zs.grad is None
    assert pumped.nfe == 0  # not counted as a solver's evaluation
    pumped.cfg.dissipation = 0.0
    assert pumped.regularizer(zs) is None


def test_growth_rate_is_the_largest_real_eigenvalue_and_the_mode_penalty_uses_it():
    """The damped oscillator [[0, 1], [−4, −0.3]] has eigenvalues −0.15 ± i·1.99: growth rate −0.15, while a
    saddle (an inverted pendulum's [[0, 1], [4, −0.3]]) grows at (−0.3 + √(0.09 + 16)) / 2 > 0; the "mode" penalty
    charges the saddle, the trace penalty (its trace is −0.3) does not."""
    damped = _linear_ode(2, "rk4", np.array([[0.0, 1.0], [-4.0, -0.3]]))
    torch.testing.assert_close(damped.growth_rate(torch.randn(3, 2)), torch.full((3,), -0.15))
    saddle = _linear_ode(2, "rk4", np.array([[0.0, 1.0], [4.0, -0.3]]))
    rate = (-0.3 + np.sqrt(0.09 + 16.0)) / 2
    z = torch.randn(1, 4, 2)
    torch.testing.assert_close(saddle.growth_rate(z[0]), torch.full((4,), rate))
    saddle.cfg.dissipation = 2.0
    assert saddle.regularizer(z).item() == 0.0
    saddle.cfg.dissipation_on = "mode"
    penalty = saddle.regularizer(z)
    torch.testing.assert_close(penalty, torch.tensor(2.0 * rate))
    penalty.backward()
    assert saddle.func.net.weight.grad is not None and saddle.nfe == 0
    with pytest.raises(ConfigError, match="dissipation_on"):
        NeuralODEConfig(dissipation_on="volume").validate()


def test_velocity_mismatch_is_zero_for_exact_velocities_and_scales_with_the_shrink():
    """Positions moving at constant velocities u (one per sequence and dimension) at uneven frame times: every
    central difference is u exactly, so v = u costs 0 and v = 0.8 u costs 0.04 · mean(u²) / var(u) per
    dimension (over batch and inner frames); the penalty reaches the latents, and needs order 2."""
    model = NeuralODE(4, 0, NeuralODEConfig(velocity_consistency=3.0))
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(6, 1, 2, generator=gen, dtype=torch.float64) + 0.5
    times = torch.cumsum(torch.rand(6, 7, generator=gen, dtype=torch.float64) + 0.05, dim=1)
    q = u * times[..., None]
    exact = torch.cat([q, u.expand_as(q)], dim=-1)
    assert model.velocity_mismatch(exact, times).item() < 1e-20
    shrunk = torch.cat([q, 0.8 * u.expand_as(q)], dim=-1).requires_grad_(True)
    flat = np.repeat(u[:, 0].numpy(), 5, axis=0)  # the 5 inner frames of each sequence
    expected = np.mean(0.04 * flat**2 / flat.var(axis=0, ddof=1))
    assert model.velocity_mismatch(shrunk, times).item() == pytest.approx(expected, rel=1e-12)
    penalty = model.regularizer(shrunk, times)
    assert penalty.item() == pytest.approx(3.0 * expected, rel=1e-12)
    penalty.backward()
    assert shrunk.grad is not None and shrunk.grad.abs().sum() > 0
    assert model.regularizer(shrunk) is None  # no times: nothing to difference by
    with pytest.raises(ConfigError, match="velocity_consistency needs order 2"):
        NeuralODEConfig(order=1, velocity_consistency=1.0).validate()


def test_divergence_of_a_network_field_matches_finite_differences():
    torch.manual_seed(0)
    tr = NeuralODE(6, 0, NeuralODEConfig(order=2)).double()
    torch.nn.init.normal_(tr.func.net[-1].weight, std=0.5)
    z = torch.randn(4, 6, dtype=torch.float64)
    eps, fd = 1e-6, torch.zeros(4, dtype=torch.float64)
    for i in range(3, 6):
        e = torch.zeros(6, dtype=torch.float64)
        e[i] = eps
        with torch.no_grad():
            fd += (tr.vector_field(z + e)[:, i] - tr.vector_field(z - e)[:, i]) / (2 * eps)
    torch.testing.assert_close(tr.divergence(z), fd, atol=1e-7, rtol=1e-6)


def test_neural_ode_step_matches_rollout():
    torch.manual_seed(0)
    tr = NeuralODE(4, 0, NeuralODEConfig())
    torch.nn.init.normal_(tr.func.net[-1].weight, std=0.3)
    z = torch.randn(3, 4)
    mean, std, _ = tr.step(z, None, 0.2, None)
    torch.testing.assert_close(mean, tr.rollout(z, 1, 0.2)[:, 0])
    assert std.shape == (3, 4)


def test_adaptive_solver_that_stalls_raises_a_clear_error():
    tr = _linear_ode(1, "dopri5", np.array([[-1e6, 0.0], [0.0, -1e6]]))
    tr.cfg.max_steps = 5
    with pytest.raises(SolverStalled, match="more than 5 steps"):
        tr.rollout(torch.ones(1, 2), 2, dt=1.0)


def test_gaussian_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mq, sq = torch.tensor([0.3, -1.0]), torch.tensor([0.5, 1.5])
    mp, sp = torch.tensor([0.0, 0.5]), torch.tensor([1.0, 0.8])
    z = gaussian.sample(mq.expand(400_000, 2), sq.expand(400_000, 2))
    mc = (gaussian.log_prob(z, mq, sq) - gaussian.log_prob(z, mp, sp)).mean(0)
    torch.testing.assert_close(gaussian.kl(mq, sq, mp, sp), mc, atol=5e-3, rtol=0)


def test_fuse_is_the_product_of_gaussians():
    m, s = gaussian.fuse(torch.tensor([0.0]), torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([1.0]))
    torch.testing.assert_close(m, torch.tensor([1.0]))
    torch.testing.assert_close(s, torch.tensor([0.5**0.5]))


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_every_transition_steps_and_rolls_out(name):
    tr = TRANSITIONS[name](4, 1)
    state = tr.init_state(3, torch.device("cpu"), torch.get_default_dtype())
    mean, std, state = tr.step(torch.randn(3, 4), state, 0.1, torch.randn(3, 1))
    assert mean.shape == std.shape == (3, 4) and torch.all(std > 0)
    assert tr.rollout(torch.randn(3, 4), 5, 0.1, torch.randn(3, 5, 1)).shape == (3, 5, 4)


def test_locally_linear_substeps_compose_the_one_step_map():
    """n substeps are n steps of the same transition with substeps 1, inputs and offset added at each; the maps
    the dynamics read-out sees are the frame interval's: each raised to the n-th power."""
    torch.manual_seed(0)
    one = LocallyLinear(4, 1, LocallyLinearConfig(regimes=3, init_scale=0.4))
    three = LocallyLinear(4, 1, LocallyLinearConfig(regimes=3, init_scale=0.4, substeps=3))
    three.load_state_dict(one.state_dict())
    with torch.no_grad():
        one.B.normal_(), one.c.normal_()
        three.load_state_dict(one.state_dict())
    z, u = torch.randn(5, 4), torch.randn(5, 1)
    want = z
    for _ in range(3):
        want, _, _ = one.step(want, None, 0.1, u)
    got, std, _ = three.step(z, None, 0.1, u)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(std, one.process_noise().expand_as(got))
    maps, base = three.linear_maps(z), one.linear_maps(z)
    torch.testing.assert_close(maps.maps, base.maps @ base.maps @ base.maps, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        maps.mean_map, torch.linalg.matrix_power(base.mean_map, 3), rtol=1e-12, atol=1e-12
    )
    with pytest.raises(ConfigError, match="locally_linear.substeps"):
        LocallyLinearConfig(substeps=0).validate()
