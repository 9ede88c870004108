"""The dataset folder: one sub-folder of .npy arrays per split and a ``meta.json`` that describes and checksums them.

Layout::

    DIR/meta.json                    schema version, full config, Δt, the physics the data declares (below),
                                     shapes, checksums
    DIR/<split>/frames.npy           (N, T, H, W, C) uint8
    DIR/<split>/frames_clean.npy     (N, T, H, W, C) uint8 the same frames before sensor noise, only for data
                                     rendered with noise (render.noise > 0): what prediction is also scored against
    DIR/<split>/states.npy           (N, T, D) float64, the state each frame shows
    DIR/<split>/params.npy           (N, P) float64
    DIR/<split>/inputs.npy           (N, T, U) float64, only for systems with control inputs
    DIR/<split>/reference.npy        (N, R) float64 reference dynamics, only where the system knows them
    DIR/<split>/times.npy            (N, T) float64 time of each frame in seconds, only where the data gave them
                                     (meta.json's ``time_grid``: "irregular" when the spacing is not one Δt)
    DIR/<split>/events.npy           (N, T) uint8 per-frame anomaly labels, only with events on: the code (index in
                                     meta.json's ``event_names``) at each frame that breaks the normal dynamics
    DIR/<split>/event_kind.npy       (N,) uint8 each sequence's event code (0: none), with events.npy
    DIR/<split>/event_frame.npy      (N,) int64 frame of each sequence's event (−1: none), with events.npy
    DIR/<split>/event_size.npy       (N,) float64 size of each sequence's event (0: none), with events.npy
                                     (what the labels mean, frame by frame: ``simulators/events.py``)

The physics a dataset declares (schema 3): ``state_names``, ``state_units`` and ``state_kinds`` (one of
``simulators.STATE_KINDS`` per column), ``param_names`` and ``param_units``, and ``reference_names`` /
``reference_units`` naming the columns of ``reference.npy`` (e.g. the small-angle frequency and the damping of
each sequence). Schema 2 folders are read by filling these in from the system of their config (in memory).

Arrays are opened memory-mapped, so a dataset larger than memory loads lazily.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import remove_stale, temporary_name, write_json_atomic
from .checksum import file_checksum, seal_meta, verify_file, verify_meta
from .dataset_config import DatasetConfig
from .errors import DatasetError

SCHEMA_VERSION = 3  # 2: checksums by blocks of rows; 3: state kinds, parameter units, reference dynamics
ARRAYS = (
    "frames",
    "states",
    "params",
    "inputs",
    "reference",
    "times",
    "events",
    "event_kind",
    "event_frame",
    "event_size",
    "frames_clean",
)
# (N, T, ...): one row per frame of frames; (N, ...): one row per sequence
PER_FRAME = ("states", "inputs", "times", "events")
PER_SEQUENCE = ("params", "reference", "event_kind", "event_frame", "event_size")


def check_shapes(arrays: dict, where: str) -> None:
    """DatasetError unless every array of one split lines up with its frames (N, T, H, W, C): per-frame arrays
    (N, T, ...), per-sequence ones (N, ...), ``frames_clean`` the frames' own shape. ``where`` names the split."""
    frames = arrays.get("frames")
    if frames is None or np.ndim(frames) != 5:
        shape = None if frames is None else tuple(np.shape(frames))
        raise DatasetError(f"{where}: frames must be (N, T, H, W, C), got {shape}")
    n, t = frames.shape[:2]
    expected = {k: (n, t) for k in PER_FRAME} | {k: (n,) for k in PER_SEQUENCE}
    expected["frames_clean"] = tuple(frames.shape)
    for key, lead in expected.items():
        a = arrays.get(key)
        if a is not None and tuple(np.shape(a)[: len(lead)]) != lead:
            raise DatasetError(
                f"{where}: {key} has shape {tuple(np.shape(a))}, expected it to begin {lead} to match frames "
                f"{tuple(frames.shape)}"
            )


@dataclass
class Split:
    """One split of a dataset, arrays memory-mapped.

    Attributes:
        name: split name ("train", "test", ...).
        frames: (N, T, H, W, C) uint8.
        states: (N, T, D) float64, the state shown in each frame.
        params: (N, P) float64 per-sequence parameters.
        inputs: (N, T, U) float64 control inputs, or None.
        state_names, state_units, param_names, input_names: column names and units.
        dt: time between frames.
        ood: whether this split was drawn from the out-of-distribution config.
        state_kinds: one of ``STATE_KINDS`` per state column.
        param_units: units of the parameters.
        reference: (N, R) float64 reference dynamics per sequence, or None; reference_names/units name them.
        times: (N, T) float64 time of each frame in seconds, or None: frame t is at t · dt.
        events: (N, T) uint8 per-frame anomaly labels (codes into ``event_names``), or None without events;
        event_kind: (N,) uint8, event_frame: (N,) int64 and event_size: (N,) float64 per sequence (see
        ``simulators/events.py``); event_names: the kind of each code.
        frames_clean: (N, T, H, W, C) uint8 the frames before sensor noise, or None (data drawn without noise,
            or imported): the truth a prediction of noisy video is also scored against.
    """

    name: str
    frames: np.ndarray
    states: np.ndarray
    params: np.ndarray
    inputs: np.ndarray | None
    state_names: list[str]
    state_units: list[str]
    param_names: list[str]
    input_names: list[str]
    dt: float
    ood: bool = False
    state_kinds: list[str] = field(default_factory=list)
    param_units: list[str] = field(default_factory=list)
    reference: np.ndarray | None = None
    reference_names: list[str] = field(default_factory=list)
    reference_units: list[str] = field(default_factory=list)
    times: np.ndarray | None = None
    events: np.ndarray | None = None
    event_kind: np.ndarray | None = None
    event_frame: np.ndarray | None = None
    event_size: np.ndarray | None = None
    event_names: list[str] = field(default_factory=list)
    frames_clean: np.ndarray | None = None

    def __len__(self) -> int:
        return self.frames.shape[0]


class Dataset:
    """A dataset folder opened for reading. ``dataset["train"]`` gives a Split."""

    def __init__(self, path: Path, meta: dict):
        self.path, self.meta = path, meta
        self.config = (
            DatasetConfig.from_dict(meta["config"]) if meta.get("config") else None
        )  # None: imported
        self._splits: dict[str, Split] = {}

    @property
    def split_names(self) -> list[str]:
        return list(self.meta["splits"])

    @property
    def dt(self) -> float:
        return float(self.meta["dt"])

    @property
    def state_names(self) -> list[str]:
        return list(self.meta["state_names"])

    @property
    def state_kinds(self) -> list[str]:
        return list(self.meta["state_kinds"])

    @property
    def irregular_times(self) -> bool:
        """Whether the frames are unevenly spaced in time (their times are in each split's ``times``)."""
        return self.meta.get("time_grid") == "irregular"

    def __getitem__(self, name: str) -> Split:
        if name not in self.meta["splits"]:
            raise DatasetError(f"dataset {self.path} has no split {name!r}; it has {self.split_names}")
        if name not in self._splits:
            self._splits[name] = self._open(name)
        return self._splits[name]

    def _open(self, name: str) -> Split:
        info, m = self.meta["splits"][name], self.meta
        arrays = {
            k: _open_array(self.path, info["arrays"][k]) if k in info["arrays"] else None for k in ARRAYS
        }
        check_shapes(arrays, f"dataset {self.path}, split {name!r}")
        split = Split(
            name=name,
            **arrays,
            state_names=m["state_names"],
            state_units=m["state_units"],
            param_names=m["param_names"],
            input_names=m["input_names"],
            dt=float(m["dt"]),
            ood=bool(info.get("ood", False)),
            state_kinds=m["state_kinds"],
            param_units=m["param_units"],
            reference_names=m["reference_names"],
            reference_units=m["reference_units"],
            event_names=m.get("event_names", []),
        )
        if split.reference is None and split.reference_names:  # a schema 2 folder: computed from its params
            split.reference = self.config.build_system().reference_dynamics(np.asarray(split.params))
        return split


def _open_array(root: Path, entry: dict) -> np.ndarray:
    path = root / entry["file"]
    if not path.is_file():
        raise DatasetError(f"array file {path} is missing")
    try:
        arr = np.load(path, mmap_mode="r")
    except ValueError as e:
        raise DatasetError(f"array file {path} is truncated or corrupted: {e}") from e
    if list(arr.shape) != entry["shape"] or str(arr.dtype) != entry["dtype"]:
        raise DatasetError(
            f"array file {path} holds {arr.dtype}{list(arr.shape)}, meta.json expects {entry['dtype']}{entry['shape']}"
        )
    return arr


def load_dataset(path: str | Path, verify: bool = True) -> Dataset:
    """Open a dataset folder written by ``generate`` (or ``physvae import``).

    Args:
        path: the dataset folder.
        verify: check meta.json against its own checksum and every array's checksums against meta.json (reads
            each file once, in constant memory).

    Raises:
        DatasetError: missing folder or meta.json, another schema version, a missing, truncated or corrupted array.
    """
    root = Path(path)
    meta_path = root / "meta.json"
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    if not meta_path.is_file():
        raise DatasetError(f"{meta_path} is missing: {root} is not a complete dataset folder")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as e:
        raise DatasetError(f"{meta_path} is not valid JSON: {e}") from e
    version = meta.get("schema_version")
    if version == 2:
        meta = _upgrade_v2(meta)
    elif version != SCHEMA_VERSION:
        raise DatasetError(
            f"{meta_path} has schema_version {version!r}; this physvae reads versions 2 and {SCHEMA_VERSION}"
        )
    if verify:
        if version == SCHEMA_VERSION:  # schema 2 folders predate meta.json's own checksum
            verify_meta(meta, meta_path)
        verify_checksums(root, meta)
    return Dataset(root, meta)


def _upgrade_v2(meta: dict) -> dict:
    """Schema 2 -> 3 in memory: kinds, units and reference names from the config's system (imported data:
    every column a plain coordinate, no references). The files stay as they are."""
    system = DatasetConfig.from_dict(meta["config"]).build_system() if meta.get("config") else None
    n_states, n_params = len(meta["state_names"]), len(meta["param_names"])
    return {
        **meta,
        "state_kinds": system.state_kinds if system else ["coordinate"] * n_states,
        "param_units": system.param_units if system else [""] * n_params,
        "reference_names": list(system.reference_names) if system else [],
        "reference_units": list(system.reference_units) if system else [],
        "upgraded_from_schema": 2,
    }


def verify_checksums(root: Path, meta: dict) -> None:
    """Raise DatasetError naming the first array file whose bytes differ from its checksum in meta.json."""
    for split, info in meta["splits"].items():
        for name, entry in info["arrays"].items():
            path = root / entry["file"]
            if not path.is_file():
                raise DatasetError(f"array file {path} (split {split!r}, {name}) is missing")
            verify_file(path, entry["shape"], entry["dtype"], entry["checksum"])


def move_into_place(tmp: Path, out: Path) -> None:
    """Rename a finished temporary folder to ``out``, replacing an old one only after the new one is complete."""
    if out.exists():
        old = temporary_name(out, "old", f"-{uuid.uuid4().hex[:8]}")
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def array_entry(root: Path, split: str, name: str, shape, dtype, checksum: dict | None = None) -> dict:
    """meta.json's description of one array file; its checksum is computed from the file unless given."""
    path = root / split / f"{name}.npy"
    return {
        "file": f"{split}/{name}.npy",
        "shape": list(shape),
        "dtype": str(dtype),
        "checksum": checksum if checksum is not None else file_checksum(path, shape, dtype),
    }


@contextmanager
def atomic_folder(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary folder beside ``out``; on success rename it to ``out``, on any error remove it.

    A killed writer leaves only a ``.NAME.partial-*`` folder: nothing that looks like a complete dataset.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise DatasetError(
            f"output folder {out} already exists (pass overwrite=True / --overwrite to replace it)"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out.parent)
    tmp = temporary_name(out, "partial", f"-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        yield tmp
        move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_dataset(
    out: str | Path, splits: dict[str, dict[str, np.ndarray]], meta: dict, overwrite: bool = False
):
    """Write in-memory arrays as a dataset folder, atomically (hidden temporary folder, then a rename).

    Args:
        out: target folder.
        splits: {split: {"frames": (N, T, H, W, C) uint8, "states": (N, T, D), "params": (N, P), ...}}.
        meta: the rest of meta.json (schema_version and the per-split array entries are added here).
    """
    for split, arrays in splits.items():  # refused before anything is written
        check_shapes(arrays, f"writing {out}, split {split!r}")
    with atomic_folder(out, overwrite) as tmp:
        entries = {}
        for split, arrays in splits.items():
            (tmp / split).mkdir(parents=True)
            for name, arr in arrays.items():
                np.save(tmp / split / f"{name}.npy", arr)
            entries[split] = {
                "n": len(arrays["frames"]),
                "ood": False,
                "arrays": {k: array_entry(tmp, split, k, a.shape, a.dtype) for k, a in arrays.items()},
            }
        write_json_atomic(
            tmp / "meta.json", seal_meta({"schema_version": SCHEMA_VERSION, **meta, "splits": entries})
        )
    return Path(out)
