"""Control inputs through ``physvae import``: stored as given, kept with their frames (state offset, splits,
dropped frames), taken by every model, and refused by name when they do not fit."""

import warnings

import numpy as np
import pytest

import simulators as S
from physvae import RunConfig, fit
from physvae.cli import main
from physvae.evaluate import evaluate
from physvae.importer import Source, import_video
from physvae.model import DataSpec
from simulators import ConfigError, DatasetError

TINY = ["train.steps=3", "train.batch_size=4", "model.channels=4", "model.features=8", "model.rnn_hidden=8",
        "model.latent_dim=4", "train.threads=1", "train.log_every=1"]  # fmt: skip


def _pendulum(pend16):
    """The pendulum's train + test frames, states and torques, in one array each."""
    data = S.load_dataset(pend16)
    join = lambda what: np.concatenate([getattr(data[s], what) for s in ("train", "test")])  # noqa: E731
    return join("frames"), join("states"), join("inputs"), data


def test_inputs_round_trip_with_their_names_and_set_the_models_input_size(pend16, tmp_path):
    frames, states, inputs, data = _pendulum(pend16)
    out = import_video(
        frames, tmp_path / "d", states=states, inputs=inputs, input_names=["torque"], dt=data.dt
    )
    got = S.load_dataset(out)
    assert got.meta["input_names"] == ["torque"]
    np.testing.assert_array_equal(np.concatenate([got[s].inputs for s in got.split_names]), inputs)
    np.testing.assert_array_equal(np.concatenate([got[s].states for s in got.split_names]), states)
    assert DataSpec.from_dataset(got).input_dim == 1


def test_a_state_offset_trims_the_inputs_with_their_frames(pend16, tmp_path):
    frames, states, inputs, data = _pendulum(pend16)
    after = np.concatenate([states[:, 1:], states[:, -1:]], axis=1)  # state t saved after step t: t+1's
    out = import_video(frames, tmp_path / "d", states=after, inputs=inputs, state_offset=1, dt=data.dt,
                       test_fraction=0.25)  # fmt: skip
    got = S.load_dataset(out)
    kept = np.concatenate([got[s].inputs for s in got.split_names])
    np.testing.assert_array_equal(kept, inputs[:, 1:])  # frame t keeps the input that acts from it
    np.testing.assert_array_equal(np.concatenate([got[s].frames for s in got.split_names]), frames[:, 1:])


def test_without_inputs_the_dataset_has_none(pend16, tmp_path):
    frames, _, _, data = _pendulum(pend16)
    got = S.load_dataset(import_video(frames, tmp_path / "d", dt=data.dt))
    assert got.meta["input_names"] == [] and got["train"].inputs is None


def _with_nan(u):
    u = u.copy()
    u[2, 3, 0] = np.nan
    return u


@pytest.mark.parametrize(
    "case, error, match",
    [
        ("names only", ConfigError, r"--input-names was given without inputs \(--inputs FILE\)"),
        (
            "one frame short",
            DatasetError,
            r"inputs array: inputs must have shape \(N, T, D\) = \(32, 15, D\)",
        ),
        ("two names", DatasetError, r"2 input names for 1 input columns \(--input-names\)"),
        (
            "a NaN",
            DatasetError,
            r"inputs array holds 1 NaN or infinite values \(first at index \(2, 3, 0\)\)",
        ),
        ("test without", ConfigError, r"the main source has inputs but the test source does not"),
    ],
)
def test_bad_inputs_are_refused_by_name_and_nothing_is_written(pend16, tmp_path, case, error, match):
    frames, _, inputs, data = _pendulum(pend16)
    kwargs = {
        "names only": {"input_names": ["u"]},
        "one frame short": {"inputs": inputs[:, :-1]},
        "two names": {"inputs": inputs, "input_names": ["a", "b"]},
        "a NaN": {"inputs": _with_nan(inputs)},
        "test without": {"inputs": inputs, "test": Source(frames[:4]), "test_fraction": None},
    }[case]
    with pytest.raises(error, match=match):
        import_video(frames, tmp_path / "d", dt=data.dt, **kwargs)
    assert not (tmp_path / "d").exists()


def test_dropped_frames_of_a_driven_pendulum_import_train_and_evaluate_with_their_torques(pend16, tmp_path):
    frames, states, inputs, data = _pendulum(pend16)
    rng = np.random.default_rng(0)
    idx = np.sort(np.stack([rng.choice(15, 10, replace=False) for _ in frames]), axis=1)
    rows = np.arange(len(frames))[:, None]
    out = import_video(frames[rows, idx], tmp_path / "d", states=states[rows, idx], inputs=inputs[rows, idx],
                       state_names=data.meta["state_names"], state_kinds=data.meta["state_kinds"],
                       times=idx * data.dt)  # fmt: skip
    got = S.load_dataset(out)
    assert got.irregular_times and got["train"].inputs.shape == (len(got["train"]), 10, 1)
    cfg = RunConfig().with_overrides([f'train.data="{out}"', "model.transition=neural_ode", *TINY])
    run = fit(cfg, tmp_path / "run", progress=False)
    assert run.model.spec.input_dim == 1
    metrics = evaluate(run, out, tmp_path / "ev", figures=False)
    assert np.isfinite(metrics["prediction"]["mse"]) and "omega" in metrics["physics"]["linear"]["r2"]


def test_cli_import_takes_inputs_names_and_test_inputs(pend16, tmp_path, capsys):
    frames, _, inputs, data = _pendulum(pend16)
    np.save(tmp_path / "f.npy", frames[:24]), np.save(tmp_path / "u.npy", inputs[:24])
    np.save(tmp_path / "tf.npy", frames[24:]), np.save(tmp_path / "tu.npy", inputs[24:])
    args = ["import", str(tmp_path / "f.npy"), "--out", str(tmp_path / "d"), "--inputs", str(tmp_path / "u.npy"),
            "--input-names", "torque", "--test-frames", str(tmp_path / "tf.npy"), "--test-inputs",
            str(tmp_path / "tu.npy"), "--dt", str(data.dt)]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing doubtful here
        assert main(args) == 0
    got = S.load_dataset(tmp_path / "d")
    assert got.meta["input_names"] == ["torque"]
    np.testing.assert_array_equal(got["test"].inputs, inputs[24:])
    assert (
        main(["import", str(tmp_path / "f.npy"), "--out", str(tmp_path / "e"), "--test-inputs", "x.npy"]) == 2
    )
    assert "--test-inputs needs --test-frames" in capsys.readouterr().err
