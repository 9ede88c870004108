"""Clipped sensor noise is told from noise-free video, at black and at white, and training on it with a Gaussian
likelihood says so and names the remedy; nothing is said with the censored likelihood or on clean frames."""

import json

import numpy as np
import pytest

import simulators as S
from physvae.cli import main
from physvae.noise_floor import CLIPPED_SHARE, clipped_noise
from physvae.run import load

from .test_bad_inputs import TINY  # two training steps of a tiny model


def _frames(noise=0.0, background=(0.0, 0.0, 0.0), color=(1.0, 1.0, 1.0), n=40):
    cfg = S.DatasetConfig(system="pendulum", n_frames=10, splits={"train": n, "test": 4})
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


def _likelihood_of(run_dir):
    return type(load(run_dir).model.likelihood).__name__


def test_auto_takes_the_censored_likelihood_on_clipped_noise_and_says_so(made, tmp_path, capsys):
    err = _run(made, "noisy", tmp_path, capsys)
    assert "physvae train: warning: split 'train' of" in err
    assert "looks like sensor noise clipped at black" in err
    assert "model.likelihood=auto takes the censored likelihood" in err
    run_dir = tmp_path / "run_noisy"
    assert json.loads((run_dir / "spec.json").read_text())["clipped_noise"] is True
    assert _likelihood_of(run_dir) == "CensoredGaussian"  # rebuilt from the saved spec
    out = tmp_path / "eval_noisy"
    assert main(["evaluate", str(run_dir), "--out", str(out), "--no-figures", "--no-poly"]) == 0
    assert "likelihood censored)" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["likelihood"] == "censored"


def test_a_gaussian_asked_for_on_clipped_noise_is_kept_with_advice(made, tmp_path, capsys):
    err = _run(made, "noisy", tmp_path, capsys, "--model.likelihood=gaussian")
    assert "a Gaussian likelihood then draws a grey veil" in err and "--model.likelihood=censored" in err
    assert _likelihood_of(tmp_path / "run_noisy") == "Gaussian"


def test_clean_frames_keep_the_gaussian_silently(made, tmp_path, capsys):
    assert "clipped" not in _run(made, "clean", tmp_path, capsys)
    run_dir = tmp_path / "run_clean"
    assert json.loads((run_dir / "spec.json").read_text())["clipped_noise"] is False
    assert _likelihood_of(run_dir) == "Gaussian"


def test_a_spec_saved_before_the_check_rebuilds_the_gaussian_it_trained(made, tmp_path, capsys):
    _run(made, "noisy", tmp_path, capsys, "--model.likelihood=gaussian")
    run_dir = tmp_path / "run_noisy"
    spec = json.loads((run_dir / "spec.json").read_text())
    spec.pop("clipped_noise")
    (run_dir / "spec.json").write_text(json.dumps(spec))
    config = (run_dir / "config.toml").read_text()
    assert 'likelihood = "gaussian"' in config
    config = config.replace('likelihood = "gaussian"', 'likelihood = "auto"')
    (run_dir / "config.toml").write_text(config)
    assert _likelihood_of(run_dir) == "Gaussian"


@pytest.mark.parametrize(
    "name,auto", [("noisy", "the censored Gaussian (the frames show clipped"), ("clean", "a Gaussian")]
)
def test_a_bernoulli_asked_for_on_grey_levels_names_what_auto_would_take(made, tmp_path, capsys, name, auto):
    err = _run(made, name, tmp_path, capsys, "--model.likelihood=bernoulli")
    assert "model.likelihood=bernoulli on grey-level data" in err
    assert f"'auto' would choose {auto}" in err
