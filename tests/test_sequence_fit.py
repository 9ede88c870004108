"""Per-sequence parameters fitted to each sequence's own evidence (``model.physics.params=fit``)."""

from types import SimpleNamespace

import torch

from physvae.physics.sequence_fit import fit_offsets
from physvae.transitions.physics import Physics, PhysicsConfig


def _trajectories(tr: Physics, theta: torch.Tensor, t_len: int, dt: float, u=None) -> torch.Tensor:
    """Latents (B, T, E) of trajectories moved by the transition's own flow with parameters θ (B, P)."""
    torch.manual_seed(1)
    b = len(theta)
    y = torch.stack([torch.rand(b) * 2 - 1, torch.randn(b)], -1).double()  # θ ∈ [−1, 1] rad, θ̇ ~ N(0, 1)
    ys = [y]
    for t in range(t_len - 1):
        y = tr.flow(y, theta, dt, None if u is None else u[:, t])
        ys.append(y)
    return tr.physics.embed(torch.stack(ys, 1))


def test_each_sequences_parameters_are_those_its_evidence_moves_by(float64_default):
    tr = Physics(3, 0, PhysicsConfig(system="pendulum", params="fit"))
    truth = torch.tensor([[3.0, 0.0], [6.0, 0.2], [8.5, 0.5], [4.4, 0.1]])  # g/l (1/s²), γ (1/s)
    ev = _trajectories(tr, truth, 20, 0.1)
    got = tr.sequence_params(tr.init_state_from(ev, torch.ones(4, 20), 0.1))
    torch.testing.assert_close(got[:, 0], truth[:, 0], rtol=0.02, atol=0)  # g/l within 2 %
    torch.testing.assert_close(got[:, 1], truth[:, 1], rtol=0, atol=0.03)  # γ: the ridge's pull
    one = tr.sequence_params(tr.init_state_from(ev[2:3], torch.ones(1, 20), 0.1))
    torch.testing.assert_close(one[0], got[2])  # a sequence's values do not depend on the others
    hidden = torch.ones(4, 20)
    hidden[:, 12:] = 0  # frames hidden from the fit leave it unchanged whatever they hold
    a = tr.init_state_from(ev, hidden, 0.1)
    b = tr.init_state_from(torch.where(hidden[..., None] > 0, ev, torch.randn_like(ev)), hidden, 0.1)
    torch.testing.assert_close(a, b)
    # no frame seen: the global values
    nothing = tr.sequence_params(tr.init_state_from(ev, torch.zeros(4, 20), 0.1))
    torch.testing.assert_close(nothing, tr.global_params().expand(4, -1))


def test_the_fit_follows_uneven_intervals_and_a_driven_pendulums_inputs(float64_default):
    tr = Physics(3, 1, PhysicsConfig(system="pendulum", params="fit"))
    truth = torch.tensor([[5.0, 0.3, 1.0], [9.0, 0.6, 1.0]])  # g/l, γ, torque gain
    u = torch.randn(2, 15, 1)
    ev = _trajectories(tr, truth, 15, 0.08, u)
    got = tr.sequence_params(tr.init_state_from(ev, torch.ones(2, 15), 0.08, u))
    torch.testing.assert_close(got, truth, rtol=0.03, atol=0.03)
    # the intervals given per frame pair fit as the one Δt did; twice the true Δt fits other values
    steps = torch.full((2, 14, 1), 0.08)
    with_steps = tr.sequence_params(tr.init_state_from(ev, torch.ones(2, 15), steps, u))
    torch.testing.assert_close(with_steps, got)
    wrong = tr.sequence_params(tr.init_state_from(ev, torch.ones(2, 15), 0.16, u))
    assert (wrong[:, 0] - truth[:, 0]).abs().min() > 1.0


def test_the_fitted_parameters_are_differentiable_in_the_global_ones_float64(float64_default):
    tr = Physics(3, 0, PhysicsConfig(system="pendulum", params="fit"))
    ev = _trajectories(tr, torch.tensor([[6.0, 0.2]]), 6, 0.1) + 0.01 * torch.randn(1, 6, 3)

    def fitted(w):  # the fit's w for global values w: the transition's attributes with w replaced
        view = SimpleNamespace(
            physics=tr.physics, embed_dim=tr.embed_dim, cfg=tr.cfg, w=w, flow=tr.flow, constrain=tr.constrain,
            _hold_known=tr._hold_known,
        )  # fmt: skip
        return fit_offsets(view, ev, torch.ones(1, 6), 0.1, None) + w

    w = tr.w.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(fitted, (w,), eps=1e-6, atol=1e-5)
    # the evidence is detached (measured: its gradient bent the latent angle)
    e = ev.clone().requires_grad_()
    out = tr.init_state_from(e, torch.ones(1, 6), 0.1).sum()
    assert torch.autograd.grad(out, e, allow_unused=True) == (None,)
