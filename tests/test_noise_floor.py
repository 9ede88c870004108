"""Clipped sensor noise is told from noise-free video, at black and at white, and training on it with a Gaussian
likelihood says so and names the remedy; nothing is said with the censored likelihood or on clean frames."""

import numpy as np
import pytest

import simulators as S
from physvae.cli import main
from physvae.noise_floor import CLIPPED_SHARE, clipped_noise

from .test_bad_inputs import TINY  # two training steps of a tiny model


def _frames(noise=0.0, background=(0.0, 0.0, 0.0), color=(1.0, 1.0, 1.0), n=40):
    cfg = S.DatasetConfig(system="pendulum", n_frames=10, splits={"train": n})
    cfg.render.size, cfg.render.noise, cfg.render.background = 16, noise, background
    cfg.render.colors = [color]
    return cfg


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("noise")
    return {
        "clean": S.generate(_frames(), root / "clean"),
        "noisy": S.generate(_frames(noise=0.05), root / "noisy"),
        "faint": S.generate(_frames(noise=0.01), root / "faint"),
        "white": S.generate(_frames(noise=0.05, background=(1, 1, 1), color=(0, 0, 0)), root / "white"),
        "grey": S.generate(_frames(noise=0.05, background=(0.5, 0.5, 0.5)), root / "grey"),
    }


def _train(made, name):
    return np.asarray(S.load_dataset(made[name])["train"].frames)


def test_clean_frames_show_no_clipped_noise(made):
    assert clipped_noise(_train(made, "clean")) is None


@pytest.mark.parametrize("name,end", [("noisy", "black"), ("faint", "black"), ("white", "white")])
def test_clipped_noise_is_found_at_its_end(made, name, end):
    found = clipped_noise(_train(made, name))
    assert found is not None and found.end == end
    # about half the readings of a clipped N(0, σ²) are above the end by at least half a grey level
    assert 0.35 < found.share < 0.55 and found.share > CLIPPED_SHARE
    assert found.pixels > 0.3


def test_noise_on_a_grey_background_is_not_clipped(made):
    assert clipped_noise(_train(made, "grey")) is None


def _run(made, name, tmp_path, capsys, *extra):
    argv = ["train", "--data", str(made[name]), "--out", str(tmp_path / f"run_{name}"), *TINY, *extra]
    assert main(argv) == 0
    return capsys.readouterr().err


def test_training_warns_on_clipped_noise_under_a_gaussian(made, tmp_path, capsys):
    err = _run(made, "noisy", tmp_path, capsys)
    assert "physvae train: warning: split 'train' of" in err
    assert "looks like sensor noise clipped at black" in err and "--model.likelihood=censored" in err


def test_no_warning_with_the_censored_likelihood_or_clean_frames(made, tmp_path, capsys):
    assert "clipped" not in _run(made, "noisy", tmp_path, capsys, "--model.likelihood=censored")
    assert "clipped" not in _run(made, "clean", tmp_path, capsys)
