"""Evidence about a drifting parameter from windowed shooting fits (physvae.physics.drift_evidence), against the
simulator's own drifting gravity, and the transition's refusals around it."""

import math
from pathlib import Path

import pytest
import torch
from sklearn.metrics import r2_score

import simulators as S
from physvae.physics.drift_evidence import BLIND, fit_drift, windows
from physvae.transitions import Physics, PhysicsConfig
from simulators import ConfigError


def test_windows_centre_on_each_frame_and_shift_inwards_at_the_ends():
    assert windows(6, 3).tolist() == [[0, 1, 2], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [3, 4, 5]]
    assert windows(2, 5).tolist() == [[0, 1], [0, 1]]  # longer than the sequence: all of it


def _states(tmp: Path, **params) -> dict:
    """True pendulum states (6 sequences of 30 frames, Δt 0.1 s, l = 1, undamped) by column name."""
    cfg = S.DatasetConfig(
        system="pendulum", params=S.PendulumConfig(omega0=(2.0, 3.0), **params), n_frames=30, dt=0.1
    )
    cfg.splits, cfg.render.size = {"train": 6}, 8
    split = S.load_dataset(S.generate(cfg, tmp / "d"))["train"]
    st = torch.tensor(split.states, dtype=torch.float32)
    col = {n: st[..., i] for i, n in enumerate(split.state_names)}
    col["gravity"] = torch.tensor(split.params[:, split.param_names.index("gravity")], dtype=torch.float32)
    return col


@pytest.fixture(scope="module")
def drifting(tmp_path_factory) -> dict:
    """Gravity rising linearly by half within each sequence."""
    return _states(tmp_path_factory.mktemp("drift"), drift="gravity", drift_factor=(1.5, 1.5))


def _evidence(col: dict) -> torch.Tensor:
    """The true (cos θ, sin θ, ω) and a drift dimension (B, T, 4)."""
    th = col["theta"]
    return torch.stack([th.cos(), th.sin(), col["omega"], torch.zeros_like(th)], -1)


def _transition(**change) -> Physics:
    cfg = PhysicsConfig(system="pendulum", drift=["g_over_l"], drift_evidence="fit", known={"damping": 0.0})
    for k, v in change.items():
        setattr(cfg, k, v)
    tr = Physics(4, 0, cfg)
    with torch.no_grad():
        tr.w[0] = math.log(9.81) / tr.cfg.param_scale
    return tr


def test_fits_to_true_states_read_each_sequences_gravity_exactly(tmp_path: Path):
    """Gravity constant within a sequence, g ~ U(6, 14), evidence = the true state: every frame's offset gives
    g/l = 9.81 e^o equal to the sequence's g to 0.1 %, with standard errors at the floor."""
    col = _states(tmp_path, gravity=(6.0, 14.0))
    off, std = fit_drift(_transition(), _evidence(col), torch.ones(col["theta"].shape), 0.1, 15)
    assert off.shape == std.shape == (*col["theta"].shape, 1)
    torch.testing.assert_close(
        9.81 * off[..., 0].exp(), col["gravity"][:, None].expand_as(off[..., 0]), rtol=1e-3, atol=0
    )
    assert (std <= 0.011).all()


def test_fits_follow_a_gravity_drifting_within_the_sequence(drifting):
    """Gravity rising by half over 30 frames: the fitted g/l follows each window's mean g within the sequence
    (R² of the deviations from each sequence's mean ≥ 0.95; a window holds one g while g moves ±12 %)."""
    off, _ = fit_drift(_transition(), _evidence(drifting), torch.ones(drifting["theta"].shape), 0.1, 15)
    centre = drifting["g"][:, windows(off.shape[1], 15)].mean(-1)  # (B, T): each window's mean g
    est = 9.81 * off[..., 0].exp()
    dev = lambda x: (x - x.mean(1, keepdim=True)).ravel()  # noqa: E731
    assert r2_score(dev(centre), dev(est)) > 0.95


def test_hidden_frames_weigh_nothing_and_a_blind_window_gives_no_evidence(drifting):
    th, mean = drifting["theta"], _evidence(drifting)
    mask = torch.ones(th.shape)
    mask[:, 20:] = 0
    noisy = mean.clone()
    noisy[:, 20:, :3] = torch.randn_like(noisy[:, 20:, :3])  # hidden frames holding junk
    tr = _transition()
    off_a, std_a = fit_drift(tr, mean, mask, 0.1, 15)
    off_b, std_b = fit_drift(tr, noisy, mask, 0.1, 15)
    torch.testing.assert_close(off_a[:, :12], off_b[:, :12])  # windows wholly or partly seen: junk unread
    blind = torch.ones(th.shape)
    blind[:, 3:] = 0  # 3 seen frames: below the minimum
    off, std = fit_drift(tr, mean, blind, 0.1, 15)
    assert (std[:, 5:] == BLIND).all() and (off[:, 5:] == 0).all()


def test_the_transitions_evidence_replaces_only_the_drift_dimension(drifting):
    th, mean = drifting["theta"], _evidence(drifting)
    std = torch.full_like(mean, 0.5)
    times = (torch.arange(th.shape[1], dtype=torch.float64) * 0.1).expand(th.shape)
    tr = _transition()
    assert tr.looks_ahead
    m, s = tr.evidence(mean, std, torch.ones(th.shape), times)
    torch.testing.assert_close(m[..., :3], mean[..., :3]) and torch.testing.assert_close(
        s[..., :3], std[..., :3]
    )
    assert (m[..., 3] != 0).any() and (s[..., 3] < 0.5).all()
    uneven = times.clone()
    uneven[:, 5:] += 0.05
    with pytest.raises(ConfigError, match="evenly timed"):
        tr.evidence(mean, std, torch.ones(th.shape), uneven)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(drift_evidence="guess"), "drift_evidence must be one of"),
        (dict(drift_window=3), "drift_window"),
        (dict(may_vanish=["g_over_l"]), "may_vanish also names"),
    ],
)
def test_bad_drift_evidence_settings_are_refused(change, message):
    cfg = PhysicsConfig(system="pendulum", drift=["g_over_l"], drift_evidence="fit")
    for k, v in change.items():
        setattr(cfg, k, v)
    with pytest.raises(ConfigError, match=message):
        Physics(4, 0, cfg)


def test_no_drift_leaves_the_evidence_as_it_was(tmp_path: Path):
    tr = Physics(3, 0, PhysicsConfig(system="pendulum", drift_evidence="fit"))
    mean, std = torch.randn(2, 5, 3), torch.rand(2, 5, 3)
    m, s = tr.evidence(mean, std, torch.ones(2, 5), torch.zeros(2, 5))
    assert m is mean and s is std and not tr.looks_ahead
