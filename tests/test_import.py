import numpy as np
import pytest
from PIL import Image

import simulators as S
from physvae import RunConfig, fit
from physvae.cli import main
from physvae.evaluate import EvalConfig, evaluate
from physvae.importer import import_video


def _frames(n=6, t=8, h=20, c=None):
    rng = np.random.default_rng(0)
    shape = (n, t, h, h) if c is None else (n, t, h, h, c)
    return rng.random(shape).astype(np.float32)


def test_array_with_states_round_trips_and_resizes_with_a_warning(tmp_path):
    states = np.random.default_rng(1).normal(size=(6, 8, 2))
    with pytest.warns(UserWarning, match="resizing 20×20 frames to 16×16"):
        out = import_video(_frames(), tmp_path / "d", states=states, state_names=["p", "q"], dt=0.5)
    data = S.load_dataset(out)
    assert data.split_names == ["train", "test"] and data.dt == 0.5 and data.state_names == ["p", "q"]
    assert data["train"].frames.shape == (5, 8, 16, 16, 1) and data["test"].frames.shape == (1, 8, 16, 16, 1)
    np.testing.assert_array_equal(np.concatenate([data["train"].states, data["test"].states]), states)


def test_folder_of_image_folders(tmp_path):
    src = tmp_path / "src"
    frames = (np.random.default_rng(0).random((3, 4, 16, 16, 3)) * 255).astype(np.uint8)
    for i, seq in enumerate(frames):
        (src / f"seq{i}").mkdir(parents=True)
        for j, f in enumerate(seq):
            Image.fromarray(f).save(src / f"seq{i}" / f"{j:03d}.png")
    data = S.load_dataset(import_video(src, tmp_path / "d", dt=0.1))
    np.testing.assert_array_equal(np.concatenate([data["train"].frames, data["test"].frames]), frames)


@pytest.mark.parametrize(
    "frames,kwargs,match",
    [
        (_frames() * 2, {}, "float frames must lie in \\[0, 1\\]"),
        (np.zeros((2, 3, 16, 16), dtype=np.int32), {}, "uint8, uint16, bool or float"),
        (np.zeros((2, 3, 16, 16, 5), dtype=np.uint8), {}, "1 or 3 channels \\(2 or 4 with alpha\\), got 5"),
        (np.zeros((2, 3, 16), dtype=np.uint8), {}, "shape \\(N, T, H, W\\[, C\\]\\)"),
        (
            _frames(h=16),
            {"states": np.zeros((6, 7, 2))},
            "states must have shape \\(N, T, D\\) = \\(6, 8, D\\)",
        ),
        (
            _frames(h=16),
            {"states": np.zeros((6, 8, 2)), "state_names": ["a"]},
            "1 state names for 2 state columns",
        ),
        (_frames(n=1, h=16), {}, "1 sequence\\(s\\) cannot fill the train, test splits"),
    ],
)
def test_bad_user_frames_get_clear_errors(tmp_path, frames, kwargs, match):
    with pytest.raises((S.DatasetError, S.ConfigError), match=match):
        import_video(frames, tmp_path / "d", **kwargs)
    assert not (tmp_path / "d").exists()


def test_ragged_image_folders_are_named(tmp_path):
    for i, t in enumerate((4, 3)):
        (tmp_path / "src" / f"s{i}").mkdir(parents=True)
        for j in range(t):
            Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "src" / f"s{i}" / f"{j}.png")
    with pytest.raises(S.DatasetError, match="ragged sequences: s0 .* s1"):
        import_video(tmp_path / "src", tmp_path / "d")


def test_imported_video_without_states_trains_and_evaluates(tmp_path, capsys):
    np.save(tmp_path / "f.npy", (_frames(n=6, t=8, h=16) > 0.5).astype(np.float32))
    assert main(["import", str(tmp_path / "f.npy"), "--out", str(tmp_path / "d"), "--dt", "0.1"]) == 0
    cfg = RunConfig().with_overrides(
        [
            f'train.data="{tmp_path / "d"}"',
            "train.steps=2",
            "train.batch_size=2",
            "model.channels=4",
            "model.features=8",
            "model.rnn_hidden=8",
        ]
    )
    run = fit(cfg, tmp_path / "r", progress=False)
    m = evaluate(run, out=tmp_path / "ev", cfg=EvalConfig(n_context=3, gaps=[1], drop_probs=[0.5]))
    assert "no physics metrics" in m["physics"]["skipped"]
    assert "one test sequence" in m["latent_drift"]["skipped"]  # no spacing between sequences to measure in
    assert m["imputation"]["metric"] == "hamming"  # binarized input is detected
    assert (tmp_path / "ev" / "video.gif").exists() and not (tmp_path / "ev" / "state_scatter.png").exists()
    assert main(["evaluate", str(tmp_path / "r"), "--out", str(tmp_path / "ev2"), "--n-context", "3"]) == 0
    assert "no physics metrics" in capsys.readouterr().out


def test_unpadded_numbers_keep_frames_and_sequences_in_counting_order(tmp_path):
    """frame_2 comes before frame_10 and seq9 before seq10: a renderer that does not pad its numbers neither
    shuffles the frames nor pairs a sequence with another's states."""
    frames = np.zeros((11, 12, 16, 16), np.uint8)
    for i in range(11):
        for j in range(12):
            frames[i, j, i, j] = 255  # sequence i, frame j: one lit pixel at (i, j)
    for i, seq in enumerate(frames):
        (tmp_path / "src" / f"seq{i + 1}").mkdir(parents=True)
        for j, f in enumerate(seq):
            Image.fromarray(f).save(tmp_path / "src" / f"seq{i + 1}" / f"frame_{j + 1}.png")
    states = np.arange(11.0)[:, None, None].repeat(12, 1)
    data = S.load_dataset(import_video(tmp_path / "src", tmp_path / "d", states=states, dt=0.1))
    got = np.concatenate([data["train"].frames, data["test"].frames])[..., 0]
    np.testing.assert_array_equal(got, frames)
    np.testing.assert_array_equal(np.concatenate([data["train"].states, data["test"].states]), states)


def test_natural_key_orders_mixed_names_without_comparing_numbers_with_text():
    from pathlib import Path

    from physvae.import_read import natural_key

    names = ["x10", "x2", "X2", "x", "2x", "x2b", "x02"]
    assert [p.name for p in sorted(map(Path, names), key=natural_key)] == [
        "2x",
        "x",
        "X2",
        "x02",
        "x2",
        "x2b",
        "x10",
    ]
