import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import simulators as S
from simulators.checksum import file_checksum, meta_digest
from simulators.generate import make_chunk


def _small(name="dvbf_pendulum16", **kw):
    return S.preset(name, splits={"train": 7, "test": 5}, **kw)


@pytest.fixture(scope="module")
def pend_dir(tmp_path_factory):
    return S.generate(_small(ood=True), tmp_path_factory.mktemp("d") / "pend")


def test_same_config_and_seed_give_identical_files_whatever_the_workers(tmp_path):
    cfg = _small("kvae_box32")
    a = S.generate(cfg, tmp_path / "a", jobs=1)
    b = S.generate(cfg, tmp_path / "b", jobs=2)
    for f in sorted(p.relative_to(a) for p in a.rglob("*.npy")):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert json.loads((a / "meta.json").read_text()) == json.loads((b / "meta.json").read_text())


def test_round_trip_generate_write_load(pend_dir):
    cfg = _small(ood=True)
    data = S.load_dataset(pend_dir)
    for split, n in cfg.splits.items():
        direct = make_chunk(cfg, split, 0, n)
        s = data[split]
        for name in ("frames", "states", "params", "inputs", "reference"):
            np.testing.assert_array_equal(np.asarray(getattr(s, name)), direct[name])
    assert data.config == cfg
    assert data["train"].state_names[:2] == ["theta", "omega"] and data["train"].dt == cfg.dt
    assert data["test_ood"].ood and not data["test"].ood


def _ood_pair(cfg: S.DatasetConfig, tmp_path):
    cfg.splits, cfg.ood_splits, cfg.n_frames = {"train": 40, "test_ood": 40}, ["test_ood"], 3
    cfg.render.size = 16
    return S.load_dataset(S.generate(cfg, tmp_path / "d"))


@pytest.mark.parametrize("name", sorted(S.SYSTEMS))
def test_every_systems_ood_split_starts_above_every_training_energy(name, tmp_path):
    data = _ood_pair(S.DatasetConfig(system=name), tmp_path)
    energy = data.state_kinds.index("energy")
    assert data["test_ood"].ood and not data["train"].ood
    assert data["test_ood"].states[:, 0, energy].min() > data["train"].states[:, 0, energy].max()


@pytest.mark.parametrize(
    "preset", ["dvbf_pendulum16", "dm_pendulum32", "dm_pendulum_colors32", "dm_mass_spring32"]
)
def test_presets_ood_split_starts_above_every_training_energy(preset, tmp_path):
    data = _ood_pair(S.preset(preset), tmp_path)
    energy = data.state_kinds.index("energy")
    assert data["test_ood"].states[:, 0, energy].min() > data["train"].states[:, 0, energy].max()


def test_a_system_without_an_ood_config_refuses_ood(tmp_path):
    class _NoOOD(S.MassSpring):
        name = "test_no_ood"

        def ood_config(self):
            return S.System.ood_config(self)

    S.register_system(_NoOOD)
    try:
        cfg = S.DatasetConfig(system="test_no_ood", splits={"train": 2, "x": 2}, ood_splits=["x"])
        with pytest.raises(S.ConfigError, match="defines no out-of-distribution config"):
            S.generate(cfg, tmp_path / "d")
        assert not (tmp_path / "d").exists()
    finally:
        S.SYSTEMS.pop("test_no_ood")


def test_the_dataset_declares_its_physics(pend_dir):
    data = S.load_dataset(pend_dir)
    split = data["train"]
    assert split.state_kinds == ["angle", "velocity", "derived", "derived", "derived", "derived", "energy"]
    assert split.param_units == ["kg", "m", "m/s²", "1/s"] and split.reference_names == [
        "natural_frequency",
        "damping",
    ]
    g, l, gamma = (np.asarray(split.params)[:, i] for i in (2, 1, 3))
    np.testing.assert_allclose(split.reference, np.stack([np.sqrt(g / l), gamma], 1))


def test_a_schema_2_folder_is_read_with_its_physics_filled_in(pend_dir, tmp_path):
    d = _copy(pend_dir, tmp_path / "old")
    meta = json.loads((d / "meta.json").read_text())
    for key in ("state_kinds", "param_units", "reference_names", "reference_units"):
        meta.pop(key)
    for info in meta["splits"].values():
        info["arrays"].pop("reference")
    meta["schema_version"] = 2
    (d / "meta.json").write_text(json.dumps(meta))
    old, new = S.load_dataset(d), S.load_dataset(pend_dir)
    assert old.meta["upgraded_from_schema"] == 2 and old.state_kinds == new.state_kinds
    np.testing.assert_array_equal(old["test"].reference, new["test"].reference)


def test_dataset_config_round_trip():
    cfg = S.preset("dm_pendulum_colors32", size=16, seed=3, ood=True)
    assert S.DatasetConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def _copy(src: Path, dst: Path) -> Path:
    subprocess.run(["cp", "-r", str(src), str(dst)], check=True)
    return dst


def test_flipped_byte_is_caught_by_checksum(pend_dir, tmp_path):
    d = _copy(pend_dir, tmp_path / "c")
    f = d / "train" / "frames.npy"
    raw = bytearray(f.read_bytes())
    raw[-3] ^= 0xFF
    f.write_bytes(bytes(raw))
    with pytest.raises(S.DatasetError, match="checksum mismatch in .*train/frames.npy"):
        S.load_dataset(d)


@pytest.fixture(scope="module")
def blocks_dir(tmp_path_factory):
    """A dataset whose arrays span several checksum blocks (3 sequences per chunk), written by 2 workers."""
    gen = importlib.import_module("simulators.generate")
    old, gen.CHUNK_BYTES = gen.CHUNK_BYTES, 3 * 15 * 16 * 16
    try:
        return S.generate(_small(), tmp_path_factory.mktemp("b") / "blocks", jobs=2)
    finally:
        gen.CHUNK_BYTES = old


def test_checksums_hashed_by_the_workers_match_the_files(blocks_dir):
    meta = json.loads((blocks_dir / "meta.json").read_text())
    entry = meta["splits"]["train"]["arrays"]["frames"]
    assert entry["checksum"]["rows_per_block"] == 3 and len(entry["checksum"]["blocks"]) == 3  # 7 = 3 + 3 + 1
    for info in meta["splits"].values():
        for e in info["arrays"].values():
            recomputed = file_checksum(blocks_dir / e["file"], e["shape"], e["dtype"], 3)
            assert recomputed == e["checksum"], e["file"]


@pytest.mark.parametrize("where", [5, 200, -1])  # header, first block, last block
def test_flipped_byte_anywhere_is_caught(blocks_dir, tmp_path, where):
    d = _copy(blocks_dir, tmp_path / "c")
    f = d / "train" / "states.npy"
    raw = bytearray(f.read_bytes())
    raw[where] ^= 0x01
    f.write_bytes(bytes(raw))
    with pytest.raises(S.DatasetError, match="checksum mismatch in .*train/states.npy"):
        S.load_dataset(d)


def test_appended_bytes_are_caught(blocks_dir, tmp_path):
    d = _copy(blocks_dir, tmp_path / "c")
    with open(d / "test" / "params.npy", "ab") as f:
        f.write(b"\0")
    with pytest.raises(S.DatasetError, match="checksum mismatch in .*test/params.npy"):
        S.load_dataset(d)


def test_truncated_array_is_named(pend_dir, tmp_path):
    d = _copy(pend_dir, tmp_path / "c")
    f = d / "test" / "states.npy"
    f.write_bytes(f.read_bytes()[:-40])
    with pytest.raises(S.DatasetError, match="test/states.npy"):
        S.load_dataset(d, verify=False)["test"]


def _arrays(split) -> dict:
    return {k: np.array(getattr(split, k)) for k in S.ARRAYS if getattr(split, k) is not None}


@pytest.mark.parametrize(
    "key,cut,match",
    [
        ("states", np.s_[:, :-1], r"states has shape \(5, 14, 7\), expected it to begin \(5, 15\)"),
        ("params", np.s_[:-1], r"params has shape \(4, 4\), expected it to begin \(5,\)"),
        ("frames_clean", np.s_[..., :-1, :], r"frames_clean has shape \(5, 15, 16, 15, 1\)"),
    ],
)
def test_arrays_that_do_not_line_up_with_the_frames_are_refused_by_name(pend_dir, tmp_path, key, cut, match):
    data = S.load_dataset(pend_dir)
    meta = {k: v for k, v in data.meta.items() if k not in ("splits", "schema_version", "meta_sha256")}
    arrays = _arrays(data["test"])
    arrays["frames_clean"] = arrays["frames"]  # a split with noise-free frames beside its frames
    arrays[key] = arrays[key][cut]
    out = tmp_path / "bad"
    with pytest.raises(S.DatasetError, match=r"writing .*bad, split 'test': " + match):
        S.write_dataset(out, {"test": arrays}, meta)
    assert not out.exists()  # refused before anything was written
    good = S.write_dataset(tmp_path / "good", {"test": _arrays(data["test"])}, meta)
    np.save(good / "test" / f"{key}.npy", arrays[key])  # then swapped on disk, meta.json fixed to match
    on_disk = json.loads((good / "meta.json").read_text())
    entry = {"file": f"test/{key}.npy", "shape": list(arrays[key].shape), "dtype": str(arrays[key].dtype)}
    on_disk["splits"]["test"]["arrays"][key] = entry
    (good / "meta.json").write_text(json.dumps(on_disk))
    with pytest.raises(S.DatasetError, match=r"split 'test': " + match):
        S.load_dataset(good, verify=False)["test"]


def test_other_schema_version_is_refused(pend_dir, tmp_path):
    d = _copy(pend_dir, tmp_path / "c")
    meta = json.loads((d / "meta.json").read_text())
    meta["schema_version"] = 99
    (d / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(S.DatasetError, match="schema_version 99; this physvae reads versions 2 and 3"):
        S.load_dataset(d)


def test_missing_split_and_folder(pend_dir, tmp_path):
    with pytest.raises(S.DatasetError, match="no split 'val'"):
        S.load_dataset(pend_dir)["val"]
    with pytest.raises(S.DatasetError, match="does not exist"):
        S.load_dataset(tmp_path / "nothing")


def test_existing_output_is_not_overwritten_silently(pend_dir):
    with pytest.raises(S.DatasetError, match="already exists"):
        S.generate(_small(), pend_dir)


def test_killed_generation_leaves_no_complete_looking_folder(tmp_path):
    out = tmp_path / "big"
    code = f"import simulators as S; S.generate(S.preset('kvae_box32', splits={{'train': 200000}}), {str(out)!r})"
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 60
    while not list(tmp_path.glob(".big.partial-*/train/frames.npy")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    assert list(tmp_path.glob(".big.partial-*")), "the generation should have been killed midway"
    assert not out.exists()
    with pytest.raises(S.DatasetError):
        S.load_dataset(out)


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("params.radius", (-1.0, 2.0), "balls.radius must be > 0"),
        ("params.radius", (0.0, 0.0), "balls.radius must be > 0"),
        ("params.mass", (0.0, 1.0), "balls.mass must be > 0"),
        ("params.n_balls", 40, "cannot fit in balls.box"),
        ("params.radius", (17.0, 17.0), "cannot fit in balls.box"),
        ("render.size", 4, "render.size must be an integer >= 8"),
        ("dt", 0.0, "dt must be a finite number > 0"),
        ("dt", -0.1, "dt must be a finite number > 0"),
    ],
)
def test_bad_balls_input_names_the_field(field, value, match):
    cfg = _small("kvae_box32")
    obj, attr = (cfg, field) if "." not in field else (getattr(cfg, field.split(".")[0]), field.split(".")[1])
    setattr(obj, attr, value)
    with pytest.raises(S.ConfigError, match=match):
        cfg.validate()


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("length", (0.0, 1.0), "pendulum.length must be > 0"),
        ("mass", (-1.0, 1.0), "pendulum.mass must be > 0"),
        ("init", "random", "pendulum.init must be one of"),
    ],
)
def test_bad_pendulum_input_names_the_field(field, value, match):
    cfg = _small()
    setattr(cfg.params, field, value)
    with pytest.raises(S.ConfigError, match=match):
        cfg.validate()


def test_unknown_system_preset_and_key():
    with pytest.raises(S.ConfigError, match="unknown system 'spring'"):
        S.DatasetConfig(system="spring")
    with pytest.raises(S.ConfigError, match="unknown preset 'kvae'"):
        S.preset("kvae")
    with pytest.raises(S.ConfigError, match="unknown key 'params.radiuss'"):
        S.DatasetConfig.from_dict({"system": "balls", "params": {"radiuss": [1, 2]}})
    with pytest.raises(S.ConfigError, match="n_frames must be an integer"):
        S.DatasetConfig.from_dict({"n_frames": "ten"})


def test_an_edited_meta_json_is_caught_by_its_own_checksum(pend_dir, tmp_path):
    d = _copy(pend_dir, tmp_path / "edited")
    text = (d / "meta.json").read_text()
    meta = json.loads(text)
    assert meta["meta_sha256"] == meta_digest(meta)
    (d / "meta.json").write_text(text.replace(f'"dt": {meta["dt"]}', f'"dt": {meta["dt"] * 2}'))  # one field
    with pytest.raises(S.DatasetError, match="meta.json is corrupted or was edited by hand"):
        S.load_dataset(d)
    assert S.load_dataset(d, verify=False).dt == 2 * meta["dt"]  # verify=False reads it as it is
