"""The dynamics section reads frequency and damping from the pair that carries the state: energy and other
columns do not steer the choice, and data without states falls back to the slowest pair."""

from types import SimpleNamespace

import numpy as np
import pytest

from physvae.evaluation.dynamics import RESTLESS, _picker, _rest_frames, describe, rest_motion
from physvae.metrics.dynamics import observed_oscillation
from physvae.metrics.probe import probe_targets

from .test_metrics import _ghost_and_oscillator


def _ctx(states, names, kinds, dt):
    """What ``_picker`` reads of an EvalContext: the test split's columns and Δt, the states beside the latents."""
    test = SimpleNamespace(dt=dt, state_names=names, state_kinds=kinds)
    return SimpleNamespace(
        test=test,
        test_latents=SimpleNamespace(states=states),
        targets=lambda s: probe_targets(s, names, kinds),
    )


def test_columns_that_follow_the_ghost_do_not_steer_the_choice():
    A, dt, z, state = _ghost_and_oscillator(5.0)
    ghost = z - state @ np.linalg.lstsq(state, z, rcond=None)[0]  # what of z the state does not explain
    extra = 100 * ghost[:, :2]  # an energy and an "other" column that follow the ghost only
    assert abs(np.corrcoef(extra[:, 0], state[:, 0])[0, 1]) < 0.1
    assert observed_oscillation(A, dt, z, np.concatenate([state, extra], 1))["frequency"] == pytest.approx(
        1.3
    )
    states = np.concatenate([state, extra], axis=1)[None]  # (1, N, 4)
    ctx = _ctx(states, ["x", "v", "e", "o"], ["coordinate", "velocity", "energy", "other"], dt)
    osc = _picker(ctx, z[None])(A)  # reads x and v only
    assert osc["natural_frequency"] == pytest.approx(3.0, rel=1e-6)
    assert osc["damping"] == pytest.approx(0.4, rel=1e-6)


def test_without_state_columns_the_slowest_pair_is_read():
    A, dt, z, _ = _ghost_and_oscillator(5.0)
    ctx = _ctx(np.zeros((1, len(z), 0)), [], [], dt)
    osc = _picker(ctx, z[None])(A)
    assert osc["frequency"] == pytest.approx(1.3, rel=1e-6) and "r2" not in osc


def _section_output(r2, runner_up=0.3):
    osc = {"frequency": 3.18, "decay": 0.19, "damping": 0.38, "natural_frequency": 3.19, "r2": r2,
           "runner_up": runner_up, "selected": "the pair whose modal coordinates read the state best"}  # fmt: skip
    recovered = {
        "natural_frequency": {"learned": 3.19, "true": 3.13, "relative_error": 0.019},
        "damping": {"learned": 0.38, "true": 0.5, "relative_error": 0.24},
    }
    return {"at_rest": {"oscillation": osc}, "recovered": recovered}


def test_describe_names_the_figures_the_pair_and_warns_when_it_reads_the_state_weakly():
    lines = describe(_section_output(0.9))
    assert lines == [
        "dynamics at rest: natural frequency 3.19 (data 3.13, 2% off), damping 0.38 (data 0.5, 24% off); read from "
        "the pair whose modal coordinates read the state at R² 0.90, next pair 0.30"
    ]
    weak = describe(_section_output(0.2, runner_up=0.1))
    assert len(weak) == 2 and weak[1].startswith("warning: no oscillating pair of the learned dynamics reads")
    assert describe({"transition": "X"}) == []  # no reference dynamics: nothing to say


def _oscillator_states(decay: float, n: int = 40, t: int = 200, dt: float = 0.05):
    """Harmonic oscillators x = a e^(−decay t) cos(ω t + φ), ω = 3: states (n, t, 3) of x, v and the energy."""
    rng = np.random.default_rng(0)
    time = np.arange(t) * dt
    a, phase = rng.uniform(0.5, 1.5, (n, 1)), rng.uniform(0, 2 * np.pi, (n, 1))
    x = a * np.exp(-decay * time) * np.cos(3 * time + phase)
    v = np.gradient(x, dt, axis=1)
    return np.stack([x, v, 0.5 * v**2 + 4.5 * x**2], axis=-1), ["coordinate", "velocity", "energy"]


def test_rest_motion_is_small_where_the_data_comes_to_rest_and_near_one_where_it_never_does():
    states, kinds = _oscillator_states(decay=1.0)  # rings down to e^-10 of its amplitude
    picked = _rest_frames(states, kinds)
    assert len(picked) == 40 * 200 // 100 and rest_motion(states, kinds, picked) < 0.01
    swinging, kinds = _oscillator_states(
        decay=0.0
    )  # the lowest energy is the smallest amplitude's, still moving
    assert 0.5 < rest_motion(swinging, kinds, _rest_frames(swinging, kinds)) < 1.0
    assert rest_motion(states, ["coordinate", "other", "energy"], picked) is None  # no velocity column
    assert _rest_frames(states, ["coordinate", "velocity", "other"]) is None  # no energy column


def test_describe_warns_where_the_rest_point_lies_outside_the_data():
    out = _section_output(0.9)
    out["at_rest"]["motion"] = RESTLESS / 2
    assert len(describe(out)) == 1
    out["at_rest"]["motion"] = 0.8
    lines = describe(out)
    assert len(lines) == 2 and lines[1].startswith("warning: the data seldom rests") and "0.80" in lines[1]


def test_a_far_off_damping_is_told_how_little_of_one_step_it_rests_on():
    out = _section_output(0.9)
    out["dt"] = 0.05
    assert len(describe(out)) == 1  # 24 % off: no note
    out["recovered"]["damping"] = {"learned": -0.135, "true": 0.25, "relative_error": 1.54}
    note = describe(out)[1]
    # |λ| = exp(−γ Δt / 2): exp(0.003375) = 1.00338, exp(−0.00625) = 0.99377; 0.1 % of |λ| is 2e-3 / 0.05 = 0.04
    assert "1.0034 learned against 0.9938 for the data's γ (0.97% apart)" in note
    assert "a 0.1 % change of |λ| moves γ by 0.04 1/s" in note and "trajectories" in note
    del out["dt"]
    assert len(describe(out)) == 1  # no Δt recorded: nothing to compute
