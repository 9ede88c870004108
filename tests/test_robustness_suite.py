"""The robustness suite: it validates, and every dataset of it draws its variation (tiny versions, no training);
the follow-up suites (sensor_noise, looks_longer) train physics_looks' cells but for what they measure."""

import dataclasses

import numpy as np
import pytest

from physvae.bench import load_suite
from physvae.noise_floor import clipped_noise
from simulators.generate import make_chunk

SUITE = load_suite("robustness")
PLAIN = {"dvbf_pendulum16": "pendulum", "kvae_box32": "box"}  # preset -> the plain dataset of that system


def _tiny(entry, n_frames=4):
    cfg = entry.dataset_config(frames=n_frames, splits={"train": 2})
    return cfg, make_chunk(cfg, "train", 0, 2)


def test_suite_pairs_every_variation_with_its_plain_dataset():
    names = {d.name for d in SUITE.datasets}
    assert set(PLAIN.values()) <= names and len(names) == len(SUITE.datasets) == 26
    for d in SUITE.datasets:
        assert d.name.startswith(PLAIN[d.preset])
        assert d.against == ("" if d.name in PLAIN.values() else PLAIN[d.preset])  # the report compares them
    assert "within 0.03" in SUITE.description and "within 25 %" in SUITE.description


@pytest.mark.parametrize("entry", SUITE.datasets, ids=lambda d: d.name)
def test_each_dataset_draws_its_variation(entry):
    plain = next(d for d in SUITE.datasets if d.name == PLAIN[entry.preset])
    cfg, chunk = _tiny(entry)
    base_cfg, base = _tiny(plain)
    frames, states = chunk["frames"], chunk["states"]
    assert frames.shape[:2] == (2, 4) and frames.shape[2] == cfg.render.size
    variation = entry.name.removeprefix(plain.name).lstrip("_")
    assert (variation in ("24px", "28px", "48px")) == bool(entry.import_size)
    if variation == "":
        assert not base_cfg.render.binarize  # the box is compared unbinarized, so grey levels survive
    elif variation == "border":
        assert (frames[:, :, 0] == 255).all() and (frames[:, :, :, -1] == 255).all()
    elif variation == "grey":
        assert np.median(frames) == 128
    elif variation == "colour":
        assert frames.shape[-1] == 3 and (np.median(frames, axis=(0, 1, 2, 3)) == [38, 64, 153]).all()
    elif variation == "bar":
        assert (frames > 0).sum() < (base["frames"] > 0).sum() and frames.max() > 200  # thinner than the disc
    elif variation in ("half_rate", "double_rate", "double_rate_same_span"):  # spans: test below
        assert cfg.dt == base_cfg.dt * (2.0 if variation == "half_rate" else 0.5)
        np.testing.assert_array_equal(states[:, 0], base["states"][:, 0])  # same starts, other times
        assert not np.allclose(states[:, 1:], base["states"][:, 1:])
    elif variation == "noise":
        diff = frames.astype(float) - base["frames"]  # on black, the negative half is clipped away
        assert (diff != 0).mean() > 0.4 and 0.5 * 0.05 * 255 < diff.std() < 0.07 * 255
    elif (
        variation == "dropped"
    ):  # drawn as the plain one; frames are dropped after (tests/test_dataset_drop.py)
        assert entry.drop_frames == 0.2 and cfg.to_dict() == base_cfg.to_dict()
        np.testing.assert_array_equal(frames, base["frames"])
    elif variation.endswith("px"):  # drawn at another size; the importer brings it to the plain side
        assert cfg.render.size == int(variation[:2]) != base_cfg.render.size == entry.import_size
    else:
        raise AssertionError(f"a dataset this test does not check: {entry.name}")


def _span(entry) -> tuple[float, float, float]:
    """Seconds spanned by a dataset's training sequences, its long test sequences and its prediction context."""
    cfg = entry.dataset_config()
    return (
        cfg.n_frames * cfg.dt,
        entry.eval_frames * cfg.dt,
        entry.eval.get("n_context", 0) * cfg.dt,
    )


def _assert_same_span(entry, plain) -> None:
    cfg, base = entry.dataset_config(), plain.dataset_config()
    assert cfg.dt == base.dt / 2 and cfg.n_frames == 2 * base.n_frames
    np.testing.assert_allclose(_span(entry), _span(plain))


@pytest.mark.parametrize("suite", ["robustness", "physics_looks"])
def test_double_rate_same_span_keeps_the_plain_seconds(suite):
    """The ×2 frame-rate variant over the same span shows what double-rate video of the same scene shows: every
    sequence, context and horizon spans the plain dataset's seconds (the plain ×2 variant spans half of them)."""
    s = load_suite(suite)
    by_name = {d.name: d for d in s.datasets}
    same = [d for d in s.datasets if d.name.endswith("double_rate_same_span")]
    assert same
    for d in same:
        _assert_same_span(d, by_name[d.against])
        short = by_name[d.name.removesuffix("_same_span")]
        np.testing.assert_allclose(np.array(_span(short)) * 2, _span(by_name[d.against]))


def _cell_config(suite, model: str, dataset: str):
    s = load_suite(suite)
    entry = next(m for m in s.models if m.name == model)
    return s.run_config(entry, "x", 0, next(d for d in s.datasets if d.name == dataset))


@pytest.mark.parametrize(
    "suite,model,changed",
    [
        ("sensor_noise", "PhysicsRender", {"likelihood": ("auto", "gaussian")}),
        ("sensor_noise", "HamiltonianRenderFilter", {"likelihood": ("auto", "gaussian")}),
        ("sensor_noise", "PhysicsRenderCensored", {"likelihood": ("auto", "censored")}),
        ("sensor_noise", "HamiltonianRenderFilterCensored", {"likelihood": ("auto", "censored")}),
        ("looks_longer", "PhysicsRender", {}),
        ("looks_longer", "HamiltonianRenderFilter", {}),
    ],
)
def test_follow_up_suites_train_the_physics_looks_cells_but_for_what_they_test(suite, model, changed):
    """The sensor_noise and looks_longer cells are physics_looks' own (same data, model, training, evaluation),
    but for the one thing each measures: the likelihood, or the number of steps; their records compare."""
    base_model = model.removesuffix("Censored")
    for dataset in {
        "sensor_noise": ["pendulum", "pendulum_noise"],
        "looks_longer": ["pendulum", "pendulum_bar"],
    }[suite]:
        ours, theirs = _cell_config(suite, model, dataset), _cell_config("physics_looks", base_model, dataset)
        model_diff = {
            f.name: (getattr(theirs.model, f.name), getattr(ours.model, f.name))
            for f in dataclasses.fields(ours.model)
            if getattr(ours.model, f.name) != getattr(theirs.model, f.name)
        }
        assert model_diff == changed
        steps = 2000 if suite == "looks_longer" else theirs.train.steps
        assert dataclasses.replace(theirs.train, steps=steps) == ours.train
        assert ours.eval == theirs.eval
        a, b = (
            next(d for d in load_suite(s).datasets if d.name == dataset) for s in (suite, "physics_looks")
        )
        assert a.dataset_config() == b.dataset_config()


@pytest.mark.parametrize(
    "entry",
    SUITE.datasets + load_suite("physics_looks").datasets,
    ids=lambda d: d.name,
)
def test_only_the_noisy_looks_show_clipped_noise(entry):
    """``model.likelihood=auto`` takes the censored likelihood where the training frames show clipped noise: on
    these suites, the sensor-noise variants and no other look (a border, a grey or coloured scene, a bar...)."""
    cfg = entry.dataset_config(frames=10, splits={"train": 8})
    frames = make_chunk(cfg, "train", 0, 8)["frames"]
    assert (clipped_noise(frames) is not None) == entry.name.endswith("_noise")


def test_every_cell_trains_with_the_default_settings():
    """The issue's rule: each look trained with default settings — every cell's training settings are those of a
    bare RunConfig with the cell's transition (so LocallyLinear at its "auto" prediction weight, 0.25)."""
    from physvae.bench.runner import training_settings
    from physvae.config import RunConfig

    for dataset in SUITE.datasets:
        for model in (m for m in SUITE.models if m.runs_on(dataset)):
            bare = RunConfig()
            bare.model.transition = model.transition
            cell = training_settings(SUITE.run_config(model, "", 0, dataset))
            assert cell == training_settings(bare), (dataset.name, model.name)
            assert cell["train"]["predict_weight"] == (0.25 if model.transition == "locally_linear" else 1.0)
