"""Reference dynamics brought with a user's video: stored per sequence, compared by the dynamics read-out."""

import numpy as np
import pytest

import simulators as S
from physvae import RunConfig, fit
from physvae.cli import main
from physvae.evaluate import EvalConfig, evaluate
from physvae.importer import Source, import_video

from .test_import_inputs import TINY


def _swing(n=8, t=10, w=0.6):
    """A bar swinging on a 16-px canvas, x = A cos(w t + φ): frames (n, t, 16, 16) float32, states (x, ẋ)."""
    rng = np.random.default_rng(0)
    amp, phase, tt = rng.uniform(2, 5, (n, 1)), rng.uniform(0, 2 * np.pi, (n, 1)), np.arange(t)
    x, v = amp * np.cos(w * tt + phase), -amp * w * np.sin(w * tt + phase)
    cols = np.arange(16)
    frames = (np.abs(cols - (7.5 + x[..., None])) < 1.5)[:, :, None, :].repeat(16, axis=2)
    return frames.astype(np.float32), np.stack([x, v], -1)


def test_reference_rows_follow_their_sequences_through_the_shuffle(tmp_path):
    frames, states = _swing()
    ref = np.stack([np.arange(8.0) + 1, np.arange(8.0) / 10], -1)  # row i names sequence i
    data = S.load_dataset(
        import_video(frames, tmp_path / "d", states=states, reference=ref, dt=0.1, seed=3, test_fraction=0.25)
    )
    assert data.meta["reference_names"] == ["natural_frequency", "damping"]
    assert data.meta["reference_units"] == ["rad/s", "1/s"]
    for split in data.split_names:
        got = data[split]
        # the states' first x tells which sequence each row is
        rows = [int(np.argmin(np.abs(states[:, 0, 0] - s0))) for s0 in got.states[:, 0, 0]]
        np.testing.assert_array_equal(got.reference, ref[rows])


def test_one_reference_for_every_sequence_and_other_names(tmp_path):
    frames, states = _swing()
    data = S.load_dataset(
        import_video(
            frames,
            tmp_path / "d",
            states=states,
            reference=np.array([0.3]),
            reference_names=["decay"],
            dt=0.1,
        )
    )
    assert data.meta["reference_units"] == ["1/s"]
    assert (np.concatenate([data[s].reference for s in data.split_names]) == 0.3).all()


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (
            {"reference": np.ones((3, 2))},
            S.DatasetError,
            r"reference dynamics must have shape \(N, R\) = \(8, R\)",
        ),
        (
            {"reference": np.ones(2), "reference_names": ["omega"]},
            S.ConfigError,
            "use \\['natural_frequency'",
        ),
        ({"reference": np.ones(3)}, S.DatasetError, "2 reference names for 3 reference columns"),
        ({"reference_names": ["damping"]}, S.ConfigError, "without reference dynamics"),
        ({"reference": np.array([1.0, np.nan])}, S.DatasetError, "reference array holds 1 NaN"),
    ],
)
def test_bad_reference_is_named(tmp_path, kwargs, error, match):
    frames, states = _swing()
    with pytest.raises(error, match=match):
        import_video(frames, tmp_path / "d", states=states, dt=0.1, **kwargs)
    assert not (tmp_path / "d").exists()


def test_a_test_source_must_bring_its_reference_too(tmp_path):
    frames, states = _swing()
    with pytest.raises(S.ConfigError, match="the main source has reference but the test source does not"):
        import_video(
            frames,
            tmp_path / "d",
            states=states,
            reference=np.ones(2),
            dt=0.1,
            test=Source(frames[:2], states[:2]),
        )
    out = import_video(
        frames,
        tmp_path / "e",
        states=states,
        reference=np.ones(2),
        dt=0.1,
        test=Source(frames[:2], states[:2], reference=np.full(2, 2.0)),
    )
    assert (S.load_dataset(out)["test"].reference == 2.0).all()


def test_the_cli_imports_a_reference_and_evaluate_compares_with_it(tmp_path, capsys):
    frames, states = _swing(n=10, t=12)
    np.save(tmp_path / "f.npy", frames)
    np.save(tmp_path / "s.npy", states)
    np.save(tmp_path / "r.npy", np.array([0.6 / 0.1, 0.0]))  # ω₀ = 0.6 rad per frame at Δt 0.1 s, undamped
    args = ["import", str(tmp_path / "f.npy"), "--out", str(tmp_path / "d"), "--dt", "0.1", "--states"]
    args += [
        str(tmp_path / "s.npy"),
        "--state-kinds",
        "coordinate,velocity",
        "--reference",
        str(tmp_path / "r.npy"),
    ]
    assert main(args) == 0
    cfg = RunConfig().with_overrides([f'train.data="{tmp_path / "d"}"', *TINY])
    m = evaluate(
        fit(cfg, tmp_path / "r", progress=False),
        out=tmp_path / "ev",
        figures=False,
        cfg=EvalConfig(n_context=3, gaps=[1], drop_probs=[0.5]),
    )
    dyn = m["dynamics"]
    assert dyn["reference"] == {"natural_frequency": pytest.approx(6.0), "damping": 0.0}
    rec = dyn["recovered"]["natural_frequency"]
    learned = dyn["mean_map"]["oscillation"]["natural_frequency"]  # no energy column: the mean map's
    assert rec["true"] == pytest.approx(6.0) and rec["learned"] == learned
    assert rec["relative_error"] == pytest.approx(abs(learned - 6.0) / 6.0)
    bad = ["import", str(tmp_path / "f.npy"), "--out", str(tmp_path / "x"), "--test-reference", "r.npy"]
    assert main(bad) == 2 and "--test-reference needs --test-frames" in capsys.readouterr().err
