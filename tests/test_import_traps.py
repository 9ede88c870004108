"""``physvae import`` without traps: every option, every warning, and one clear error per bad input."""

import re
import warnings

import numpy as np
import pytest
from PIL import Image

import simulators as S
from physvae import RunConfig, fit
from physvae.cli import main
from physvae.evaluate import evaluate
from physvae.import_lag import lag_r2, lag_warning
from physvae.importer import ImportOptions, Source, import_video
from physvae.metrics.probe import probe_targets
from physvae.transitions import TRANSITIONS


def blob_video(n=16, t=12, size=16, seed=0):
    """A Gaussian blob moving along a Lissajous curve: frames (n, t, size, size) float32 and its positions
    (n, t + 1, 2), one more than the frames (position t shows in frame t)."""
    rng = np.random.default_rng(seed)
    phase, freq = rng.uniform(0, 2 * np.pi, (n, 1)), rng.uniform(0.4, 0.8, (n, 1))
    tt = np.arange(t + 1)
    pos = np.stack(
        [7.5 + 4.5 * np.sin(freq * tt + phase), 7.5 + 4.5 * np.cos(0.7 * freq * tt + 2 * phase)], axis=-1
    )
    g = np.arange(size)
    d2 = (g[:, None] - pos[..., 1, None, None]) ** 2 + (g[None, :] - pos[..., 0, None, None]) ** 2
    return np.exp(-d2 / (2 * 1.5**2))[:, :t].astype(np.float32), pos


def _all(data, what):
    return np.concatenate([getattr(data[s], what) for s in data.split_names])


# --- --state-offset and the alignment check ---------------------------------------------------------------


def test_states_saved_after_each_step_are_caught_and_fixed_by_state_offset(tmp_path):
    frames, pos = blob_video()
    after_step = pos[:, 1:]  # what a generator that saves the state after stepping writes
    with pytest.warns(UserWarning, match="fit the frames better at --state-offset 1 than at 0"):
        import_video(frames, tmp_path / "bad", states=after_step, dt=0.1)
    out = import_video(frames, tmp_path / "ok", states=after_step, dt=0.1, state_offset=1)  # no warning
    data = S.load_dataset(out)
    # frame t is paired with state t − 1: the first frame has no state and is dropped
    np.testing.assert_array_equal(_all(data, "states"), after_step[:, :-1])
    np.testing.assert_array_equal(_all(data, "frames")[..., 0], np.rint(frames[:, 1:] * 255))
    assert data.meta["import"]["state_offset"] == 1 and data.meta["n_frames"] == 11


def test_aligned_states_give_no_warning_and_negative_offsets_trim_the_end(tmp_path):
    frames, pos = blob_video()
    import_video(frames, tmp_path / "a", states=pos[:, :-1], dt=0.1)  # warnings are errors here
    before_step = pos[:, :-2]  # state t shows in frame t + 1
    with pytest.warns(UserWarning, match="--state-offset -1 than at 0"):
        import_video(frames[:, 1:], tmp_path / "b", states=before_step, dt=0.1)
    data = S.load_dataset(
        import_video(frames[:, 1:], tmp_path / "c", states=before_step, dt=0.1, state_offset=-1)
    )
    np.testing.assert_array_equal(_all(data, "states"), before_step[:, 1:])
    np.testing.assert_array_equal(_all(data, "frames")[..., 0], np.rint(frames[:, 1:-1] * 255))


def test_alignment_probe_scores_lags():
    frames, pos = blob_video()
    u8 = np.rint(frames * 255).astype(np.uint8)[..., None]
    r2 = {lag: r.mean() for lag, r in lag_r2(u8, pos[:, :-1]).items()}
    assert r2[0] > 0.9 and r2[0] - max(r2[-1], r2[1]) > 0.2
    assert lag_r2(u8[:, :3], pos[:, :3]) is None  # too short to tell


def swing_video(n=60, t=30, w=0.2, seed=0):
    """A bob swinging θ = A sin(w t + φ) on a 16-px canvas: uint8 frames (n, t, 16, 16, 1) and states (θ, θ̇)
    (n, t + 1, 2), state t shown in frame t."""
    rng = np.random.default_rng(seed)
    amp, phase, tt = rng.uniform(0.5, 1.5, (n, 1)), rng.uniform(0, 2 * np.pi, (n, 1)), np.arange(t + 1)
    th, om = amp * np.sin(w * tt + phase), amp * w * np.cos(w * tt + phase)
    x, y, g = 7.5 + 5 * np.sin(th), 3 + 5 * np.cos(th), np.arange(16)
    d2 = (g[:, None] - y[..., None, None]) ** 2 + (g[None, :] - x[..., None, None]) ** 2
    return np.rint(np.exp(-d2 / (2 * 1.2**2))[:, :t] * 255).astype(np.uint8)[..., None], np.stack(
        [th, om], -1
    )


def test_a_shift_hidden_by_the_velocity_column_is_still_caught():
    """A slow swing: the shifted pairing reads sin θ and cos θ almost whole (residual a tenth of the given
    pairing's), but θ̇, which one frame cannot show, reads a little better unshifted, and the mean R² over every
    target gains under 0.05 — the check compares what a frame shows."""
    frames, states = swing_video()
    after_step = states[:, 1:]
    targets = probe_targets(after_step, ["th", "om"], ["angle", "velocity"])[0]
    r2 = lag_r2(frames, targets)
    assert r2[1][2] < r2[0][2] and r2[1].mean() - r2[0].mean() < 0.05  # every target: the shift hardly shows
    assert (1 - r2[1][:2].mean()) < 0.1 * (1 - r2[0][:2].mean())  # sin θ, cos θ: it is plain
    note = lag_warning(frames, after_step, ["th", "om"], ["angle", "velocity"], 0, "s.npz")
    assert note.startswith("s.npz: the states fit the frames better at --state-offset 1 than at 0")
    assert lag_warning(frames, states[:, :-1], ["th", "om"], ["angle", "velocity"], 0, "s.npz") is None
    assert lag_warning(frames[:, 1:], after_step[:, :-1], ["th", "om"], ["angle", "velocity"], 1, "s") is None


def test_a_shift_is_caught_above_a_noisy_probes_floor_and_aligned_noise_is_not():
    """Sensor noise (std 40 of 255) raises what the linear probe leaves unexplained at every lag: one step off,
    the shifted pairing leaves 0.75 of the given one's 1 − R² (not clearly less), but under half of the pairing
    shifted the other way — the lopsided curve of states one step off; aligned states give a symmetric one."""
    frames, states = swing_video(w=0.1)
    noisy = np.clip(frames + np.random.default_rng(0).normal(0, 40, frames.shape), 0, 255).astype(np.uint8)
    after_step = states[:, 1:]
    r2 = {
        lag: r[:2].mean()
        for lag, r in lag_r2(noisy, probe_targets(after_step, ["th", "om"], ["angle", "velocity"])[0]).items()
    }
    assert (1 - r2[1]) > 0.5 * (1 - r2[0]) and (1 - r2[1]) < 0.5 * (1 - r2[-1])
    kinds = ["angle", "velocity"]
    assert lag_warning(noisy, after_step, ["th", "om"], kinds, 0, "s") is not None
    assert lag_warning(noisy, states[:, :-1], ["th", "om"], kinds, 0, "s") is None


# --- --binarize, bool and uint8 0/1 frames --------------------------------------------------------------


def test_binarize_makes_resized_frames_exactly_0_1(tmp_path):
    frames = blob_video(size=20)[0] > 0.5
    with pytest.warns(UserWarning, match="resizing 20×20"):
        data = S.load_dataset(import_video(frames, tmp_path / "d", dt=0.1, binarize=0.5))
    assert data.meta["binarized"] and set(np.unique(_all(data, "frames"))) == {0, 255}
    assert data.meta["import"]["binarize"] == 0.5


def test_resizing_binary_frames_without_binarize_warns(tmp_path):
    frames = blob_video(size=20)[0] > 0.5
    with pytest.warns(UserWarning) as record:
        data = S.load_dataset(import_video(frames, tmp_path / "d", dt=0.1))
    assert any("grey levels" in str(w.message) and "--binarize 0.5" in str(w.message) for w in record)
    assert not data.meta["binarized"]


@pytest.mark.parametrize("frames", [np.zeros((4, 3, 16, 16), bool), np.zeros((4, 3, 16, 16), np.float32)])
def test_0_1_frames_without_resizing_stay_binarized(tmp_path, frames):
    frames[:, :, 4:8, 4:8] = 1
    data = S.load_dataset(import_video(frames, tmp_path / "d", dt=0.1))
    assert data.meta["binarized"] and set(np.unique(_all(data, "frames"))) == {0, 255}


def test_uint8_frames_holding_0_1_warn_they_would_be_black(tmp_path):
    frames = (blob_video()[0] > 0.5).astype(np.uint8)
    with pytest.warns(UserWarning, match="uint8 frames whose largest value is 1 make a black dataset"):
        import_video(frames, tmp_path / "d", dt=0.1)


def test_opaque_rgba_frames_as_matplotlib_saves_them_lose_only_the_alpha(tmp_path):
    rgb = (np.random.default_rng(0).random((4, 3, 16, 16, 3)) * 255).astype(np.uint8)
    rgba = np.concatenate([rgb, np.full((4, 3, 16, 16, 1), 255, np.uint8)], -1)
    data = S.load_dataset(import_video(rgba, tmp_path / "d", dt=0.1))  # warnings are errors here
    np.testing.assert_array_equal(_all(data, "frames"), rgb)


def test_transparent_pixels_are_drawn_over_black_with_a_warning(tmp_path):
    grey = np.full((4, 3, 16, 16, 1), 200, np.uint8)
    alpha = np.zeros((4, 3, 16, 16, 1), np.uint8)
    alpha[:, :, :8] = 255  # top half opaque
    alpha[:, :, 8] = 51  # one row a fifth opaque: 200 · 51 / 255 = 40
    with pytest.warns(UserWarning, match=r"alpha channel makes 50.0% of the pixels \(partly\) transparent"):
        data = S.load_dataset(import_video(np.concatenate([grey, alpha], -1), tmp_path / "d", dt=0.1))
    got = _all(data, "frames")[..., 0]
    assert (got[:, :, :8] == 200).all() and (got[:, :, 8] == 40).all() and (got[:, :, 9:] == 0).all()


def test_uint16_frames_are_scaled_and_narrow_ones_warned(tmp_path):
    frames = np.zeros((4, 3, 16, 16), np.uint16)
    frames[:, :, 4:8, 4:8] = 65535
    frames[:, :, 0, 0] = 257 * 100
    got = _all(S.load_dataset(import_video(frames, tmp_path / "d", dt=0.1)), "frames")[..., 0]
    assert (got[:, :, 4:8, 4:8] == 255).all() and (got[:, :, 0, 0] == 100).all()
    with pytest.warns(UserWarning, match="reach only 4095, a dark dataset \\(at most 16 of 255\\)"):
        import_video(np.minimum(frames, 4095), tmp_path / "e", dt=0.1)


def test_five_channels_are_refused_by_name(tmp_path):
    with pytest.raises(S.DatasetError, match=r"1 or 3 channels \(2 or 4 with alpha\), got 5"):
        import_video(np.zeros((4, 3, 16, 16, 5), np.uint8), tmp_path / "d", dt=0.1)


# --- .npz keys, --dt, times ----------------------------------------------------------------------------


def test_npz_arrays_under_other_names(tmp_path):
    frames, pos = blob_video()
    np.savez(tmp_path / "f.npz", video=frames)
    np.savez(tmp_path / "s.npz", q=pos[:, :-1])
    out = import_video(tmp_path / "f.npz", tmp_path / "d", states=tmp_path / "s.npz", dt=0.1,
                       frames_key="video", states_key="q")  # fmt: skip
    np.testing.assert_array_equal(_all(S.load_dataset(out), "states"), pos[:, :-1])
    np.savez(tmp_path / "both.npz", frames=frames, states=pos[:, :-1])  # the default names
    import_video(tmp_path / "both.npz", tmp_path / "e", states=tmp_path / "both.npz", dt=0.1)


def test_default_dt_is_a_warning_naming_the_value(tmp_path):
    with pytest.warns(UserWarning, match=r"--dt not given: .* \(dt = 1.0\)"):
        out = import_video(blob_video()[0], tmp_path / "d")
    assert S.load_dataset(out).dt == 1.0


def test_irregular_times_round_trip_and_discrete_transitions_refuse_them(tmp_path):
    frames, _ = blob_video(n=6, t=8)
    times = np.cumsum(np.random.default_rng(0).uniform(0.05, 0.2, (6, 8)), axis=1)
    data = S.load_dataset(import_video(frames, tmp_path / "d", times=times))
    assert data.irregular_times and data.meta["time_grid"] == "irregular"
    np.testing.assert_array_equal(_all(data, "times"), times)
    assert data.dt == pytest.approx(np.median(np.diff(times, axis=1)))
    for transition in sorted(t for t in TRANSITIONS if not TRANSITIONS[t].continuous_time()):
        cfg = RunConfig().with_overrides(
            [f'train.data="{tmp_path / "d"}"', f"model.transition={transition}", "train.threads=1"]
        )
        with pytest.raises(
            S.ConfigError, match=f"unevenly spaced frames .* the '{transition}' transition.*discrete-time"
        ):
            fit(cfg, tmp_path / f"r_{transition}", progress=False)
        assert not (tmp_path / f"r_{transition}").exists()


def test_evaluating_a_discrete_model_on_uneven_times_is_refused(tmp_path):
    frames, _ = blob_video(n=6, t=8)
    even = import_video(frames, tmp_path / "even", dt=0.1)
    uneven = import_video(frames, tmp_path / "uneven", times=np.cumsum(np.linspace(0.1, 0.3, 8)))
    tiny = [
        "train.steps=1",
        "train.batch_size=2",
        "model.channels=4",
        "model.features=8",
        "model.rnn_hidden=8",
    ]
    run = fit(RunConfig().with_overrides([f'train.data="{even}"', "train.threads=1", *tiny]), tmp_path / "r",
              progress=False)  # fmt: skip
    with pytest.raises(S.ConfigError, match="unevenly spaced frames .* discrete-time"):
        evaluate(run, uneven, tmp_path / "ev", figures=False)


def test_even_times_set_dt_and_an_npz_may_carry_them(tmp_path):
    frames, _ = blob_video(n=6, t=8)
    np.savez(tmp_path / "f.npz", frames=frames, times=0.05 * np.arange(8) + 3.0)
    data = S.load_dataset(import_video(tmp_path / "f.npz", tmp_path / "d", state_offset=0))
    assert not data.irregular_times and data.dt == pytest.approx(0.05)
    np.testing.assert_allclose(data["train"].times, np.broadcast_to(0.05 * np.arange(8) + 3.0, (5, 8)))


def test_times_and_inputs_under_other_names_in_the_source_or_their_own_npz(tmp_path):
    frames, _ = blob_video(n=6, t=8)
    times, inputs = 0.04 * np.arange(8) + 1.0, np.arange(6 * 8.0).reshape(6, 8, 1)
    np.savez(tmp_path / "f.npz", frames=frames, t=times, u=inputs)
    data = S.load_dataset(import_video(tmp_path / "f.npz", tmp_path / "d", times_key="t", inputs=tmp_path / "f.npz",
                                       inputs_key="u"))  # fmt: skip
    assert not data.irregular_times and data.dt == pytest.approx(0.04)
    np.testing.assert_allclose(_all(data, "times"), np.broadcast_to(times, (6, 8)))
    np.testing.assert_array_equal(_all(data, "inputs"), inputs)
    np.savez(tmp_path / "t.npz", stamps=np.cumsum(np.linspace(0.1, 0.3, 8)))  # uneven, in a file of its own
    data = S.load_dataset(import_video(frames, tmp_path / "e", times=tmp_path / "t.npz", times_key="stamps"))
    assert data.irregular_times
    np.testing.assert_allclose(_all(data, "times")[0], np.cumsum(np.linspace(0.1, 0.3, 8)))


def test_a_times_key_the_source_lacks_is_an_error_naming_the_option(tmp_path):
    frames, _ = blob_video(n=6, t=8)
    np.savez(tmp_path / "f.npz", frames=frames, t=np.arange(8.0))
    with pytest.raises(S.DatasetError, match=r"holds no array named 'stamps' .*pick one with --times-key"):
        import_video(tmp_path / "f.npz", tmp_path / "d", times_key="stamps")
    with pytest.raises(S.ConfigError, match=r"--times-key 'stamps' names an .npz array, but neither --times"):
        import_video(frames, tmp_path / "d", times_key="stamps")
    assert not (tmp_path / "d").exists()


def test_datasets_without_times_load_as_before(pend16):
    data = S.load_dataset(pend16)
    assert data["train"].times is None and not data.irregular_times


def test_state_offset_trims_the_times_with_the_frames(tmp_path):
    frames, pos = blob_video(n=6, t=8)
    times = np.cumsum(np.full((6, 8), 0.1), axis=1)
    data = S.load_dataset(
        import_video(frames, tmp_path / "d", states=pos[:, 1:], times=times, state_offset=1)
    )
    np.testing.assert_allclose(_all(data, "times"), times[:, 1:])


# --- splits: a separate test source, a val split, shuffling --------------------------------------------


def test_separate_test_source_val_split_and_seeded_shuffle(tmp_path):
    frames, pos = blob_video(n=10)
    test_frames, test_pos = blob_video(n=3, seed=1)
    data = S.load_dataset(
        import_video(
            frames,
            tmp_path / "d",
            states=pos[:, :-1],
            test=Source(test_frames, states=test_pos[:, :-1]),
            dt=0.1,
            val_fraction=0.2,
            seed=7,
        )
    )
    assert data.split_names == ["train", "val", "test"]
    order = np.random.default_rng(7).permutation(10)
    np.testing.assert_array_equal(data["train"].states, pos[order[:8], :-1])
    np.testing.assert_array_equal(data["val"].states, pos[order[8:], :-1])
    np.testing.assert_array_equal(data["test"].states, test_pos[:, :-1])
    assert data.meta["import"]["shuffle_seed"] == 7


def test_without_a_seed_the_order_is_kept(tmp_path):
    frames, pos = blob_video(n=10)
    data = S.load_dataset(import_video(frames, tmp_path / "d", states=pos[:, :-1], dt=0.1, test_fraction=0.3))
    np.testing.assert_array_equal(data["test"].states, pos[7:, :-1])


# --- non-square frames -----------------------------------------------------------------------------------


@pytest.mark.parametrize("how,window", [("crop", np.s_[:, :, :, 2:18]), ("pad", None)])
def test_non_square_frames_are_cropped_or_padded_on_request(tmp_path, how, window):
    frames = np.random.default_rng(0).random((4, 3, 12, 16)).astype(np.float32)
    if how == "crop":
        frames = np.random.default_rng(0).random((4, 3, 16, 20)).astype(np.float32)
    data = S.load_dataset(import_video(frames, tmp_path / "d", dt=0.1, square=how))
    got = _all(data, "frames")[..., 0]
    assert got.shape == (4, 3, 16, 16) and data.meta["import"]["square"] == how
    if how == "crop":
        np.testing.assert_array_equal(got, np.rint(frames[window] * 255))
    else:  # two black rows above and below
        assert not got[:, :, :2].any() and not got[:, :, 14:].any()
        np.testing.assert_array_equal(got[:, :, 2:14], np.rint(frames * 255))


# --- bad inputs: one clear error naming the file or option -----------------------------------------------


def _npy(tmp_path, name, arr, **kw):
    np.save(tmp_path / name, arr, **kw)
    return tmp_path / name


def _npz(tmp_path, name, **arrays):
    np.savez(tmp_path / name, **arrays)
    return tmp_path / name


def _truncated(tmp_path):
    path = _npy(tmp_path, "trunc.npy", np.zeros((6, 4, 16, 16), np.uint8))
    path.write_bytes(path.read_bytes()[:300])
    return path


def _image_folders(tmp_path, odd):
    """Two sequences of three 16×16 grey PNGs, one replaced by ``odd`` (an array, or bytes for a broken file)."""
    for i in range(2):
        (tmp_path / "src" / f"s{i}").mkdir(parents=True)
        for j in range(3):
            Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "src" / f"s{i}" / f"{j}.png")
    bad = tmp_path / "src" / "s1" / "1.png"
    if isinstance(odd, bytes):
        bad.write_bytes(odd)
    else:
        Image.fromarray(odd).save(bad)
    return tmp_path / "src"


def _pickle(tmp_path):
    import pickle

    (tmp_path / "p.npy").write_bytes(pickle.dumps([1, 2, 3]))
    return tmp_path / "p.npy"


F = np.zeros((6, 4, 16, 16), np.float32)
S2 = np.zeros((6, 4, 2))
BAD = {
    "nan frames": (lambda p: (_npy(p, "f.npy", np.where(np.arange(16) == 3, np.nan, F)), {}), r"f.npy: .*NaN"),
    "inf states": (lambda p: (F, {"states": _npy(p, "s.npy", np.where(np.arange(2) == 1, np.inf, S2))}),
                   r"states file .*s.npy holds 24 NaN or infinite"),  # fmt: skip
    "dt inf": (lambda p: (F, {"dt": float("inf")}), "--dt must be a finite"),
    "dt 0": (lambda p: (F, {"dt": 0.0}), "--dt must be a finite number of seconds > 0, got 0"),
    "dt negative": (lambda p: (F, {"dt": -1.0}), "--dt .* got -1"),
    "size 0": (lambda p: (F, {"size": 0}), r"--size must be one of \(16, 32, 64\), got 0"),
    "empty state name": (lambda p: (F, {"states": S2, "state_names": ["a", ""]}), "--state-names has an empty"),
    "duplicate state name": (lambda p: (F, {"states": S2, "state_names": ["a", "a"]}), "--state-names names 'a' twice"),
    "names without states": (lambda p: (F, {"state_names": ["a"]}), "--state-names was given without states"),
    "one frame": (lambda p: (F[:, :1], {}), "frames array: 1 frame per sequence"),
    "non-square": (lambda p: (np.zeros((6, 4, 16, 20), np.float32), {}), "16×20.*--square crop"),
    "string states": (lambda p: (F, {"states": _npy(p, "s.npy", np.full((6, 4, 2), "x"))}), r"states file .*s.npy holds <U1"),
    "ragged states": (lambda p: (F, {"states": [[[0.0]] * 4] * 5 + [[[0.0]] * 3]}), "states array is ragged"),
    "pickled object states": (
        lambda p: (F, {"states": _npy(p, "o.npy", np.array([S2[0], S2[0, :3]], dtype=object), allow_pickle=True)}),
        r"states file .*o.npy: it holds an object array",
    ),
    "pickle file": (lambda p: (F, {"states": _pickle(p)}), r"states file .*p.npy: it is not a .npy/.npz file"),
    "truncated frames": (lambda p: (_truncated(p), {}), r"frames file .*trunc.npy: truncated"),
    "mixed image sizes": (lambda p: (_image_folders(p, np.zeros((20, 20), np.uint8)), {}),
                          r"image .*s1/1.png is 20×20 grey but .*s0/0.png is 16×16 grey"),  # fmt: skip
    "one RGB image": (lambda p: (_image_folders(p, np.zeros((16, 16, 3), np.uint8)), {}), r"s1/1.png is 16×16 RGB"),
    "corrupted PNG": (lambda p: (_image_folders(p, b"\x89PNG\r\n\x1a\nbroken"), {}), r"cannot read image .*s1/1.png"),
    "missing states file": (lambda p: (F, {"states": p / "nope.npy"}), r"states file .*nope.npy does not exist"),
    "npz without states key": (
        lambda p: (F, {"states": _npz(p, "s.npz", q=S2)}),
        r"states file .*s.npz holds no array named 'states' \(it has \['q'\]\); pick one with --states-key",
    ),
    "binarize 1": (lambda p: (F, {"binarize": 1.0}), r"--binarize threshold must be in \(0, 1\)"),
    "offset too large": (lambda p: (F, {"states": S2, "state_offset": 3}), "--state-offset 3 leaves"),
    "offset without states": (lambda p: (F, {"state_offset": 1}), "--state-offset needs --states"),
    "times decreasing": (lambda p: (F, {"times": np.array([0.0, 0.1, 0.1, 0.2])}), "times must increase strictly"),
    "times with dt": (lambda p: (F, {"times": np.arange(4.0), "dt": 0.5}), "give --dt or frame times"),
    "times shape": (lambda p: (F, {"times": np.arange(5.0)}), r"times array: times must have shape \(N, T\)"),
    "nan params": (lambda p: (F, {"params": np.full(6, np.nan)}), "params array holds 6 NaN"),
    "test source without states": (lambda p: (F, {"states": S2, "test": Source(F)}), "the main source has states but the test source does not"),
    "test fraction and test source": (lambda p: (F, {"test": Source(F), "test_fraction": 0.3}), "--test-fraction or a separate"),
    "val leaves no train": (lambda p: (F[:2], {"val_fraction": 0.4}), r"2 sequence\(s\) cannot fill the train, val, test splits"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_inputs_get_one_clear_error(tmp_path, case):
    build, match = BAD[case]
    source, kwargs = build(tmp_path)
    with pytest.raises((S.DatasetError, S.ConfigError), match=match):
        import_video(source, tmp_path / "d", **kwargs)  # errors come before any warning (such as the dt one)
    assert not (tmp_path / "d").exists()


# --- the CLI ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra,match",
    [
        (["--states", "{p}/s.npz"], r"s.npz holds no array named 'states' \(it has \['q'\]\)"),
        (["--state-names", "a,b"], "--state-names was given without states"),
        (["--dt", "inf"], "--dt must be a finite"),
        (
            ["--test-states", "{p}/s.npz", "--test-times", "{p}/s.npz"],
            "--test-states, --test-times need --test-frames",
        ),
    ],
)
def test_cli_import_errors_are_one_line(tmp_path, capsys, extra, match):
    np.save(tmp_path / "f.npy", F)
    np.savez(tmp_path / "s.npz", q=S2)
    args = ["import", str(tmp_path / "f.npy"), "--out", str(tmp_path / "d")] + [
        a.format(p=tmp_path) for a in extra
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("physvae import: error: ")
    assert re.search(match, err)


def test_cli_import_with_every_option(tmp_path, capsys):
    frames, pos = blob_video(n=10, size=20)
    np.savez(tmp_path / "f.npz", video=frames > 0.5, stamps=0.1 * np.arange(12))
    np.savez(tmp_path / "s.npz", q=pos[:, 1:])
    test_frames, test_pos = blob_video(n=2, size=20, seed=3)
    np.save(tmp_path / "tf.npy", test_frames > 0.5)
    np.save(tmp_path / "ts.npy", test_pos[:, 1:])
    np.save(tmp_path / "tt.npy", 0.1 * np.arange(12))
    args = ["import", str(tmp_path / "f.npz"), "--out", str(tmp_path / "d"), "--frames-key", "video",
            "--times-key", "stamps", "--states", str(tmp_path / "s.npz"), "--states-key", "q", "--state-offset", "1", "--state-names", "x,y",
            "--binarize", "0.5", "--size", "16", "--test-frames", str(tmp_path / "tf.npy"),
            "--test-states", str(tmp_path / "ts.npy"), "--test-times", str(tmp_path / "tt.npy"),
            "--val-fraction", "0.2", "--seed", "1"]  # fmt: skip
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*resizing 20×20")  # the one expected warning
        assert main(args) == 0
    data = S.load_dataset(tmp_path / "d")
    assert data.split_names == ["train", "val", "test"] and data.meta["binarized"]
    assert data.dt == pytest.approx(0.1) and not data.irregular_times
    assert [len(data[s]) for s in data.split_names] == [8, 2, 2] and data["test"].frames.shape[1] == 11
    assert data.state_names == ["x", "y"]
    assert capsys.readouterr().out.strip() == (
        f"wrote {tmp_path / 'd'}: train 8, val 2, test 2 sequences of 11 frames, 16×16 grey, binarized, Δt 0.1 s; "
        "states x, y; parameters none"
    )


def test_options_are_also_a_dataclass(tmp_path):
    out = import_video(blob_video()[0], tmp_path / "d", options=ImportOptions(dt=0.2, test_fraction=0.25))
    data = S.load_dataset(out)
    assert data.dt == 0.2 and len(data["test"]) == 4
