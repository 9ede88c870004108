"""Hamiltonian core: integrators against exact solutions, symplecticity, reversibility, dissipation, autograd."""

import math

import pytest
import torch
from torch import nn

from physvae.hamiltonian import (
    GeneralHamiltonian,
    SeparableHamiltonian,
    damp,
    explicit_step,
    leapfrog,
    mlp,
    rollout,
    split_qp,
)

pytestmark = pytest.mark.usefixtures("float64_default")  # exact checks in double precision


M_HO, K_HO = 2.0, 3.0
W_HO = math.sqrt(K_HO / M_HO)


def oscillator() -> SeparableHamiltonian:
    """H = p²/2m + k q²/2 from fixed callables (∂T, ∂V by autograd)."""
    return SeparableHamiltonian(
        1, kinetic=lambda p: (p * p).sum(-1) / (2 * M_HO), potential=lambda q: K_HO * (q * q).sum(-1) / 2
    )


def oscillator_exact(q0, p0, t):
    c, s = torch.cos(W_HO * t), torch.sin(W_HO * t)
    return q0 * c + p0 / (M_HO * W_HO) * s, p0 * c - q0 * M_HO * W_HO * s


class Well(nn.Module):
    """A random tanh MLP plus a confining k|q|²/2: nonlinear, with a clear minimum."""

    def __init__(self, n: int, k: float = 2.0):
        super().__init__()
        self.net, self.k = mlp(n, 16, 2), k

    def forward(self, q):
        return self.net(q).squeeze(-1) + 0.5 * self.k * (q * q).sum(-1)


def learned(n: int = 2, seed: int = 0, well: bool = False, **kw) -> SeparableHamiltonian:
    """A learned separable H: random MLP V (``Well`` if well) and a random non-diagonal learned M⁻¹."""
    torch.manual_seed(seed)
    kw.setdefault("potential", Well(n) if well else None)
    H = SeparableHamiltonian(n, **kw)
    with torch.no_grad():
        H.mass_factor.copy_(torch.eye(n) + 0.3 * torch.randn(n, n))
    return H


def diag_D(q):  # (B, n), uniformly ≥ 0.1
    return 0.1 + 0.3 * nn.functional.softplus(q)


def full_D(q):  # (B, n, n) = 0.1 I + AAᵀ, A depending on q
    A = 0.3 * torch.stack([q, torch.ones_like(q)], -1)
    return A @ A.transpose(1, 2) + 0.1 * torch.eye(q.shape[-1])


# 1. harmonic oscillator: exact solution and second-order convergence


def test_leapfrog_matches_the_exact_harmonic_oscillator_with_second_order_error():
    H = oscillator()
    q0, p0 = torch.tensor([[1.0], [0.0], [-0.5]]), torch.tensor([[0.0], [1.0], [0.7]])
    t_end, errors = 4.0, []
    for dt in (0.2, 0.1, 0.05):
        n = round(t_end / dt)
        Q, P = rollout(H, q0, p0, dt, n)
        assert Q.shape == P.shape == (3, n, 1)
        qx, px = oscillator_exact(q0[:, None], p0[:, None], dt * torch.arange(1, n + 1).reshape(1, n, 1))
        errors.append(max((Q - qx).abs().max().item(), (P - px).abs().max().item()))
    assert errors[-1] < 1e-2
    for coarse, fine in zip(errors, errors[1:]):
        assert 3.7 < coarse / fine < 4.3, errors  # global error O(dt²)


def test_substeps_are_steps_of_dt_over_substeps():
    H, q0, p0 = learned(), torch.randn(4, 2), torch.randn(4, 2)
    q, p = leapfrog(H, q0, p0, 0.4, substeps=4)
    Q, P = rollout(H, q0, p0, 0.1, 4)
    torch.testing.assert_close((q, p), (Q[:, -1], P[:, -1]), rtol=0, atol=1e-14)


def test_rk4_on_a_general_hamiltonian_is_fourth_order():
    H = GeneralHamiltonian(1, fn=lambda q, p: ((p * p) / (2 * M_HO) + K_HO * q * q / 2).sum(-1))
    q0, p0 = torch.tensor([[1.0], [-0.3]]), torch.tensor([[0.2], [0.9]])
    errors = []
    for dt in (0.2, 0.1):
        Q, P = rollout(H, q0, p0, dt, round(4.0 / dt), method="rk4")
        qx, px = oscillator_exact(q0, p0, torch.tensor(4.0))
        errors.append(max((Q[:, -1] - qx).abs().max().item(), (P[:, -1] - px).abs().max().item()))
    assert 14 < errors[0] / errors[1] < 18, errors


def test_force_enters_as_a_generalized_force_on_p_dot():
    # pendulum ṗ = −sin q + F: q* = asin F, p = 0 is an equilibrium, so the state must not move
    H = SeparableHamiltonian(1, potential=lambda q: (1 - torch.cos(q)).sum(-1))
    F = torch.tensor([[0.3], [-0.6]])
    q0 = torch.asin(F)
    Q, P = rollout(H, q0, torch.zeros_like(q0), 0.1, 20, substeps=2, force=F)
    torch.testing.assert_close(Q, q0[:, None].expand(-1, 20, -1), rtol=0, atol=1e-14)
    assert P.abs().max() < 1e-14
    # per-step forces (B, n_steps, n) are held over their step
    Fs = torch.randn(2, 3, 1)
    Q, P = rollout(H, q0, q0, 0.1, 3, force=Fs)
    q, p = q0, q0
    for t in range(3):
        q, p = leapfrog(H, q, p, 0.1, force=Fs[:, t])
    torch.testing.assert_close((Q[:, -1], P[:, -1]), (q, p), rtol=0, atol=1e-14)


# 2. pendulum: bounded energy error without drift; explicit Euler drifts


def test_pendulum_energy_does_not_drift_over_ten_thousand_steps_while_euler_does():
    H = SeparableHamiltonian(1, potential=lambda q: (1 - torch.cos(q)).sum(-1), eps=0.0).requires_grad_(False)
    q0 = torch.tensor([[0.5], [1.0], [2.0], [2.8]])
    p0 = torch.zeros_like(q0)
    H0 = H.energy(q0, p0)[:, None]
    with torch.no_grad():
        Q, P = rollout(H, q0, p0, 0.1, 10_000)
        dH = H.energy(Q.reshape(-1, 1), P.reshape(-1, 1)).reshape(4, -1) - H0  # (B, T)
        Qe, Pe = rollout(H, q0, p0, 0.1, 2_000, method="euler")
        dHe = H.energy(Qe.reshape(-1, 1), Pe.reshape(-1, 1)).reshape(4, -1) - H0
    amp = dH.abs().max(dim=1).values
    assert amp.max() < 5e-3, amp
    # no trend: first and last 2000 steps have the same mean error, the fitted slope explains nothing
    drift = (dH[:, -2000:].mean(1) - dH[:, :2000].mean(1)).abs()
    assert (drift < 0.05 * amp).all(), (drift, amp)
    t = torch.arange(dH.shape[1], dtype=dH.dtype)
    slope = ((t - t.mean()) * (dH - dH.mean(1, keepdim=True))).sum(1) / ((t - t.mean()) ** 2).sum()
    assert (slope.abs() * t[-1] < 0.05 * amp).all(), slope
    # explicit Euler gains energy without bound
    assert (dHe[:, -1] > 100 * amp.max()).all() and (dHe[:, -1] > dHe[:, 1000]).all(), dHe[:, -1]


# 3. symplecticity


def _phase_jacobian(step, n, z):
    return torch.autograd.functional.jacobian(lambda z: torch.cat(step(z[None, :n], z[None, n:]), -1)[0], z)


def test_one_leapfrog_step_is_symplectic_for_a_learned_V_and_M():
    n = 2
    H = learned(n, well=True)
    Omega = torch.zeros(2 * n, 2 * n)
    Omega[:n, n:], Omega[n:, :n] = torch.eye(n), -torch.eye(n)
    F = torch.tensor([[0.4, -0.2]])
    for z in 1.5 * torch.randn(3, 2 * n):
        J = _phase_jacobian(lambda q, p: leapfrog(H, q, p, 0.3, substeps=3), n, z)
        assert (J - torch.eye(2 * n)).abs().max() > 0.1  # a genuinely nonlinear, nontrivial map
        assert (J.T @ Omega @ J - Omega).abs().max() < 1e-10
        J = _phase_jacobian(lambda q, p: leapfrog(H, q, p, 0.3, substeps=3, force=F), n, z)
        assert (J.T @ Omega @ J - Omega).abs().max() < 1e-10
        J = _phase_jacobian(lambda q, p: explicit_step(H, q, p, 0.3, substeps=3), n, z)
        assert (J.T @ Omega @ J - Omega).abs().max() > 1e-8  # contrast: RK4 is not symplectic


# 4. dissipation


def test_each_damping_subflow_never_increases_the_energy():
    H = learned(3, well=True)
    q, p = 2 * torch.randn(64, 3), 2 * torch.randn(64, 3)
    E = H.energy(q, p)
    for D in (diag_D(q), full_D(q), torch.zeros(64, 3), torch.rand(64, 3) * (torch.rand(64, 3) < 0.5)):
        for h in (1e-3, 0.05, 1.0, 100.0):
            E2 = H.energy(q, damp(H, q, p, h, D))
            assert (E2 <= E + 1e-12 * E.abs()).all()


def test_dissipative_leapfrog_without_potential_never_increases_energy_step_by_step():
    # V ≡ 0: the conservative part conserves H = T(p) exactly, so any rise would come from the damping
    H = learned(2, potential=lambda q: 0 * q.sum(-1))
    q0, p0 = torch.randn(8, 2), 2 * torch.randn(8, 2)
    for D in (diag_D, full_D):
        Q, P = rollout(H, q0, p0, 0.2, 100, substeps=2, dissipation=D)
        E = torch.cat(
            [H.energy(q0, p0)[:, None], H.energy(Q.reshape(-1, 2), P.reshape(-1, 2)).reshape(8, -1)], 1
        )
        assert (E.diff(dim=1) <= 1e-12).all()
        assert (E[:, -1] < 0.5 * E[:, 0]).all()


def test_dissipative_leapfrog_loses_energy_step_by_step_in_a_learned_well():
    # uniformly positive damping (D ⪰ 0.1 I) outweighs the O(dt²) energy error of the conservative part, so H
    # decreases at every step here; the conservative run (D = None) rises and falls within that error.
    H = learned(2, well=True)
    q0, p0 = 1.5 * torch.randn(8, 2), 1.5 * torch.randn(8, 2)
    with torch.no_grad():
        for D in (diag_D, full_D, None):
            Q, P = rollout(H, q0, p0, 0.05, 300, dissipation=D)
            E = H.energy(Q.reshape(-1, 2), P.reshape(-1, 2)).reshape(8, -1)
            E = torch.cat([H.energy(q0, p0)[:, None], E], 1)
            step = E.diff(dim=1)
            if D is None:
                assert step.max() > 0 and (E - E[:, :1]).abs().max() < 0.05
            else:
                assert (step <= 1e-12).all(), step.max()
                assert ((E[:, -1] - E[:, 0]) < -0.5).all()


def test_zero_dissipation_reproduces_the_conservative_step_exactly():
    H, q0, p0 = learned(3), torch.randn(5, 3), torch.randn(5, 3)
    ref = leapfrog(H, q0, p0, 0.2, substeps=3)
    for D in (lambda q: torch.zeros_like(q), lambda q: torch.zeros(q.shape[0], 3, 3)):
        out = leapfrog(H, q0, p0, 0.2, substeps=3, dissipation=D)
        assert torch.equal(out[0], ref[0]) and torch.equal(out[1], ref[1])


# 5. time reversibility


def test_conservative_leapfrog_is_time_reversible():
    H = learned(3, well=True)
    q0, p0 = torch.randn(5, 3), torch.randn(5, 3)
    q1, p1 = leapfrog(H, q0, p0, 0.2, substeps=3)
    torch.testing.assert_close(leapfrog(H, q1, p1, -0.2, substeps=3), (q0, p0), rtol=0, atol=1e-10)
    Q, P = rollout(H, q0, p0, 0.1, 50)
    Qb, Pb = rollout(H, Q[:, -1], P[:, -1], -0.1, 50)
    torch.testing.assert_close((Qb[:, -1], Pb[:, -1]), (q0, p0), rtol=0, atol=1e-10)
    torch.testing.assert_close(Qb[:, :-1].flip(1), Q[:, :-1], rtol=0, atol=1e-10)


# 6. gradcheck


class OneStep(nn.Module):
    def __init__(self, H):
        super().__init__()
        self.H = H

    def forward(self, q, p):
        return leapfrog(self.H, q.detach(), p.detach(), 0.3, substeps=2, dissipation=diag_D)


def test_gradcheck_of_one_leapfrog_step():
    H = learned(2, hidden=4, depth=1)
    q, p = torch.randn(2, 2, requires_grad=True), torch.randn(2, 2, requires_grad=True)
    F = torch.randn(2, 2, requires_grad=True)
    assert torch.autograd.gradcheck(lambda q, p: leapfrog(H, q, p, 0.3, substeps=2), (q, p))
    assert torch.autograd.gradcheck(
        lambda q, p, F: leapfrog(H, q, p, 0.3, substeps=2, dissipation=full_D, force=F), (q, p, F)
    )
    # w.r.t. the parameters of V (and of the learned M⁻¹)
    names = [k for k, _ in H.named_parameters()]
    values = tuple(v.detach().clone().requires_grad_(True) for _, v in H.named_parameters())

    def step(*vals):
        return torch.func.functional_call(OneStep(H), {f"H.{k}": v for k, v in zip(names, vals)}, (q, p))

    assert torch.autograd.gradcheck(step, values)


# 7. evaluation and training


def test_works_under_no_grad_and_matches_grad_mode():
    H = learned(2, well=True)
    G = GeneralHamiltonian(2, hidden=8)
    q0, p0 = torch.randn(3, 2), torch.randn(3, 2)
    ref = rollout(H, q0, p0, 0.1, 5, substeps=2, dissipation=full_D)
    ref_g = rollout(G, q0, p0, 0.1, 5, method="rk4")
    with torch.no_grad():
        out = rollout(H, q0, p0, 0.1, 5, substeps=2, dissipation=full_D)
        out_g = rollout(G, q0, p0, 0.1, 5, method="rk4")
    assert not any(t.requires_grad for t in (*out, *out_g))
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-14)
    torch.testing.assert_close(out_g, ref_g, rtol=0, atol=1e-14)
    assert all(v.grad is None for v in H.parameters())


@pytest.mark.parametrize("kind", ["separable_leapfrog", "mlp_kinetic_leapfrog", "general_rk4"])
def test_a_training_step_backpropagates_into_the_hamiltonian_and_the_encoder(kind):
    torch.manual_seed(1)
    encoder = nn.Linear(6, 4)
    if kind == "general_rk4":
        H, kw = GeneralHamiltonian(2, hidden=8), {"method": "rk4"}
    elif kind == "mlp_kinetic_leapfrog":
        H, kw = SeparableHamiltonian(2, hidden=8, kinetic="mlp"), {}
    else:
        H, kw = SeparableHamiltonian(2, hidden=8), {"dissipation": diag_D, "force": torch.randn(5, 2)}
    q, p = split_qp(encoder(torch.randn(5, 6)))
    Q, P = rollout(H, q, p, 0.1, 4, substeps=2, **kw)
    loss = (Q - 1).pow(2).mean() + P.pow(2).mean()
    loss.backward()
    for name, v in [*H.named_parameters(), *encoder.named_parameters()]:
        assert v.grad is not None and torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0, name


# 8. bad input


def test_bad_input_raises_naming_the_argument():
    H, G = SeparableHamiltonian(2, hidden=4), GeneralHamiltonian(2, hidden=4)
    q = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="z must"):
        split_qp(torch.zeros(3, 5))
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="substeps"):
            leapfrog(H, q, q, 0.1, substeps=bad)
        with pytest.raises(ValueError, match="substeps"):
            explicit_step(G, q, q, 0.1, substeps=bad)
    with pytest.raises(ValueError, match="^p must"):
        leapfrog(H, q, torch.zeros(3, 3), 0.1)
    with pytest.raises(ValueError, match="^p must"):
        rollout(G, q, torch.zeros(4, 2), 0.1, 2, method="rk4")
    with pytest.raises(ValueError, match="^q must"):
        leapfrog(H, torch.zeros(3, 3), torch.zeros(3, 3), 0.1)
    with pytest.raises(ValueError, match="^q must"):
        leapfrog(H, torch.zeros(2), torch.zeros(2), 0.1)
    with pytest.raises(ValueError, match="force"):
        leapfrog(H, q, q, 0.1, force=torch.zeros(3, 1))
    with pytest.raises(ValueError, match="force"):
        rollout(H, q, q, 0.1, 4, force=torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match="dissipation"):
        leapfrog(H, q, q, 0.1, dissipation=lambda q: torch.zeros(3, 1))
    with pytest.raises(ValueError, match="dissipation"):
        leapfrog(SeparableHamiltonian(2, hidden=4, kinetic="mlp"), q, q, 0.1, dissipation=diag_D)
    with pytest.raises(ValueError, match="n_steps"):
        rollout(H, q, q, 0.1, 0)
    with pytest.raises(ValueError, match="method"):
        rollout(H, q, q, 0.1, 2, method="dopri5")
    with pytest.raises(TypeError, match="separable"):
        leapfrog(G, q, q, 0.1)
    with pytest.raises(ValueError, match="kinetic"):
        SeparableHamiltonian(2, kinetic="cubic")
    with pytest.raises(ValueError, match="activation"):
        SeparableHamiltonian(2, activation="relu")
