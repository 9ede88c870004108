"""The Hamiltonian and known-physics transitions against independent truth: the simulators' own equations and
trajectories, float64 gradients, conservation, and clear errors for configurations that cannot work."""

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import simulators as S
from physvae import RunConfig, fit
from physvae.build import build_model
from physvae.config import ModelConfig
from physvae.evaluate import EvalConfig, evaluate
from physvae.evaluation.dynamics import step_jacobian
from physvae.metrics.dynamics import oscillation
from physvae.model import DataSpec
from physvae.physics import PHYSICS, KnownPhysics, register_physics
from physvae.transitions import (
    Hamiltonian,
    HamiltonianConfig,
    LocallyLinear,
    LocallyLinearConfig,
    Physics,
    PhysicsConfig,
)
from simulators import ConfigError

pytestmark = pytest.mark.usefixtures("float64_default")


def _set_params(tr: Physics, values: list[float]) -> None:
    """Set the global parameters θ (P,) of a physics transition (all positive)."""
    with torch.no_grad():
        tr.w.copy_(torch.tensor(values).log() / tr.cfg.param_scale)


def _fit_one_step(tr: Physics, split, steps: int = 150) -> None:
    """Fit a pendulum transition's parameters by Adam (lr 0.01) on the one-step likelihood of the split's true
    states embedded as latents (cos θ, sin θ, ω), its torques as inputs."""
    states, u = torch.tensor(split.states), torch.tensor(split.inputs)
    z = torch.stack([states[..., 3], states[..., 2], states[..., 1]], -1)  # (N, T, 3)
    opt = torch.optim.Adam(tr.parameters(), lr=0.01)
    for _ in range(steps):
        mean, std, _ = tr.step(z[:, :-1].flatten(0, 1), None, split.dt, u[:, :-1].flatten(0, 1))
        nll = (((z[:, 1:].flatten(0, 1) - mean) / std) ** 2 / 2 + std.log()).sum(-1).mean()
        opt.zero_grad(), nll.backward(), opt.step()


def test_physics_with_the_true_parameters_reproduces_the_simulated_pendulum(pend16):
    """Same right-hand side, same RK4 sub-step (0.01 s): the simulator's frames-to-frames trajectory, torques
    included, to round-off."""
    split = S.load_dataset(pend16)["train"]
    m, l, g, gamma = (split.params[:, i] for i in range(4))
    tr = Physics(3, 1, PhysicsConfig(system="pendulum", substeps=10))
    assert tr.physics.param_names == [
        "g_over_l",
        "damping",
        "torque_gain",
    ]  # the driven variant: data has torque
    theta = torch.from_numpy(np.stack([g / l, gamma, 1 / (m * l * l)], 1))
    states, u = torch.tensor(split.states), torch.tensor(split.inputs)
    z = torch.stack([states[:, 0, 3], states[:, 0, 2], states[:, 0, 1]], -1)  # (cos θ, sin θ, ω)
    for t in range(1, states.shape[1]):
        y = tr.flow(tr.physics.chart(z), theta, split.dt, u[:, t - 1])
        z = tr.physics.embed(y)
        expected = torch.stack([states[:, t, 3], states[:, t, 2], states[:, t, 1]], -1)
        torch.testing.assert_close(z, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    "system,physics",
    [
        (S.DoublePendulum(S.DoublePendulumConfig()), "double_pendulum"),
        (S.MassSpring(S.MassSpringConfig()), "mass_spring"),
    ],
)
def test_stated_physics_is_the_simulators_right_hand_side(system, physics):
    rng = np.random.default_rng(0)
    ph = PHYSICS[physics]
    n = 64
    y = rng.uniform(-2, 2, size=(n, ph.state_dim))
    params = rng.uniform(0.5, 2.0, size=(n, len(system.param_names)))
    truth = ph.true_params(system.param_names, params)
    theta = np.stack([truth[k] for k in ph.param_names], 1)
    got = ph.rhs(torch.from_numpy(y), torch.from_numpy(theta), None).numpy()
    np.testing.assert_allclose(got, system.rhs(y, params), rtol=1e-12, atol=1e-12)


def test_embed_and_chart_are_inverse_on_wrapped_angles():
    ph = PHYSICS["double_pendulum"]
    y = torch.rand(100, 4) * 2 * torch.pi - torch.pi
    torch.testing.assert_close(ph.chart(ph.embed(y)), y, rtol=0, atol=1e-12)


def test_physics_parameter_gradients_pass_gradcheck():
    torch.manual_seed(0)
    tr = Physics(5, 1, PhysicsConfig(system="pendulum", residual=True, substeps=2))
    z, u = torch.randn(3, 5), torch.randn(3, 1)

    def mean(w, z):  # one step's mean as a function of the raw parameters and the latent
        y = tr.physics.chart(z[:, :3])
        return tr.physics.embed(tr.flow(y, tr.constrain(w).expand(len(z), -1), 0.1, u))

    w = tr.w.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(mean, (w, z.requires_grad_()), eps=1e-6, atol=1e-7)


def test_per_sequence_parameters_follow_their_sequence():
    torch.manual_seed(0)
    tr = Physics(3, 0, PhysicsConfig(system="pendulum", params="sequence"))
    ev, mask = torch.randn(4, 6, 3), torch.ones(4, 6)
    with torch.no_grad():
        tr.param_head.weight.normal_()
    state = tr.init_state_from(ev, mask)
    per_seq = tr.sequence_params(state)
    assert per_seq.shape == (4, 2) and (per_seq > 0).all()
    assert not torch.allclose(per_seq[0], per_seq[1])
    one = tr.sequence_params(
        tr.init_state_from(ev[:1], mask[:1])
    )  # a sequence's value does not depend on others
    torch.testing.assert_close(one[0], per_seq[0])
    hidden = mask.clone()
    hidden[:, 3:] = 0  # frames hidden from the estimate leave it unchanged whatever they hold
    a = tr.init_state_from(ev, hidden)
    b = tr.init_state_from(torch.where(hidden[..., None] > 0, ev, torch.randn_like(ev)), hidden)
    torch.testing.assert_close(a, b)


def test_bounded_per_sequence_parameters_stay_within_their_range_of_the_global_ones():
    cfg = PhysicsConfig(system="pendulum", params="sequence", sequence_range=0.5)
    tr = Physics(4, input_dim=1, config=cfg)
    with torch.no_grad():
        tr.param_head.bias.copy_(torch.tensor([100.0, -100.0, 100.0]))  # a head gone wild
    state = tr.init_state_from(torch.randn(2, 6, 4), torch.ones(2, 6))
    ratio = tr.params(state, 2) / tr.global_params()
    torch.testing.assert_close(ratio[:, 0], torch.full((2,), math.exp(0.5)))  # positive: a factor e^±0.5
    torch.testing.assert_close(ratio[:, 1], torch.full((2,), math.exp(-0.5)))
    torch.testing.assert_close(
        tr.params(state, 2)[:, 2] - tr.global_params()[2], torch.full((2,), 0.5)
    )  # signed


def test_one_step_likelihood_moves_g_over_l_towards_the_truth(pend16):
    """The transition's own term of the ELBO, on the true states embedded as latents, pulls g/l from its
    starting value towards the data's √(g/l)² = 9.81 (and the gain, damping towards theirs)."""
    split = S.load_dataset(pend16)["train"]
    tr = Physics(3, 1, PhysicsConfig(system="pendulum"))
    start = tr.global_params()[0].item()
    _fit_one_step(tr, split)
    learned = tr.global_params().detach()
    assert abs(learned[0] - 9.81) < 0.2 * abs(start - 9.81), learned
    assert abs(learned[1] - 0.5) < 0.05 and abs(learned[2] - 1.0) < 0.05, learned


def test_hamiltonian_transition_conserves_its_energy_over_long_rollouts():
    torch.manual_seed(0)
    tr = Hamiltonian(4, 0, HamiltonianConfig(substeps=4))
    z0 = torch.randn(8, 4)
    with torch.no_grad():
        traj = tr.rollout(z0, 2000, 0.05)
        h = tr.energy(traj.flatten(0, 1)).view(8, -1)
    h0 = tr.energy(z0).detach()
    assert ((h - h0[:, None]).abs().max(1).values < 1e-3 * (1 + h0.abs())).all()  # bounded, no drift


class _Quadratic(torch.nn.Module):
    def forward(self, q):
        return 0.5 * (q**2).sum(-1)


def test_hamiltonian_dissipation_never_raises_the_energy_of_a_quadratic_system():
    """With V quadratic the kick-drift-kick part is exactly area preserving and H decreases step by step."""
    torch.manual_seed(0)
    tr = Hamiltonian(2, 0, HamiltonianConfig(dissipation="constant", substeps=1))
    tr.H.potential = _Quadratic()
    with torch.no_grad():
        tr.dissipation.constant_(math.log1p(math.exp(0.5)))
        traj = tr.rollout(torch.tensor([[1.0, 0.0]]), 200, 0.05)
        h = torch.stack([tr.energy(z) for z in traj.unbind(1)], 1)[0]
    assert h[-1] < 0.5 * h[0]


def test_hamiltonian_vector_field_is_the_canonical_one():
    torch.manual_seed(0)
    tr = Hamiltonian(4, 0)
    z = torch.randn(5, 4)
    q, p = z[:, :2], z[:, 2:]
    dq, dp = torch.autograd.functional.jacobian(lambda q, p: tr.H.energy(q, p).sum(), (q, p))
    torch.testing.assert_close(tr.vector_field(z), torch.cat([dp, -dq], -1))


class _Zero(torch.nn.Module):
    def forward(self, q):
        return 0.0 * q.sum(-1)


def _free_particle(tr: Hamiltonian) -> None:
    """No potential and M⁻¹ = I (L = √(1 − eps) I), so a constant force F moves q as q0 + p0 t + ½ F t²."""
    tr.H.potential = _Zero()
    with torch.no_grad():
        tr.H.mass_factor.copy_(math.sqrt(1 - tr.H.eps) * torch.eye(tr.H.n))


def test_a_state_dependent_input_gain_pushes_as_a_generalized_force():
    """control = "state": the force is B u + G(q) u. With G(q) made constant (its last layer's bias) the force is
    constant, and leapfrog is exact for a free particle under it; the rollout, stepped one frame at a time since
    the gain may depend on q, matches q0 + p0 t + ½ F t² and p0 + F t."""
    torch.manual_seed(0)
    tr = Hamiltonian(4, 1, HamiltonianConfig(control="state", substeps=1))
    _free_particle(tr)
    with torch.no_grad():
        tr.control.B.weight.copy_(torch.tensor([[0.5], [0.0]]))
        tr.control.net[-1].bias.copy_(torch.tensor([0.25, -1.0]))
    force = torch.tensor([0.75, -1.0]) * 2.0  # (B + G) u with u = 2
    z0 = torch.tensor([[0.1, -0.2, 0.3, 0.4]])
    t = 0.1 * torch.arange(1, 21)[:, None]
    with torch.no_grad():
        traj = tr.rollout(z0, 20, 0.1, u=torch.full((1, 20, 1), 2.0))[0]
    torch.testing.assert_close(traj[:, :2], z0[:, :2] + z0[:, 2:] * t + 0.5 * force * t**2)
    torch.testing.assert_close(traj[:, 2:], z0[:, 2:] + force * t)
    with torch.no_grad():  # a gain that depends on q: the rollout is the one-step map repeated
        tr.control.net[-1].weight.normal_()
        u, z = torch.randn(3, 6, 1), torch.randn(3, 4)
        traj = tr.rollout(z, 6, 0.1, u=u)
        for k in range(6):
            z = tr.step(z, None, 0.1, u[:, k])[0]
            torch.testing.assert_close(traj[:, k], z)
        assert (tr._force(traj[:, 0, :2], u[:, 0]) - tr._force(traj[:, 5, :2], u[:, 0])).abs().max() > 1e-3


def test_the_constant_input_gain_and_dissipation_of_older_runs_still_load():
    cfg = HamiltonianConfig(dissipation="constant")
    tr = Hamiltonian(4, 1, cfg)
    state = {k: v for k, v in tr.state_dict().items() if k not in ("control.B.weight", "dissipation.w")}
    state["control.weight"] = torch.tensor([[2.0], [3.0]])
    state["dissipation.raw"] = torch.tensor([-1.0, 0.5])  # D = softplus(raw)
    fresh = Hamiltonian(4, 1, cfg)
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.control.B.weight, torch.tensor([[2.0], [3.0]]))
    torch.testing.assert_close(fresh.dissipation(torch.zeros(1, 2)), F.softplus(torch.tensor([[-1.0, 0.5]])))


def test_the_hamiltonians_momenta_are_the_mass_times_the_derivatives_of_its_positions_evidence():
    """velocity_evidence = "difference": q̇ = M⁻¹p holds in the model, so p's evidence is M q̇ with q̇ the
    three-frame derivative of q's evidence (exact on quadratic paths), each p_i's variance Σ_j M_ij² σ_j²."""
    from physvae.physics.velocity_evidence import three_point_weights

    tr = Hamiltonian(4, 0, HamiltonianConfig(velocity_evidence="difference"))
    with torch.no_grad():
        tr.H.mass_factor.copy_(torch.tensor([[1.0, 0.0], [0.5, 2.0]]))
    times = torch.tensor([[0.0, 0.1, 0.25, 0.3, 0.45, 0.6]])
    tt = times[0]
    q = torch.stack([1.0 + 2.0 * tt - 4.0 * tt**2, -3.0 * tt], -1)  # (T, 2)
    qdot = torch.stack([2.0 - 8.0 * tt, torch.full_like(tt, -3.0)], -1)
    mean = torch.cat([q, torch.full_like(q, 9.0)], -1)[None]  # the network says p = 9
    std = torch.tensor([0.05, 0.02]).repeat(6, 2)[None]
    out, out_std = tr.evidence(mean, std, torch.ones(1, 6), times)
    mass = torch.linalg.inv(tr.H.inv_mass()).detach()
    torch.testing.assert_close(out[0, :, 2:], qdot @ mass)
    torch.testing.assert_close(out[..., :2], mean[..., :2])
    _, w = three_point_weights(times)
    qdot_var = w.pow(2).sum(-1)[0, :, None] * torch.tensor([0.05, 0.02]) ** 2  # (T, 2), independent frames
    torch.testing.assert_close(out_std[0, :, 2:], (qdot_var @ mass.square()).sqrt())
    plain = Hamiltonian(4, 0)
    assert plain.evidence(mean, std, torch.ones(1, 6), times)[0] is mean and not plain.looks_ahead
    assert tr.looks_ahead


K, GAMMA, GAIN, U0, DT, STEPS = (
    9.81,
    0.3,
    2.0,
    1.5,
    0.05,
    60,
)  # the damped driven pendulum both stated models run
THETA0, OMEGA0 = 2.5, 4.0  # enough energy to go over the top


def _rollout_follows_the_driven_pendulum(tr, atol_angle: float, atol_omega: float) -> None:
    """From (cos θ0, sin θ0, ω0, extra 0.7), ``tr``'s rollout under the constant torque U0 is scipy's solution of
    θ̈ = −K sin θ − γ θ̇ + GAIN · U0 (which swings over the top), the extra held; at θ = 0.4, θ̇ = 1.2 its vector
    field is the embedded state's motion in closed form."""
    from scipy.integrate import solve_ivp

    z0 = torch.tensor([[math.cos(THETA0), math.sin(THETA0), OMEGA0, 0.7]])
    with torch.no_grad():
        traj = tr.rollout(z0, STEPS, DT, u=torch.full((1, STEPS, 1), U0))[0]

    def rhs(t, y):
        return [y[1], -K * math.sin(y[0]) - GAMMA * y[1] + GAIN * U0]

    t_eval = DT * np.arange(1, STEPS + 1)
    truth = solve_ivp(rhs, (0, t_eval[-1]), [THETA0, OMEGA0], t_eval=t_eval, rtol=1e-10, atol=1e-10).y
    assert np.abs(truth[0]).max() > math.pi  # it did swing over the top
    torch.testing.assert_close(traj[:, 0], torch.from_numpy(np.cos(truth[0])), atol=atol_angle, rtol=0)
    torch.testing.assert_close(traj[:, 1], torch.from_numpy(np.sin(truth[0])), atol=atol_angle, rtol=0)
    torch.testing.assert_close(traj[:, 2], torch.from_numpy(truth[1]), atol=atol_omega, rtol=0)
    assert (traj[:, 3] == 0.7).all()
    theta = torch.tensor(0.4)
    want = torch.stack(
        [-theta.sin() * 1.2, theta.cos() * 1.2, -K * theta.sin() - GAMMA * 1.2, torch.tensor(0.0)]
    )
    torch.testing.assert_close(tr.vector_field(_pendulum_latent(theta))[0], want)


def _pendulum_latent(theta: torch.Tensor) -> torch.Tensor:
    """The latent (1, 4) of angle θ, θ̇ = 1.2 and extra 0.7 in the pendulum's coordinates."""
    return torch.stack([theta.cos(), theta.sin(), torch.tensor(1.2), torch.tensor(0.7)])[None]


class _Pendulum(torch.nn.Module):
    """V(θ) = −k cos θ for an angle q (B, 1): with M = 1, θ̈ = −k sin θ."""

    def __init__(self, k: float):
        super().__init__()
        self.k = k

    def forward(self, q):
        return -self.k * q[:, 0].cos()


def _stated_pendulum(k: float, gamma: float, gain: float) -> Hamiltonian:
    """A Hamiltonian in the pendulum's coordinates set to θ̈ = −k sin θ − γ θ̇ + gain · u."""
    tr = Hamiltonian(4, 1, HamiltonianConfig(coordinates="pendulum", dissipation="constant", substeps=20))
    tr.H.potential = _Pendulum(k)
    with torch.no_grad():
        tr.H.mass_factor.copy_(math.sqrt(1 - tr.H.eps) * torch.eye(1))
        tr.dissipation.constant_(gamma)
        tr.control.B.weight.fill_(gain)
    return tr


def test_in_the_pendulums_coordinates_the_flow_is_the_damped_driven_pendulums():
    """coordinates = "pendulum": z = (cos θ, sin θ, θ̇, extra). With V = −k cos θ, M = 1, D = γ and B = b the
    rollout is θ̈ = −k sin θ − γ θ̇ + b u, checked against scipy's solution, with the extra held and the angle
    carried past ±π (a swing over the top)."""
    tr = _stated_pendulum(K, GAMMA, GAIN)
    _rollout_follows_the_driven_pendulum(tr, atol_angle=2e-3, atol_omega=5e-3)  # leapfrog: second order
    theta = torch.tensor(0.4)
    torch.testing.assert_close(tr.energy(_pendulum_latent(theta)), 0.5 * 1.2**2 - K * theta.cos()[None])
    assert Hamiltonian.position_dims(4, tr.cfg) == (0, 1)


def test_in_the_pendulums_coordinates_the_velocity_evidence_is_the_angles_derivative():
    tr = Hamiltonian(3, 0, HamiltonianConfig(coordinates="pendulum", velocity_evidence="difference"))
    times = torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.4]])
    theta = 0.3 + 2.0 * times[0] - 1.5 * times[0] ** 2
    mean = torch.stack([theta.cos(), theta.sin(), torch.full_like(theta, 9.0)], -1)[None]
    out, _ = tr.evidence(mean, torch.full_like(mean, 0.01), torch.ones(1, 5), times)
    torch.testing.assert_close(out[0, :, 2], 2.0 - 3.0 * times[0])


class _PendulumField(torch.nn.Module):
    """θ̈ = −k sin θ − γ θ̇ + b u from the field's input (cos θ, sin θ, θ̇, u) (B, 4)."""

    def __init__(self, k: float, gamma: float, b: float):
        super().__init__()
        self.k, self.gamma, self.b = k, gamma, b

    def forward(self, x):
        return (-self.k * x[:, 1] - self.gamma * x[:, 2] + self.b * x[:, 3])[:, None]


def test_a_neural_ode_in_the_pendulums_coordinates_integrates_its_learned_acceleration():
    """coordinates = "pendulum": z = (cos θ, sin θ, θ̇, extra) and the field is θ̈ = f(cos θ, sin θ, θ̇, u). Set to
    the damped driven pendulum, the rollout is scipy's solution, over the top; the vector field is the embedded
    state's motion in closed form."""
    from physvae.transitions import NeuralODE, NeuralODEConfig

    tr = NeuralODE(4, 1, NeuralODEConfig(coordinates="pendulum", substeps=10))
    tr.func.net = _PendulumField(K, GAMMA, GAIN)
    _rollout_follows_the_driven_pendulum(tr, atol_angle=1e-4, atol_omega=1e-4)  # rk4: fourth order
    assert NeuralODE.position_dims(4, tr.cfg) == (0, 1)
    times = torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.4]])
    angle = 0.3 + 2.0 * times[0] - 1.5 * times[0] ** 2
    mean = torch.stack([angle.cos(), angle.sin(), torch.full_like(angle, 9.0), angle * 0], -1)[None]
    diff = NeuralODE(4, 0, NeuralODEConfig(coordinates="pendulum", velocity_evidence="difference"))
    out, _ = diff.evidence(mean, torch.full_like(mean, 0.01), torch.ones(1, 5), times)
    torch.testing.assert_close(out[0, :, 2], 2.0 - 3.0 * times[0])


def test_bad_configurations_are_refused_with_the_field_named():
    with pytest.raises(ConfigError, match="even latent_dim"):
        Hamiltonian(3, 0)
    with pytest.raises(ConfigError, match="separable"):
        Hamiltonian(4, 0, HamiltonianConfig(separable=False, dissipation="constant"))
    with pytest.raises(ConfigError, match="dissipation must be one of"):
        HamiltonianConfig(dissipation="lots").validate()
    with pytest.raises(ConfigError, match="coordinates must be '' .free q, p. or one of"):
        HamiltonianConfig(coordinates="rocket").validate()
    with pytest.raises(ConfigError, match="'box' moves by its own flow"):
        HamiltonianConfig(coordinates="box").validate()
    with pytest.raises(ConfigError, match="needs latent_dim ≥ 3"):
        Hamiltonian(2, 0, HamiltonianConfig(coordinates="pendulum"))
    with pytest.raises(
        ConfigError, match="needs model.transition='physics', or 'hamiltonian' or 'neural_ode'"
    ):
        RunConfig().with_overrides(["model.transition=hamiltonian", "model.decoder=render"]).validate()
    from physvae.transitions import NeuralODEConfig

    with pytest.raises(ConfigError, match="neural_ode.coordinates='pendulum' needs order 2"):
        NeuralODEConfig(coordinates="pendulum", order=1).validate()
    with pytest.raises(ConfigError, match="neural_ode.dissipation applies to free coordinates"):
        NeuralODEConfig(coordinates="pendulum", dissipation=1.0).validate()
    with pytest.raises(ConfigError, match="neural_ode.coordinates must be '' .free q, p. or one of"):
        NeuralODEConfig(coordinates="rocket").validate()
    with pytest.raises(ConfigError, match="hamiltonian.control must be one of"):
        HamiltonianConfig(control="servo").validate()
    with pytest.raises(ConfigError, match="velocity_evidence='difference' needs separable = true"):
        HamiltonianConfig(separable=False, velocity_evidence="difference").validate()
    with pytest.raises(ConfigError, match=r"latent_dim ≥ 6"):
        Physics(5, 0, PhysicsConfig(system="double_pendulum"))
    with pytest.raises(ConfigError, match="system must be one of"):
        PhysicsConfig(system="rocket").validate()
    with pytest.raises(ConfigError, match="takes 0 control inputs but the data has 2"):
        Physics(4, 2, PhysicsConfig(system="mass_spring"))


def test_physics_that_the_data_does_not_show_is_refused():
    spec = DataSpec(
        size=16, channels=1, input_dim=0, dt=0.1, binarized=False, state_names=["x0", "y0", "energy"]
    )
    cfg = ModelConfig(transition="physics", latent_dim=4)
    with pytest.raises(ConfigError, match=r"states \['theta', 'omega'\].*x0"):
        build_model(spec, cfg)
    cfg.physics.match_states = False  # an explicit override: the user says the physics holds
    build_model(spec, cfg)
    no_states = DataSpec(size=16, channels=1, input_dim=0, dt=0.1, binarized=False, state_names=[])
    build_model(
        no_states, ModelConfig(transition="physics", latent_dim=4)
    )  # video without states: nothing to check
    for transition in ("hamiltonian", "neural_ode"):  # a stated system's coordinates: the same check
        cfg = ModelConfig(transition=transition, latent_dim=4)
        cfg.transition_config().coordinates = "pendulum"
        with pytest.raises(ConfigError, match=rf"model.{transition}.coordinates 'pendulum' holds the states"):
            build_model(spec, cfg)
        build_model(no_states, cfg)


def test_a_users_own_physics_registers_and_builds():
    ph = register_physics(
        KnownPhysics(
            name="decay_test",
            state_names=["x"],
            rhs=lambda y, p, u: -p[:, :1] * y,
            param_names=["rate"],
            param_init=[0.5],
        )
    )
    tr = Physics(2, 0, PhysicsConfig(system="decay_test", substeps=20))
    _set_params(tr, [2.0])
    mean, _, _ = tr.step(torch.tensor([[1.0, 7.0]]), None, 0.5, None)
    torch.testing.assert_close(mean, torch.tensor([[np.exp(-1.0), 7.0]]), rtol=1e-7, atol=0)  # extras held
    with pytest.raises(ConfigError, match="initial value of positive parameter 'rate'"):
        KnownPhysics(name="bad", state_names=["x"], rhs=ph.rhs, param_names=["rate"], param_init=[0.0])
    del PHYSICS["decay_test"]


def test_linearized_at_rest_the_physics_transition_gives_the_small_angle_frequency_and_damping():
    """The one-step map's Jacobian at θ = 0, θ̇ = 0 is the RK4 map of θ̈ = −(g/l) θ − γ θ̇: its eigen-pair is
    exp((−γ/2 ± i√(g/l − γ²/4)) Δt) up to the integrator's O(Δt⁵) error."""
    tr = Physics(4, 0, PhysicsConfig(system="pendulum", substeps=4))
    _set_params(tr, [9.81, 0.5])
    J = step_jacobian(tr, torch.tensor([1.0, 0.0, 0.0, 0.3]), 0.1)
    osc = oscillation(J, 0.1)
    assert osc["natural_frequency"] == pytest.approx(9.81**0.5, rel=1e-5)
    assert osc["damping"] == pytest.approx(0.5, rel=1e-4)


def test_linearized_at_rest_a_single_linear_map_is_itself():
    torch.manual_seed(0)
    tr = LocallyLinear(3, 0, LocallyLinearConfig(regimes=1, init_scale=0.3))
    J = step_jacobian(tr, torch.randn(3), 0.1)
    np.testing.assert_allclose(J, tr.A[0].detach().numpy(), rtol=1e-12, atol=1e-12)


def test_true_parameters_are_only_the_stated_ones():
    """An undriven pendulum states no torque gain, though the dataset's mass and length would give one."""
    truth = PHYSICS["pendulum"].true_params(
        ["mass", "length", "gravity", "damping"], np.array([[0.5, 2, 3, 0.1]])
    )
    assert sorted(truth) == ["damping", "g_over_l"] and truth["g_over_l"][0] == 1.5


@pytest.mark.parametrize(
    "transition,extra",
    [
        ("physics", []),
        ("physics", ["model.physics.params=fit"]),
        ("hamiltonian", []),
        (
            "hamiltonian",
            [
                "model.hamiltonian.coordinates=pendulum",
                "model.decoder=render",
                "model.hamiltonian.velocity_evidence=difference",
                "model.hamiltonian.control=state",
                "model.hamiltonian.dissipation=constant",
            ],
        ),  # fmt: skip
        (
            "neural_ode",
            [
                "model.neural_ode.coordinates=pendulum",
                "model.decoder=render",
                "model.neural_ode.velocity_evidence=difference",
            ],
        ),  # fmt: skip
    ],
)
def test_trained_runs_report_parameters_energy_and_dynamics_at_rest(pend16, tmp_path, transition, extra):
    torch.set_default_dtype(torch.float32)  # a run trains in float32 whatever this module's tests use
    tiny = [
        "model.channels=4",
        "model.features=16",
        "model.rnn_hidden=16",
        "train.steps=3",
        "train.batch_size=4",
    ]
    cfg = RunConfig().with_overrides(
        [f'train.data="{pend16}"', f"model.transition={transition}", "model.latent_dim=4", *tiny, *extra]
    )
    m = evaluate(
        fit(cfg, tmp_path / "run", progress=False),
        out=tmp_path / "ev",
        cfg=EvalConfig(n_context=4, poly_probe=False, drop_probs=[0.5], gaps=[3]),
        figures=False,
    )
    assert m["dynamics"]["at_rest"]["modes"]  # every transition is linearized at rest
    if transition == "physics":
        p = m["parameters"]
        assert p["system"] == "pendulum_driven" and p["true"]["g_over_l"] == pytest.approx(9.81)
        assert set(p["relative_error"]) == {"g_over_l", "damping", "torque_gain"}
        assert set(p["coordinates"]["agreement"]) == {"theta", "omega"}
        assert "skipped" in m["energy"]
        if extra:  # fitted per sequence: each test sequence's own values, scored against the data's
            assert set(p["sequence"]["median_relative_error"]) == {"g_over_l", "damping", "torque_gain"}
        assert "control inputs" in p["sequence_fit"]["skipped"]  # the shooting fit integrates no torques
    elif transition == "hamiltonian":
        assert set(m["energy"]) >= {"r2", "drift_per_100", "true_drift_per_100"}
        assert "skipped" in m["parameters"]
    else:
        assert "skipped" in m["energy"] and "skipped" in m["parameters"]


def test_the_sequence_fit_reads_each_sequence_g_over_l_from_a_posterior_on_the_true_states():
    """A posterior that is the simulator's own state (scipy's solve, not the fit's RK4) gives each colours
    pendulum's g/l back from its first 20 frames (an undamped truth, the damping left free)."""
    from types import SimpleNamespace

    from physvae.evaluation.parameters import _context_posteriors, _fit_sequences
    from simulators.generate import make_chunk

    cfg = S.preset("dm_pendulum_colors32", n_frames=20, splits={"test": 12}, seed=3)
    chunk = make_chunk(cfg, "test", 0, 12)
    states = chunk["states"][..., :2]  # the pendulum's first two columns: theta, omega
    tr = Physics(4, 0, PhysicsConfig())  # the learned values (5, 0.1) are only where the fit starts
    z = torch.cat(
        [
            PHYSICS["pendulum"].embed(torch.from_numpy(states).reshape(-1, 2)).view(12, 20, 3),
            torch.zeros(12, 20, 1, dtype=torch.float64),
        ],
        -1,
    )
    split = SimpleNamespace(inputs=None, times=None)
    ctx = SimpleNamespace(
        predict_split=split,
        cfg=SimpleNamespace(n_context=20),
        batches=lambda _: [SimpleNamespace(frames=z, inputs=None, times=None)],
        model=SimpleNamespace(
            infer=lambda f, *a, **k: SimpleNamespace(q_mean=f), spec=SimpleNamespace(dt=0.05)
        ),
    )
    p = chunk["params"]  # mass, length, gravity, damping
    truth = {"g_over_l": p[:, 2] / p[:, 1], "damping": p[:, 3]}
    posterior, per_sequence = _context_posteriors(ctx, tr)
    assert per_sequence is None  # global parameters: the transition reads none per sequence
    out = _fit_sequences(ctx, tr, posterior, {"g_over_l": truth["g_over_l"]})
    assert out["r2"]["g_over_l"] > 0.999 and out["median_relative_error"]["g_over_l"] < 1e-3
    assert out["median_relative_error"]["g_over_l"] <= out["p90_relative_error"]["g_over_l"] < 1e-2
    assert out["fitted_columns"] == ["theta"] and out["context_frames"] == 20
    assert "context_periods" not in out  # the stub evaluation has no dynamics section to say the period
    # a learned field of natural frequency 2.2 rad/s: 20 frames of 0.05 s span 0.35 of its period, flagged
    timed = SimpleNamespace(
        **vars(ctx), results={"dynamics": {"at_rest": {"oscillation": {"natural_frequency": 2.2}}}}
    )
    short = _fit_sequences(timed, tr, posterior, {"g_over_l": truth["g_over_l"]})
    assert short["context_periods"] == pytest.approx(20 * 0.05 * 2.2 / (2 * math.pi))
    assert "span 0.35 of the learned period" in short["note"]
    assert _fit_sequences(
        SimpleNamespace(**{**vars(ctx), "predict_split": SimpleNamespace(inputs=1, times=None)}),
        tr,
        posterior,
        truth,
    ) == {"skipped": "the data has control inputs; the shooting fit integrates without them"}


def test_the_parameters_are_described_in_their_units_beside_the_truth():
    from physvae.evaluation.parameters import describe

    out = {
        "system": "pendulum",
        "units": {"g_over_l": "1/s²", "damping": "1/s"},
        "learned": {"g_over_l": 9.7, "damping": 0.52},
        "true": {"g_over_l": 9.81, "damping": 0.5},
        "relative_error": {"g_over_l": 0.0112, "damping": 0.04},
        "sequence_fit": {
            "r2": {"g_over_l": 0.91},
            "median_relative_error": {"g_over_l": 0.03, "damping": 0.2},
            "p90_relative_error": {"g_over_l": 0.08},
        },
    }
    lines = describe(out)
    assert lines[0] == (
        "parameters of the pendulum physics: g_over_l 9.7 1/s² (data 9.81, 1.1% off); damping 0.52 1/s "
        "(data 0.5, 4.0% off)"
    )
    assert lines[1] == (
        "  per sequence, fitted to the posterior: g_over_l R² 0.910, median error 3.0% (90 % within 8.0%); "
        "damping median error 20.0%"
    )
    assert describe({"skipped": "the locally_linear transition states no physical parameters"}) == []
    undamped = {
        **out,
        "true": {"g_over_l": 9.81, "damping": 0.0},
        "relative_error": {"g_over_l": 0.0112, "damping": 0.52},
    }
    assert describe(undamped)[0].endswith(
        "damping 0.52 1/s (data 0, 0.52 1/s off)"
    )  # absolute where the truth is 0
    assert describe(undamped)[1].endswith("damping median error 0.2 1/s")


def _coordinates_of(theta: np.ndarray, omega: np.ndarray, z: np.ndarray) -> dict:
    """The parameters section's coordinate check of latents z (N, T, D) against true θ, ω (N, T)."""
    from types import SimpleNamespace

    from physvae.evaluation.parameters import _coordinates

    names = ["theta", "omega", "x"]
    states = np.stack([theta, omega, np.sin(theta)], -1)
    ctx = SimpleNamespace(
        test=SimpleNamespace(state_names=names), test_latents=SimpleNamespace(z=z, states=states)
    )
    return _coordinates(ctx, PHYSICS["pendulum"])


def test_the_coordinate_check_tells_the_physical_latent_from_a_shrunken_or_mirrored_one():
    rng = np.random.default_rng(0)
    theta, omega = rng.uniform(-np.pi, np.pi, (50, 10)), rng.normal(0, 3, (50, 10))
    embed = PHYSICS["pendulum"].embed

    def latents(th, om):
        return embed(torch.from_numpy(np.stack([th, om], -1))).numpy()

    same = _coordinates_of(theta, omega, latents(theta + 0.3, omega + 0.1))  # offsets are allowed
    assert same["orientation"] == 1 and same["agreement"]["theta"] == pytest.approx(1.0)
    assert same["slope"]["omega"] == pytest.approx(1.0) and same["agreement"]["omega"] == pytest.approx(1.0)
    mirrored = _coordinates_of(theta, omega, latents(-theta, -omega))
    assert mirrored["orientation"] == -1 and mirrored["agreement"]["theta"] == pytest.approx(1.0)
    assert mirrored["slope"]["omega"] == pytest.approx(-1.0)
    shrunk = _coordinates_of(theta, omega, latents(0.2 * theta, 0.2 * omega))
    # |E exp(i 0.8 θ)| for θ ~ U(−π, π) is |sin(0.8π) / (0.8π)| = 0.234
    assert shrunk["agreement"]["theta"] == pytest.approx(abs(np.sin(0.8 * np.pi) / (0.8 * np.pi)), abs=0.03)
    assert shrunk["slope"]["omega"] == pytest.approx(0.2)


def test_known_parameters_are_held_and_the_rest_still_learn(pend16):
    """The one-step likelihood on the true states, as above, with the torque gain given: it stays exactly at its
    value (global and per-sequence), while g/l and γ move towards the truth."""
    split = S.load_dataset(pend16)["train"]
    tr = Physics(3, 1, PhysicsConfig(system="pendulum", known={"torque_gain": 1.0}))
    _fit_one_step(tr, split)
    learned = tr.global_params().detach()
    assert learned[2] == 1.0 and abs(learned[0] - 9.81) < 1.0 and abs(learned[1] - 0.5) < 0.05, learned
    seq = Physics(3, 1, PhysicsConfig(params="sequence", known={"torque_gain": 2.5}))
    with torch.no_grad():
        seq.param_head.weight.normal_()
    theta = seq.sequence_params(seq.init_state_from(torch.randn(4, 6, 3), torch.ones(4, 6)))
    assert (theta[:, 2] == 2.5).all() and theta[:, 0].unique().numel() == 4


def test_known_parameters_the_physics_lacks_are_refused():
    with pytest.raises(ConfigError, match=r"known names 'torque_gain', not a parameter of 'pendulum'"):
        Physics(3, 0, PhysicsConfig(known={"torque_gain": 1.0}))  # no inputs: the undriven pendulum
    with pytest.raises(ConfigError, match=r"known.damping must be ≥ 0"):
        Physics(3, 0, PhysicsConfig(known={"damping": -0.1}))
    # held at 0, below the log-parameter's reach
    undamped = Physics(3, 0, PhysicsConfig(known={"damping": 0.0}))
    assert undamped.global_params()[1] == 0.0
    with pytest.raises(ConfigError, match="must be a number"):
        RunConfig().with_overrides(['model.physics.known={g_over_l = "ten"}'])


def test_a_parameter_that_may_vanish_reaches_zero_and_stays_non_negative(tmp_path):
    """On an undamped pendulum's true states the one-step likelihood drives γ to 0 when it is learned as
    |scale · w| (``may_vanish``); constrain and unconstrain are inverse; only positive parameters may vanish."""
    from dataclasses import replace

    cfg = S.preset("dvbf_pendulum16", splits={"train": 16})
    cfg.params = replace(cfg.params, damping=(0.0, 0.0))
    split = S.load_dataset(S.generate(cfg, tmp_path / "undamped"))["train"]
    tr = Physics(3, 1, PhysicsConfig(system="pendulum", may_vanish=["damping"]))
    torch.testing.assert_close(
        tr.global_params(), torch.tensor([5.0, 0.1, 1.0])
    )  # starts where the log one does
    _fit_one_step(tr, split)
    learned = tr.global_params().detach()
    assert 0 <= learned[1] < 0.002 and abs(learned[0] - 9.81) < 0.1, learned  # through a log: 0.009 here
    theta = torch.tensor([[3.0, 0.0, -2.0], [0.5, 0.25, 1.5]])
    torch.testing.assert_close(tr.constrain(tr.unconstrain(theta)), theta)
    with pytest.raises(ConfigError, match=r"may_vanish names 'torque_gain', not a positive parameter"):
        Physics(3, 1, PhysicsConfig(may_vanish=["torque_gain"]))
    with pytest.raises(ConfigError, match=r"may_vanish names 'gamma'.*\['g_over_l', 'damping'\]"):
        Physics(3, 0, PhysicsConfig(may_vanish=["gamma"]))
