"""A dataset brought to another frame size the way the importer resamples video, everything else kept."""

import numpy as np
import pytest
from PIL import Image

import simulators as S
from physvae.bench.runner import imported
from physvae.bench.suite import DatasetEntry
from physvae.dataset_resize import resize_dataset
from physvae.model import DataSpec


@pytest.fixture(scope="module")
def pend24(tmp_path_factory):
    cfg = S.preset("dvbf_pendulum16", size=24, splits={"train": 4, "test": 3})
    return S.generate(cfg, tmp_path_factory.mktemp("data") / "pend24")


def test_frames_are_the_importers_bilinear_resampling_and_the_rest_is_kept(pend24, tmp_path):
    src = S.load_dataset(pend24)
    out = S.load_dataset(resize_dataset(pend24, tmp_path / "d16", 16))  # loading verifies the checksums
    assert out.meta["frame_shape"] == [16, 16, 1] and out.meta["resized_from"]["side"] == 24
    assert DataSpec.from_dataset(out).size == 16
    for name in src.split_names:
        a, b = src[name], out[name]
        assert b.frames.shape == (*a.frames.shape[:2], 16, 16, 1)
        for array in ("states", "params", "inputs", "reference"):
            np.testing.assert_array_equal(getattr(b, array), getattr(a, array))
        frame = Image.fromarray(a.frames[1, 2, :, :, 0]).resize((16, 16), Image.Resampling.BILINEAR)
        np.testing.assert_array_equal(b.frames[1, 2, :, :, 0], np.asarray(frame))
    assert out.dt == src.dt and out.meta["state_names"] == src.meta["state_names"]


def test_resampled_binary_frames_are_no_longer_marked_binarized(tmp_path):
    cfg = S.preset("kvae_box32", size=24, splits={"train": 2, "test": 2})
    src = S.generate(cfg, tmp_path / "box24")
    assert S.load_dataset(src).meta["binarized"]
    assert not S.load_dataset(resize_dataset(src, tmp_path / "box16", 16)).meta["binarized"]


def test_the_suite_runner_makes_the_copy_once_and_bad_sizes_are_refused(pend24, tmp_path):
    assert imported(pend24, DatasetEntry("p", "dvbf_pendulum16")) == pend24
    to16 = DatasetEntry("p", "dvbf_pendulum16", import_size=16)
    first = imported(pend24, to16)
    assert first.name == f"{pend24.name}-to16" and S.load_dataset(first).meta["frame_shape"][0] == 16
    stamp = (first / "meta.json").stat().st_mtime_ns
    assert imported(pend24, to16) == first and (first / "meta.json").stat().st_mtime_ns == stamp
    with pytest.raises(S.ConfigError, match=r"size must be one of \(16, 32, 64\), got 24"):
        resize_dataset(pend24, tmp_path / "x", 24)
    assert not (tmp_path / "x").exists()
