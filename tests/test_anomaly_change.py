"""The parameter-change score and the fused score: closed forms on constructed cases, errors, the CLI."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import simulators as S
from physvae.anomaly import DetectConfig
from physvae.anomaly_change import calibration, changeable, fuse, param_change, scaled_parameter
from physvae.cli import main
from physvae.transitions.physics import Physics, PhysicsConfig

from .test_anomaly import TINY  # its --model.latent_dim=3 fits the pendulum's stated state (cos, sin, ω)


def _pendulum(**kw) -> Physics:
    """The driven pendulum's stated physics (g/l, damping, a signed torque gain), untrained."""
    return Physics(3, 1, PhysicsConfig(**kw))


@pytest.mark.parametrize("index, factor", [(0, 1.5), (0, 1 / 1.5), (2, 2.0), (2, 0.5)])
def test_a_scaled_parameter_is_factor_times_its_value_and_restored_exactly(index, factor):
    tr = _pendulum()
    with torch.no_grad():
        tr.w[2] = -0.03  # a negative torque gain: scaling must keep its sign
    before = tr.global_params().detach().clone()
    w = tr.w.detach().clone()
    with scaled_parameter(tr, index, factor):
        inside = tr.global_params().detach()
    expected = before.clone()
    expected[index] *= factor
    torch.testing.assert_close(inside, expected)
    assert torch.equal(tr.w.detach(), w)


def test_a_scaled_parameter_is_restored_when_the_block_raises():
    tr = _pendulum()
    w = tr.w.detach().clone()
    with pytest.raises(RuntimeError), scaled_parameter(tr, 0, 2.0):
        raise RuntimeError("inside")
    assert torch.equal(tr.w.detach(), w)


def _quadratic_nll(truth: torch.Tensor):
    """An NLL of frame t that is (θ_0 − c_t)² for a per-frame true g/l c (T,), NaN at t = 0."""

    def nll(model, b):
        g = model.transition.global_params()[0].detach()
        out = ((g - truth) ** 2).expand(b, -1).clone()
        out[:, 0] = float("nan")
        return out

    return nll


def test_the_change_score_is_the_best_likelihood_ratio_over_the_factors():
    tr = _pendulum()  # g/l starts at 5
    model = SimpleNamespace(transition=tr)
    c = torch.tensor([5.0, 5.0, 7.5, 10.0, 2.5, 4.0])  # normal, then ×1.5, ×2, ×0.5, ×0.8
    got = param_change(model, 2, _quadratic_nll(c), names=["g_over_l"], factors=[1.5, 2.0])
    alternatives = torch.tensor([7.5, 5 / 1.5, 10.0, 2.5])
    expected = ((5.0 - c) ** 2)[None] - ((alternatives[:, None] - c) ** 2)
    expected = expected.max(0).values.expand(2, -1).clone()
    expected[:, 0] = float("nan")
    torch.testing.assert_close(got, expected, equal_nan=True)
    assert got[0, 1] < 0  # normal: every alternative explains the frame worse
    assert (
        got[0, 2] == pytest.approx(6.25)
        and got[0, 3] == pytest.approx(25.0)
        and got[0, 4] == pytest.approx(6.25)
    )


def test_only_free_parameters_change_and_a_named_one_must_exist():
    tr = _pendulum(known={"damping": 0.5})
    model = SimpleNamespace(transition=tr)
    assert changeable(model) == [0, 2]
    assert changeable(model, ["torque_gain"]) == [2]
    with pytest.raises(S.ConfigError, match="'mass', not a parameter of 'pendulum_driven'"):
        changeable(model, ["mass"])
    with pytest.raises(S.ConfigError, match="'damping', held at its known value"):
        changeable(model, ["damping"])
    all_known = _pendulum(known={"g_over_l": 9.8, "damping": 0.5, "torque_gain": 1.0})
    with pytest.raises(S.ConfigError, match="no parameter to vary: every one of"):
        changeable(SimpleNamespace(transition=all_known))
    with pytest.raises(S.ConfigError, match="needs a transition with stated parameters.*LocallyLinear"):
        changeable(SimpleNamespace(transition=type("LocallyLinear", (), {})()))


def test_fusing_maps_each_score_by_its_normal_frames_and_keeps_the_maximum():
    normal_a = np.arange(101.0)[None].repeat(2, 0)  # median 50, 0.99 quantile 99
    normal_b = 10 * np.arange(101.0)[None].repeat(2, 0)  # median 500, 0.99 quantile 990
    scored = np.ones_like(normal_a, dtype=bool)
    cal = [calibration(normal_a, scored, 0.99), calibration(normal_b, scored, 0.99)]
    assert cal[0] == pytest.approx((50.0, 49.0)) and cal[1] == pytest.approx((500.0, 490.0))
    a, b = np.array([[50.0, 99.0, np.nan]]), np.array([[990.0, 500.0, 0.0]])
    np.testing.assert_allclose(fuse([a, b], cal), [[1.0, 1.0, np.nan]])
    assert calibration(np.zeros((1, 4)), np.ones((1, 4), dtype=bool), 0.99) == (0.0, 1.0)


def test_bad_change_and_fusion_settings_name_the_field():
    with pytest.raises(S.ConfigError, match="change_factors must be > 0 and ≠ 1"):
        DetectConfig(change_factors=[1.0]).validate()
    with pytest.raises(S.ConfigError, match="change_factors must be > 0 and ≠ 1"):
        DetectConfig(change_factors=[-2.0]).validate()
    with pytest.raises(S.ConfigError, match="fuse must name at least two"):
        DetectConfig(scores=["fused"], fuse=["predictive"]).validate()
    with pytest.raises(S.ConfigError, match="fuse must name at least two"):
        DetectConfig(scores=["fused"], fuse=["predictive", "psnr"]).validate()
    DetectConfig(scores=["predictive"], fuse=["predictive"]).validate()  # no fused score: fuse is not read


@pytest.fixture(scope="module")
def events(tmp_path_factory, pend_events):
    """A tiny LocallyLinear and a tiny physics run on normal pendulum data; the data with events."""
    normal, ev = pend_events
    root = tmp_path_factory.mktemp("change")
    train = ["train", "--data", str(normal), *TINY]
    assert main([*train, "--out", str(root / "ll")]) == 0
    assert main([*train, "--out", str(root / "ph"), "--model.transition=physics"]) == 0
    return root, ev


def test_detect_cli_scores_parameter_changes_and_their_fusion(events, tmp_path, capsys):
    root, ev = events
    out = tmp_path / "det"
    args = [
        "detect",
        str(root / "ph"),
        "--data",
        str(ev),
        "--out",
        str(out),
        "--scores",
        "fused,param_change",
    ]
    assert main([*args, "--change-params", "g_over_l", "--change-factors", "1.5"]) == 0
    assert "fused: AUROC" in capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert m["main_score"] == "fused" and m["causal"] == {"fused": True, "param_change": True}
    assert m["protocol"]["change_params"] == ["g_over_l"] and m["protocol"]["change_factors"] == [1.5]
    for score in ("fused", "param_change"):
        assert 0.0 <= m["scores"][score]["kinds"]["any"]["auroc"] <= 1.0
        assert math.isfinite(m["scores"][score]["threshold"])
    scores = np.load(out / "scores.npz")
    assert set(scores.files) == {"labels", "fused", "param_change"}  # predictive was a part, not asked for
    assert np.isnan(scores["fused"][:, 0]).all() and np.isfinite(scores["fused"][:, 1:]).all()


def test_detect_refuses_the_change_score_without_stated_parameters(events, tmp_path, capsys):
    root, ev = events
    out = tmp_path / "det"
    assert main(["detect", str(root / "ll"), "--data", str(ev), "--out", str(out), "--scores", "fused"]) == 2
    assert "needs a transition with stated parameters" in capsys.readouterr().err
    args = ["detect", str(root / "ph"), "--data", str(ev), "--out", str(out), "--change-factors", "2,x"]
    assert main(args) == 2
    assert "--change-factors must be comma-separated numbers, got '2,x'" in capsys.readouterr().err
    assert not out.exists()
