"""Velocity evidence from positions in three frames: exact on quadratics, second order on smooth paths."""

import math

import pytest
import torch

from physvae import RunConfig
from physvae.physics import PHYSICS, KnownPhysics
from physvae.physics.box import fold
from physvae.physics.velocity_evidence import (
    NO_EVIDENCE,
    seen_stencils,
    three_point_weights,
    velocity_evidence,
)
from simulators import ConfigError


def _pendulum_evidence(theta: torch.Tensor, std: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """Latent evidence (1, T, 4) of the pendulum's angles θ (T,): (cos, sin) exact, θ̇ and an extra at 0."""
    z = torch.zeros(len(theta))
    mean = torch.stack([theta.cos(), theta.sin(), z, z], -1)[None].double()
    return mean, torch.full_like(mean, std)


def test_three_point_derivatives_are_exact_for_quadratics_at_uneven_times():
    times = torch.tensor([[0.0, 0.07, 0.2, 0.26, 0.5, 0.51, 0.8]], dtype=torch.float64)
    idx, w = three_point_weights(times)
    x = 1.5 - 2.0 * times + 3.0 * times**2
    derivative = (w * x[:, idx]).sum(-1)
    torch.testing.assert_close(derivative, -2.0 + 6.0 * times)
    torch.testing.assert_close(w.sum(-1), torch.zeros_like(times), atol=1e-9, rtol=0)  # constants: no slope


def test_the_pendulums_velocity_is_read_from_its_angles_across_the_wrap_to_second_order():
    def worst(dt: float) -> float:
        t = torch.arange(0, 1.5, dt, dtype=torch.float64)
        theta = 3.0 + 2.5 * torch.sin(3 * t)  # crosses ±π: differences must be taken on the circle
        mean, std = _pendulum_evidence(theta)
        out, _ = velocity_evidence(PHYSICS["pendulum"], mean, std, torch.ones(1, len(t)), t[None])
        return float((out[0, :, 2] - 7.5 * torch.cos(3 * t)).abs().max())

    coarse, fine = worst(0.1), worst(0.05)
    assert coarse < 0.25  # of a speed up to 7.5 rad/s
    assert 3.0 < coarse / fine < 5.0  # halving Δt divides the error by about 4


def test_the_velocity_std_is_propagated_from_the_positions():
    t = torch.arange(6, dtype=torch.float64)[None] * 0.1
    mean = torch.stack([torch.zeros(6), torch.zeros(6)], -1)[None].double()
    std = torch.tensor([0.02, 9.0]).expand(1, 6, 2).double()
    _, out = velocity_evidence(PHYSICS["mass_spring"], mean, std, torch.ones(1, 6), t)
    assert out[0, 2, 1].item() == pytest.approx(0.02 * math.sqrt(2) / 0.2)  # central: (x₊ − x₋) / 2Δt
    assert out[0, 0, 1].item() == pytest.approx(0.02 * math.sqrt(9 + 16 + 1) / 0.2)  # (−3x₀ + 4x₁ − x₂) / 2Δt


def test_next_to_hidden_frames_the_velocity_comes_from_the_nearest_seen_ones():
    t = torch.arange(5, dtype=torch.float64)[None] * 0.1
    mean, std = _pendulum_evidence(torch.linspace(0, 0.4, 5))
    mean[..., 2], std[..., 2] = 7.0, 3.0
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0, 1.0]])
    out, out_std = velocity_evidence(PHYSICS["pendulum"], mean, std, mask, t)
    seen = out[0, [0, 1, 2, 4], 2]
    torch.testing.assert_close(seen, torch.ones(4).double(), atol=1e-6, rtol=0)  # θ̇ = 1 rad/s
    assert out[0, 3, 2].item() == 7.0 and out_std[0, 3, 2].item() == 3.0  # a hidden frame's is not used


def test_with_two_seen_frames_the_velocity_is_their_slope_and_with_one_there_is_none():
    """The network's own velocity output (7 ± 3 here) is never trained where positions give the evidence, so it
    is never used: two seen frames give the slope between them (exact on a line), one gives no evidence."""
    t = torch.arange(5, dtype=torch.float64)[None] * 0.1
    mean, std = _pendulum_evidence(torch.linspace(0, 0.4, 5))  # θ̇ = 1 rad/s, θ's std 0.01
    mean[..., 2], std[..., 2] = 7.0, 3.0
    two_seen = torch.tensor([[1.0, 0.0, 0.0, 1.0, 0.0]])
    out, out_std = velocity_evidence(PHYSICS["pendulum"], mean, std, two_seen, t)
    torch.testing.assert_close(out[0, [0, 3], 2], torch.ones(2).double())
    torch.testing.assert_close(out_std[0, [0, 3], 2], torch.full((2,), 0.01 * math.sqrt(2) / 0.3).double())
    assert out[0, [1, 2, 4], 2].tolist() == [7.0] * 3  # hidden frames: unused, unchanged
    short, _ = velocity_evidence(PHYSICS["pendulum"], mean[:, :2], std[:, :2], torch.ones(1, 2), t[:, :2])
    torch.testing.assert_close(short[0, :, 2], torch.ones(2).double())  # two frames in all: the same
    one_seen = torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0]])
    out, out_std = velocity_evidence(PHYSICS["pendulum"], mean, std, one_seen, t)
    assert (out[0, 2, 2].item(), out_std[0, 2, 2].item()) == (0.0, NO_EVIDENCE)
    single, single_std = velocity_evidence(
        PHYSICS["pendulum"], mean[:, :1], std[:, :1], torch.ones(1, 1), t[:, :1]
    )
    assert (single[0, 0, 2].item(), single_std[0, 0, 2].item()) == (0.0, NO_EVIDENCE)


def test_stencils_over_seen_frames_are_exact_for_quadratics_whatever_is_hidden():
    gen = torch.Generator().manual_seed(3)
    times = torch.rand(64, 12, generator=gen, dtype=torch.float64).cumsum(1)
    mask = (torch.rand(64, 12, generator=gen) > 0.6).double()
    x = 0.5 + 1.5 * times - 2.0 * times**2
    st = seen_stencils(mask, times)
    idx, w, ok = st.idx, st.weights, st.ok
    derivative = (w * x.gather(1, idx.flatten(1)).view(idx.shape)).sum(-1)
    assert ok.any() and (~ok).any()
    torch.testing.assert_close(derivative[ok[..., 0]], (1.5 - 4.0 * times)[ok[..., 0]])
    seen_idx = mask.gather(1, idx.flatten(1)).view(idx.shape)
    assert (seen_idx[ok[..., 0]] == 1).all()  # only seen frames are differentiated over
    enough = (mask.sum(1) >= 3)[:, None] & (mask > 0)
    assert torch.equal(ok[..., 0], enough)  # every seen frame of a sequence with three seen frames
    gaps = (idx[..., 2] - idx[..., 0])[ok[..., 0]]
    assert gaps.min() >= 2  # never a repeated frame
    all_seen = seen_stencils(torch.ones(2, 7), times[:2, :7])
    ref_idx, ref_w = three_point_weights(times[:2, :7])
    assert torch.equal(all_seen.idx, ref_idx.expand(2, 7, 3)) and torch.allclose(all_seen.weights, ref_w)


def _box_evidence(x: torch.Tensor, std: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """Latent evidence (B, T, 4) of the box's x positions (B, T): (x, y = 0, vx = 9, vy = 9), std ``std``."""
    z = torch.zeros_like(x)
    mean = torch.stack([x, z, z + 9.0, z + 9.0], -1)
    return mean, torch.full_like(mean, std)


def test_the_velocity_std_holds_the_quadratics_error_exactly_on_cubic_paths():
    """On a cubic path the three-frame derivative errs by f[n0, n1, n2, n3] · Π (t − n_j): the std's truncation
    part is exactly that error, at uneven times and with frames hidden (with ``truncation``: everywhere; without:
    where the stencil spans hidden frames, else the positions' std alone); on a quadratic it is zero."""
    gen = torch.Generator().manual_seed(5)
    times = (torch.rand(32, 10, generator=gen, dtype=torch.float64) + 0.2).cumsum(1) * 0.1
    mask = (torch.rand(32, 10, generator=gen) > 0.3).double()
    idx = seen_stencils(mask, times).idx
    spans_gap = (idx[..., 2] - idx[..., 0]) > 2
    for c3, truncation in ((0.0, True), (4.0, True), (4.0, False)):
        x = 0.3 + 1.2 * times - 2.0 * times**2 + c3 * times**3
        mean, std = _box_evidence(x, std=1e-12)  # positions all but exact: the std is the truncation error
        out, out_std = velocity_evidence(PHYSICS["box"], mean, std, mask, times, truncation=truncation)
        error = (out[..., 2] - (1.2 - 4.0 * times + 3 * c3 * times**2)).abs()
        seen = (mask > 0) & (mask.sum(1, keepdim=True) >= 3)
        if c3 == 0.0:
            assert error[seen].max() < 1e-9 and out_std[..., 2][seen].max() < 1e-6
            continue
        assert error[seen].max() > 1e-3
        inner = seen & (mask.sum(1, keepdim=True) >= 4)  # a fourth seen frame for every stencil
        estimated = inner if truncation else inner & spans_gap
        assert estimated.sum() > 20
        torch.testing.assert_close(out_std[..., 2][estimated], error[estimated], rtol=1e-6, atol=1e-7)
        if not truncation:  # adjacent stencils: the positions' std alone
            assert (inner & ~estimated).sum() > 20 and out_std[..., 2][inner & ~estimated].max() < 1e-9


def test_a_bounce_between_frames_makes_the_robust_velocity_evidence_uncertain():
    """A kink between frames 5 and 6, every frame seen: their stencils read 1 of 2 units/s. The plain evidence's
    std is the positions' alone everywhere; the robust one (the physics transition's ``velocity_evidence = "robust"``) says
    those two readings may err, and leaves the straight stretches as they were; the kink one reads them right."""
    from physvae.transitions import TRANSITIONS

    t = torch.arange(12, dtype=torch.float64)[None] * 0.2
    x = 1.0 - (t - 1.1).abs() * 2.0  # moving at 2 units/s, reflected at t = 1.1
    mean, std = _box_evidence(x)
    straight = 0.01 * 2**0.5 / 0.4  # (x₊ − x₋) / 2Δt
    physics = TRANSITIONS["physics"]
    for choice in ("difference", "robust", "kink"):
        cfg = physics.config_class(system="box", velocity_evidence=choice)
        out, out_std = physics(4, 0, cfg).evidence(mean, std, torch.ones(1, 12), t)
        read = [2.0, -2.0] if choice == "kink" else [1.0, -1.0]  # kink: each side from its own three frames
        torch.testing.assert_close(out[0, [5, 6], 2], torch.tensor(read, dtype=torch.float64))
        if choice == "kink":
            continue
        far, near = out_std[0, [1, 2, 9, 10], 2], out_std[0, [5, 6], 2]
        torch.testing.assert_close(far, torch.full_like(far, straight))
        if choice == "robust":
            assert near.min() > 5 * straight
        else:
            torch.testing.assert_close(near, torch.full_like(near, straight))


@pytest.mark.parametrize("pull", [3.0, -3.0])
def test_at_a_bounce_the_kink_evidence_reads_each_side_from_its_own_frames(pull: float):
    """A ball under gravity bounces off a wall between frames 5 and 6 (a parabola on each side, its velocity
    jumping): the centred stencils there read the average of the two sides; the kink evidence takes the smooth
    side's three frames, exact for parabolas, so every frame's velocity is the true one. Gravity curves every
    stencil alike and switches none: away from the bounce the output is the plain evidence's. Gravity pulling
    away from the wall (pull > 0) curves like the bounce; towards it (a ball falling on the floor) the two curve
    against each other, and a stencil across the bounce can look less curved than a smooth one."""
    t = torch.arange(12, dtype=torch.float64)[None] * 0.2
    hit, speed = 1.1, 2.0  # at the wall x = 1 at t = 1.1, moving at 2 units/s
    x = 1.0 - speed * (t - hit).abs() - 0.5 * pull * (t - hit) ** 2
    v = torch.where(t < hit, speed, -speed) - pull * (t - hit)
    mean, std = _box_evidence(x, std=1e-6)
    plain, plain_std = velocity_evidence(PHYSICS["box"], mean, std, torch.ones(1, 12), t)
    out, out_std = velocity_evidence(PHYSICS["box"], mean, std, torch.ones(1, 12), t, kink=True)
    torch.testing.assert_close(out[..., 2], v, atol=1e-5, rtol=0)
    assert (plain[0, [5, 6], 2] - v[0, [5, 6]]).abs().min() > 0.5  # the centred stencils straddle the bounce
    away = [0, 1, 2, 3, 8, 9, 10, 11]
    torch.testing.assert_close(out[0, away], plain[0, away])
    torch.testing.assert_close(out_std[0, away], plain_std[0, away])
    assert out_std[0, [5, 6], 2].max() < 1e-4  # one-sided, from positions known to 1e-6


def test_a_ball_touching_the_wall_at_a_frame_leaves_it_with_the_outgoing_velocity():
    """The bounce at frame 5 itself: both shifted stencils are smooth, and the kink evidence reads the forward one
    (the velocity the transition carries on, the one a simulator reports once the contact is resolved)."""
    t = torch.arange(12, dtype=torch.float64)[None] * 0.2
    x = 1.0 - 2.0 * (t - 1.0).abs()
    mean, std = _box_evidence(x)
    out, _ = velocity_evidence(PHYSICS["box"], mean, std, torch.ones(1, 12), t, kink=True)
    v = torch.where(t < 0.99, 2.0, -2.0).to(torch.float64)
    torch.testing.assert_close(out[..., 2], v)


def test_noise_alone_does_not_switch_the_kink_evidence():
    """A straight path read with noise: the kink evidence is the plain one at all but a few frames (a 3σ test)."""
    g = torch.Generator().manual_seed(0)
    t = torch.arange(40, dtype=torch.float64)[None].expand(50, 40) * 0.1
    x = 0.3 + 1.5 * t + 0.01 * torch.randn(50, 40, dtype=torch.float64, generator=g)
    mean, std = _box_evidence(x, std=0.01)
    plain, _ = velocity_evidence(PHYSICS["box"], mean, std, torch.ones(50, 40), t)
    out, _ = velocity_evidence(PHYSICS["box"], mean, std, torch.ones(50, 40), t, kink=True)
    assert (out[..., 2] != plain[..., 2]).double().mean() < 0.01


def test_across_hidden_frames_the_kink_evidence_gives_the_velocity_to_the_prior():
    """KVAE's gap protocol: frames 0–3 seen, 4–12 hidden, 13 seen, while the ball (2 units/s in a box of width 2,
    Δt 0.2) bounces twice. At frame 13 the quadratic through frames 2, 3 and 13 reads the mean velocity over the
    gap, of the wrong sign, and claims a std under half its error. The kink evidence gives no evidence at frames
    whose stencil spans the gap (std ``NO_EVIDENCE``) and reads the others as before, exactly on the straight
    path."""
    t = torch.arange(14, dtype=torch.float64)[None] * 0.2
    raw = torch.stack([-0.5 + 2.0 * t] * 2, -1)
    one = torch.tensor(1.0, dtype=torch.float64)
    x, v, _ = fold(raw, torch.full_like(raw, 2.0), -one, one)  # the box's exact flow: two bounces in the gap
    x, v = x[..., 0], v[..., 0]
    mean, std = _box_evidence(x, std=1e-6)
    mask = torch.ones(1, 14)
    mask[:, 4:13] = 0
    plain, plain_std = velocity_evidence(PHYSICS["box"], mean, std, mask, t)
    assert plain[0, 13, 2] * v[0, 13] < 0 and (plain[0, 13, 2] - v[0, 13]).abs() > 2 * plain_std[0, 13, 2]
    out, out_std = velocity_evidence(PHYSICS["box"], mean, std, mask, t, kink=True)
    assert (out_std[0, [3, 13], 2] == NO_EVIDENCE).all()  # stencils (2, 3, 13) both
    adjacent = [0, 1, 2]
    torch.testing.assert_close(out[0, adjacent, 2], v[0, adjacent])
    assert out_std[0, adjacent, 2].max() < 1e-4


def test_double_pendulum_velocities_follow_their_own_angles():
    t = torch.arange(5, dtype=torch.float64) * 0.1
    a1, a2 = 0.5 * t, -2.0 * t
    mean = torch.stack([a1.cos(), a1.sin(), a2.cos(), a2.sin(), 0 * t, 0 * t], -1)[None]
    out, _ = velocity_evidence(
        PHYSICS["double_pendulum"], mean, torch.full_like(mean, 0.01), torch.ones(1, 5), t[None]
    )
    torch.testing.assert_close(out[0, :, 4], torch.full((5,), 0.5, dtype=torch.float64))
    torch.testing.assert_close(out[0, :, 5], torch.full((5,), -2.0, dtype=torch.float64))


@pytest.mark.parametrize("kink", [False, True])
def test_gradients_through_the_velocity_evidence_pass_gradcheck(kink: bool):
    t = torch.tensor([[0.0, 0.1, 0.25, 0.3, 0.4]], dtype=torch.float64)
    mean = torch.randn(4, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    std = torch.rand(4, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) + 0.1
    mask = torch.tensor(
        [[1.0, 1.0, 1.0, 0.0, 1.0], [1.0] * 5, [1.0, 0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0]]
    )  # the last two: two seen, one seen

    def f(m, s):
        return velocity_evidence(
            PHYSICS["pendulum"], m, s, mask, t.expand(4, 5), truncation=not kink, kink=kink
        )

    assert torch.autograd.gradcheck(f, (mean.requires_grad_(), std.requires_grad_()))


def test_gradients_stay_finite_where_a_hidden_frames_stand_in_times_meet_a_seen_frames():
    """Training with hidden frames: at a hidden frame the stencil's times stand in at t ± 1 s, which at Δt 0.25 is
    where frame t + 4 really is; a fourth frame taken there made a 0/0 that NaN'd every gradient."""
    t = torch.arange(8, dtype=torch.float64)[None] * 0.25
    mask = torch.tensor([[1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]])  # at frame 2: stencil 1, 2, 5; fourth 6
    mean = torch.randn(
        1, 8, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    ).requires_grad_()
    std = torch.full((1, 8, 4), 0.5, dtype=torch.float64, requires_grad=True)
    for truncation, kink in ((False, False), (True, False), (False, True)):
        out, out_std = velocity_evidence(PHYSICS["box"], mean, std, mask, t, truncation=truncation, kink=kink)
        assert torch.isfinite(out_std).all()
        grads = torch.autograd.grad((out + out_std).sum(), (mean, std))
        assert all(torch.isfinite(g).all() for g in grads)


def test_bad_velocity_settings_are_refused_by_name():
    with pytest.raises(ConfigError, match="model.physics.velocity_evidence must be one of"):
        RunConfig().with_overrides(["model.transition=physics", "model.latent_dim=4",
                                    "model.physics.velocity_evidence=finite"]).validate()  # fmt: skip
    with pytest.raises(ConfigError, match="velocities must map state columns"):
        KnownPhysics(name="x", state_names=["q", "v"], rhs=lambda y, p, u: y, param_names=[], param_init=[],
                     velocities={2: 0})  # fmt: skip


def test_the_neural_odes_velocities_are_the_derivatives_of_its_positions_evidence():
    """Order 2, z = (q, v): with ``velocity_evidence=difference`` each v_i's evidence is the three-frame derivative
    of q_i's — exact on quadratic paths at uneven times — and q's own evidence is untouched."""
    from physvae.transitions import TRANSITIONS

    ode_cls = TRANSITIONS["neural_ode"]
    tr = ode_cls(4, 0, ode_cls.config_class(velocity_evidence="difference"))
    times = torch.tensor([[0.0, 0.1, 0.25, 0.3, 0.45, 0.6]], dtype=torch.float64)
    q = torch.stack([1.0 + 2.0 * times[0] - 4.0 * times[0] ** 2, -3.0 * times[0]], -1)  # (T, 2)
    mean = torch.cat([q, torch.full_like(q, 9.0)], -1)[None]  # the network says v = 9
    std = torch.full_like(mean, 0.05)
    out, out_std = tr.evidence(mean, std, torch.ones(1, 6), times)
    torch.testing.assert_close(out[0, :, 2], 2.0 - 8.0 * times[0])
    torch.testing.assert_close(out[0, :, 3], torch.full((6,), -3.0, dtype=torch.float64))
    torch.testing.assert_close(out[..., :2], mean[..., :2])  # positions as they were
    _, w = three_point_weights(times)
    propagated = 0.05 * w.pow(2).sum(-1).sqrt()[0]  # independent frames
    torch.testing.assert_close(out_std[0, :, 2], propagated)
    torch.testing.assert_close(out_std[..., :2], std[..., :2])
    plain = ode_cls(4, 0, ode_cls.config_class())  # the default keeps the network's evidence
    assert plain.evidence(mean, std, torch.ones(1, 6), times)[0] is mean
    with pytest.raises(ConfigError, match="velocity_evidence='difference' needs order 2"):
        ode_cls.config_class(order=1, velocity_evidence="difference").validate()
    with pytest.raises(ConfigError, match="neural_ode.velocity_evidence must be 'network' or 'difference'"):
        RunConfig().with_overrides(
            ["model.transition=neural_ode", "model.neural_ode.velocity_evidence=fd"]
        ).validate()
