"""Generate a dataset folder: chunks simulated and rendered in worker processes, written atomically.

Determinism: trajectory i of split s draws from ``np.random.default_rng([seed, crc32(s), i])`` (physics first,
then its colours, then its sensor noise) and the
chunk layout depends only on the config, so the files are byte-identical whatever the number of workers.
Atomicity: everything is written into a hidden ``.NAME.partial-*`` folder beside the target, ``meta.json`` last,
then renamed into place; a killed generation never leaves a folder that looks complete.
"""

from __future__ import annotations

import math
import os
import shutil
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from .atomic import write_json_atomic
from .checksum import checksum_entry, digest, header_digest, row_bytes, seal_meta
from .dataset_config import DatasetConfig
from .errors import ConfigError
from .events import EVENT_NAMES
from .parallel import watch_parent
from .render import add_noise, object_colors, render, visibility_problems
from .storage import SCHEMA_VERSION, array_entry, atomic_folder
from .system import check_kinds

CHUNK_BYTES = 1 << 24  # frame bytes per chunk: bounds worker memory whatever N is
MAX_SEQUENCE_BYTES = 1 << 30  # one sequence is simulated and drawn in memory: refused above this
LARGE_SEQUENCE_BYTES = 100 << 20  # above this, generation warns with the sizes before writing
MAX_SUBSTEPS = 10_000  # solver steps per frame interval above which generation is refused (a huge dt)


def trajectory_rngs(seed: int, split: str, start: int, stop: int) -> list[np.random.Generator]:
    """Independent generators for trajectories start..stop-1 of a split."""
    code = zlib.crc32(split.encode())
    return [np.random.default_rng([seed, code, i]) for i in range(start, stop)]


def chunk_size(config: DatasetConfig) -> int:
    """Trajectories per chunk, from the config alone (never from the worker count)."""
    r = config.render
    per_traj = config.n_frames * r.size * r.size * r.channels
    return max(1, min(4096, CHUNK_BYTES // per_traj))


def make_chunk(config: DatasetConfig, split: str, start: int, stop: int) -> dict[str, np.ndarray]:
    """Simulate and draw trajectories start..stop-1 of one split.

    Returns:
        dict with frames (n, T, H, W, C) uint8 (and frames_clean, the same before sensor noise, when the config
        adds noise), states (n, T, D), params (n, P) and, if present, inputs (n, T, U),
        reference (n, R) and the event labels events (n, T), event_kind, event_frame, event_size (n,).
    """
    system = config.build_system(ood=split in config.ood_splits)
    rngs = trajectory_rngs(config.seed, split, start, stop)
    traj = system.simulate(rngs, config.n_frames, config.dt)
    colors = object_colors(config.render, rngs, system.n_objects)  # drawn after the physics, same streams
    frames = render(system.scene(traj), colors, config.render)
    clean = frames.copy() if config.render.noise > 0 else None  # add_noise draws in place
    out = {
        "frames": add_noise(frames, rngs, config.render.noise),  # drawn after the colours, same streams
        "states": traj.states,
        "params": traj.params,
    }
    if clean is not None:
        out["frames_clean"] = clean
    if traj.inputs is not None:
        out["inputs"] = traj.inputs
    if system.reference_names:
        out["reference"] = system.reference_dynamics(traj.params)
    if traj.events is not None:
        out.update(traj.events.arrays())
    return out


def _array_shapes(config: DatasetConfig, n: int) -> dict[str, tuple[tuple[int, ...], str]]:
    system = config.build_system()
    r, t = config.render, config.n_frames
    shapes = {
        "frames": ((n, t, r.size, r.size, r.channels), "uint8"),
        "states": ((n, t, len(system.state_names)), "float64"),
        "params": ((n, len(system.param_names)), "float64"),
    }
    if r.noise > 0:
        shapes["frames_clean"] = shapes["frames"]
    if system.input_names:
        shapes["inputs"] = ((n, t, len(system.input_names)), "float64")
    if system.reference_names:
        shapes["reference"] = ((n, len(system.reference_names)), "float64")
    if system.event_kinds:
        shapes.update(events=((n, t), "uint8"), event_kind=((n,), "uint8"), event_frame=((n,), "int64"))
        shapes["event_size"] = ((n,), "float64")
    return shapes


def generate(
    config: DatasetConfig,
    out: str | Path,
    *,
    jobs: int = 1,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Generate every split of ``config`` into the folder ``out``.

    Args:
        config: the dataset description (validated here).
        out: target folder; must not exist unless ``overwrite``.
        jobs: worker processes (1: in this process).
        overwrite: replace an existing folder (only once the new one is complete).
        progress: called with the number of trajectories finished after each chunk.

    Returns:
        The dataset folder.
    """
    config.validate()
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1 (worker processes), got {jobs}")
    check_cost(config, out)
    for problem in visibility_problems(_preview_scene(config), config.render.size):
        warnings.warn(f"{config.system}: {problem}; check the system's sizes and render.size", stacklevel=2)
    with atomic_folder(out, overwrite) as tmp:
        entries = _fill(config, tmp, jobs, progress)
        write_json_atomic(tmp / "meta.json", seal_meta(_meta(config, entries)))
    return Path(out)


def check_cost(config: DatasetConfig, out: str | Path) -> int:
    """Refuse, before anything is written, a dataset that cannot be made: too many solver steps per frame, one
    sequence too large for memory, or more bytes than the disk holds; warn when one sequence is large. Returns
    the dataset's size in bytes."""
    system = config.build_system()
    steps = system.substeps(config.dt)
    if steps > MAX_SUBSTEPS:
        raise ConfigError(
            f"dt={config.dt:g} asks for {steps:,} solver sub-steps per frame (at most {MAX_SUBSTEPS:,}); "
            f"lower dt or raise the {config.system} step size (max_step)"
        )
    sizes = {
        name: (math.prod(shape), np.dtype(dtype).itemsize)
        for name, (shape, dtype) in _array_shapes(config, 1).items()
    }
    per_sequence = sum(count * item for count, item in sizes.values())
    total = per_sequence * sum(config.splits.values())
    r = config.render
    what = f"one sequence of {config.n_frames:,} frames of {r.size}×{r.size}×{r.channels} takes {_size(per_sequence)}"
    if per_sequence > MAX_SEQUENCE_BYTES:
        raise ConfigError(
            f"n_frames / render.size: {what}, above the {_size(MAX_SEQUENCE_BYTES)} one worker can hold; use "
            "fewer frames or a smaller size"
        )
    free = shutil.disk_usage(_existing_parent(Path(out))).free
    if total > free:
        raise ConfigError(
            f"the dataset takes {_size(total)} ({what}) but {_existing_parent(Path(out))} has {_size(free)} free"
        )
    if per_sequence > LARGE_SEQUENCE_BYTES:
        warnings.warn(f"{what}; the dataset takes {_size(total)}", stacklevel=3)
    return total


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path if path.is_dir() else path.parent


def _size(n: int) -> str:
    """12345678 -> '11.8 MiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _preview_scene(config: DatasetConfig, n: int = 8, frames: int = 50):
    """The scene of the first few sequences (and frames) of the first split: what the frames will show (without
    anomaly events: a ball passing through a wall is meant to leave the view)."""
    split = next(iter(config.splits))
    system = config.build_system(ood=split in config.ood_splits)
    if system.event_kinds:
        system = type(system)(replace(system.config, events=replace(system.config.events, share=0.0)))
    rngs = trajectory_rngs(config.seed, split, 0, min(n, config.splits[split]))
    return system.scene(system.simulate(rngs, min(frames, config.n_frames), config.dt))


@dataclass(frozen=True)
class _ArrayFile:
    """An .npy file whose header is written and whose rows are written in blocks at their byte offsets, by any
    process (plain writes: the page cache, not a process, holds the data, so memory stays flat as N grows)."""

    path: Path
    shape: tuple[int, ...]
    dtype: str
    offset: int

    @classmethod
    def create(cls, path: Path, shape: tuple[int, ...], dtype: str) -> _ArrayFile:
        header = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        offset = header.offset
        del header
        return cls(path, shape, dtype, offset)

    def sync(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def write(self, start: int, rows: np.ndarray) -> str:
        """Write rows start.. at their offset; returns their digest (a block of the file's checksum)."""
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, memoryview(rows).cast("B"), self.offset + start * row_bytes(self.shape, self.dtype))
        finally:
            os.close(fd)
        return digest(rows)


def write_chunk(
    config: DatasetConfig, files: dict[str, _ArrayFile], split: str, start: int, stop: int
) -> dict[str, str]:
    """Make one chunk and write its rows into the split's files; returns each array's digest of those rows."""
    return {
        name: files[name].write(start, value)
        for name, value in make_chunk(config, split, start, stop).items()
    }


def _fill(config, tmp: Path, jobs: int, progress) -> dict[str, dict[str, dict]]:
    """Write every split's arrays; returns {split: {array: meta.json entry with its checksum}}."""
    files: dict[str, dict[str, _ArrayFile]] = {}
    tasks = []
    size = chunk_size(config)
    for split, n in config.splits.items():
        (tmp / split).mkdir()
        files[split] = {
            name: _ArrayFile.create(tmp / split / f"{name}.npy", shape, dtype)
            for name, (shape, dtype) in _array_shapes(config, n).items()
        }
        tasks += [(files[split], split, s, min(n, s + size)) for s in range(0, n, size)]
    blocks: dict[tuple[str, int], dict[str, str]] = {}  # (split, start) -> {array: digest}
    for (split, start, stop), digests in _run(config, tasks, jobs):
        blocks[split, start] = digests
        if progress:
            progress(stop - start)
    entries = {}
    for split, named in files.items():
        entries[split] = {}
        for name, f in named.items():
            f.sync()
            checksum = checksum_entry(
                size,
                header_digest(f.path, f.shape, f.dtype),
                [blocks[split, s][name] for s in range(0, f.shape[0], size)],
            )
            entries[split][name] = array_entry(tmp, split, name, f.shape, f.dtype, checksum)
    return entries


def _run(config, tasks, jobs: int) -> Iterator[tuple[tuple[str, int, int], dict[str, str]]]:
    """Yield ((split, start, stop), digests) per finished chunk; ``jobs`` > 1: in worker processes that write
    their own rows, at most 2 × jobs chunks in flight."""
    if jobs <= 1:
        for files, split, start, stop in tasks:
            yield (split, start, stop), write_chunk(config, files, split, start, stop)
        return
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=get_context("spawn"), initializer=watch_parent, initargs=(os.getpid(),)
    ) as pool:
        pending: dict[Future, tuple[str, int, int]] = {}
        queue = list(reversed(tasks))
        while queue or pending:
            while queue and len(pending) < 2 * jobs:
                files, split, start, stop = queue.pop()
                pending[pool.submit(write_chunk, config, files, split, start, stop)] = (split, start, stop)
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield pending.pop(fut), fut.result()


def _meta(config: DatasetConfig, entries: dict[str, dict[str, dict]]) -> dict:
    system = config.build_system()
    splits = {
        split: {"n": int(named["frames"]["shape"][0]), "ood": split in config.ood_splits, "arrays": named}
        for split, named in entries.items()
    }
    r = config.render
    return {
        "schema_version": SCHEMA_VERSION,
        "system": config.system,
        "config": config.to_dict(),
        "seed": config.seed,
        "dt": config.dt,
        "n_frames": config.n_frames,
        "frame_shape": [r.size, r.size, r.channels],
        "binarized": r.binarize,
        "state_names": system.state_names,
        "state_units": system.state_units,
        "state_kinds": check_kinds(system.state_kinds, len(system.state_names), f"system {config.system!r}"),
        "param_names": system.param_names,
        "param_units": system.param_units,
        "reference_names": list(system.reference_names),
        "reference_units": list(system.reference_units),
        "input_names": system.input_names,
        **(
            {"event_names": list(EVENT_NAMES), "event_kinds": system.event_kinds}
            if system.event_kinds
            else {}
        ),
        "splits": splits,
    }
