"""The box as stated physics: reflections by hand, exact parabolas, conserved energy, the simulator's own frames,
float64 gradients, and the transition built from it."""

import numpy as np
import pytest
import torch

import simulators as S
from physvae import RunConfig, fit
from physvae.physics import PHYSICS
from physvae.physics.box import box_flow, fold
from physvae.transitions import Physics, PhysicsConfig
from simulators import ConfigError

F64 = pytest.mark.usefixtures("float64_default")


@F64
def test_a_fold_reflects_off_each_wall_as_often_as_the_path_crosses_it():
    x = torch.tensor([[2.5, -0.25], [0.5, 3.25]])  # box [0, 1]: 2.5 → two bounces, −0.25 → one; 3.25 → three
    v = torch.tensor([[2.0, -1.0], [1.0, 4.0]])
    folded, flipped, bounced = fold(x, v, torch.tensor(0.0), torch.tensor(1.0))
    torch.testing.assert_close(folded, torch.tensor([[0.5, 0.25], [0.5, 0.75]]))
    torch.testing.assert_close(flipped, torch.tensor([[2.0, 1.0], [1.0, -4.0]]))
    assert bounced.tolist() == [[True, True], [False, True]]


@F64
def test_between_bounces_the_flow_is_the_exact_parabola():
    y = torch.tensor([[0.1, 0.2, 0.3, 0.5]])
    params = torch.tensor([[-5.0, 5.0, 0.4, -2.0]])  # walls far away
    out = box_flow(y, params, None, 0.7, 1)
    t = 0.7
    expected = [0.1 + 0.3 * t + 0.2 * t * t, 0.2 + 0.5 * t - 1.0 * t * t, 0.3 + 0.4 * t, 0.5 - 2.0 * t]
    torch.testing.assert_close(out[0], torch.tensor(expected))


@F64
def test_bouncing_under_gravity_conserves_each_axis_energy():
    y = torch.tensor([[0.2, 0.7, 1.3, -0.4]])
    params = torch.tensor([[0.0, 1.0, 0.0, -2.0]])

    def energy(z):  # ½ v² − g·x per axis
        return 0.5 * z[:, 2:] ** 2 - params[:, 2:] * z[:, :2]

    z = y
    for _ in range(1000):  # about 70 floor bounces and 60 wall bounces
        z = box_flow(z, params, None, 0.1, 4)
        assert (z[:, :2] >= 0).all() and (z[:, :2] <= 1).all()
    torch.testing.assert_close(energy(z), energy(y), rtol=0, atol=1e-9)


@F64
def test_without_gravity_the_flow_is_the_simulators_own_between_bounces(tmp_path):
    """kvae_box32's ball (radius 3 in a 32-unit box): its centre bounces off 3 and 29. Frames without a bounce
    match pymunk to round-off; at a bounce pymunk resolves the contact over its sub-steps, so only bound it there."""
    cfg = S.preset("kvae_box32", splits={"train": 16}, size=16)
    split = S.load_dataset(S.generate(cfg, tmp_path / "box"))["train"]
    states = torch.tensor(split.states[..., :4])  # (N, T, 4): x0, y0, vx0, vy0
    params = torch.tensor([3.0, 29.0, 0.0, 0.0]).expand(len(states), 4)
    errors = torch.stack(
        [
            (box_flow(states[:, t], params, None, cfg.dt, 1) - states[:, t + 1]).abs().amax(-1)
            for t in range(19)
        ]
    )
    turned = (states[:, 1:, 2:].sign() != states[:, :-1, 2:].sign()).any(-1)  # (N, T − 1): a bounce
    near = ((states[..., :2] < 4.0) | (states[..., :2] > 28.0)).any(-1)  # within a unit of a wall: in contact
    clear = (~turned & ~near[:, 1:] & ~near[:, :-1]).T
    assert clear.sum() > 100 and (~clear).sum() > 10
    assert errors[clear].max() < 1e-9
    speed = states[..., 2:].abs().amax()
    # pymunk resolves a contact over its sub-steps (impulse, then positional correction): within two sub-steps' travel
    assert errors[~clear].max() < 2 * speed * cfg.dt / cfg.params.substeps


@F64
def test_gradients_through_the_box_flow_pass_gradcheck():
    y = torch.tensor([[0.3, 0.8, 1.7, -0.9], [0.5, 0.1, -0.6, 0.4]], requires_grad=True)
    params = torch.tensor([[0.0, 1.0, 0.3, -1.5]], requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: box_flow(a, b.expand(2, 4), None, 0.37, 3), (y, params))


@F64
def test_the_physics_transition_steps_the_box_by_its_flow_and_refuses_a_residual():
    tr = Physics(5, 0, PhysicsConfig(system="box", substeps=3))
    assert tr.physics is PHYSICS["box"] and tr.global_params().tolist() == [-1.0, 1.0, 0.0, 0.0]
    z = torch.tensor([[0.9, 0.0, 1.0, -0.5, 7.0]])  # the fifth dimension is an extra, held
    mean, _, _ = tr.step(z, None, 0.2, None)
    torch.testing.assert_close(mean[0], torch.tensor([0.9, -0.1, -1.0, -0.5, 7.0]))  # bounced off x = 1
    with pytest.raises(ConfigError, match="'box' steps by its own flow"):
        Physics(4, 0, PhysicsConfig(system="box", residual=True))


def test_a_box_run_trains_and_evaluates_end_to_end(box32, tmp_path):
    from physvae.evaluate import evaluate

    cfg = RunConfig().with_overrides(
        [
            f"train.data={box32}",
            "model.transition=physics",
            "model.physics.system=box",
            "model.latent_dim=4",
            "model.decoder=render",
            "model.physics.velocity_evidence=difference",
            "train.mask_prob=0.5",  # hidden frames in training: the evidence's stand-in stencils (a NaN once)
            "train.steps=3",
            "train.batch_size=4",
            "train.threads=1",
        ]
    )
    run = fit(cfg, tmp_path / "run", progress=False)
    metrics = evaluate(run, out=tmp_path / "eval", figures=False)
    learned = metrics["parameters"]["learned"]
    assert set(learned) == {"lower", "upper", "gx", "gy"} and np.isfinite(list(learned.values())).all()
    assert set(metrics["physics"]["linear"]["r2"]) >= {"x0", "y0", "vx0", "vy0"}
