"""Turn a user's own video into a dataset folder that trains and evaluates like a simulated one.

Sources: a NumPy array (or .npy / .npz file) of frames (N, T, H, W[, C]); a folder holding one sub-folder of image
files per sequence; or a video file (one sequence), or a folder of video files (one sequence each). True states
are optional; without them the physics metrics are skipped with a note. The data can declare its physics as a
generated dataset does: each state column's kind (``simulators.STATE_KINDS``; default: a plain coordinate, probed
as it is) and units, per-sequence parameters with names, and control inputs (N, T, U), input t acting from frame t
to the next. Frames may come with their times (irregular spacing
is stored; continuous-time transitions follow it, discrete-time ones refuse it). Every input is checked before anything is written: a bad one is a
DatasetError or ConfigError naming the file or option; doubtful ones (a default Δt, states that fit the frames
better at another offset, 0/1 frames stored as uint8) are warnings.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from simulators import ConfigError, DatasetError, check_kinds, write_dataset

from .import_clip import clip_sequences, grouped_order
from .import_frames import (
    SQUARE,
    binarize,
    check_threshold,
    grey_if_equal,
    is_binary,
    make_square,
    resize,
    target_size,
    to_uint8,
)
from .import_lag import lag_warning
from .import_read import load_frames, playback_period, read_array
from .nets import SIZES


@dataclass
class ImportOptions:
    """How ``import_video`` turns a user's sequences into a dataset (the options of ``physvae import``)."""

    dt: float | None = None  # seconds between frames (None: from the times if given, else 1.0 with a warning)
    size: int | None = None  # frame side to resize to, one of nets.SIZES (None: the nearest)
    square: str | None = (
        None  # non-square frames: "crop" (central square) or "pad" (black borders); None: refuse
    )
    binarize: float | None = None  # threshold in (0, 1): after resizing, frames become exactly 0 or 1
    state_offset: int = 0  # frame t is paired with state t − state_offset (1: states saved after each step)
    test_fraction: float | None = (
        None  # share of sequences in "test" (None: 0.2; none with a separate test source)
    )
    val_fraction: float = 0.0  # share of sequences in a "val" split (0: no val split)
    seed: int | None = None  # shuffle the sequences with this seed before splitting (None: keep their order)
    clip: int | None = None  # cut every sequence into clips of this many frames (a long video into sequences)
    frames_key: str | None = None  # .npz array holding the frames (None: "frames")
    states_key: str | None = None  # .npz array holding the states (None: "states")
    times_key: str | None = None  # .npz array of the frame times, in --times or the frames (None: "times")
    inputs_key: str | None = None  # .npz array holding the inputs (None: "inputs")

    def validate(self) -> ImportOptions:
        if self.dt is not None and not (math.isfinite(self.dt) and self.dt > 0):
            raise ConfigError(f"--dt must be a finite number of seconds > 0, got {self.dt}")
        if self.size is not None and self.size not in SIZES:
            raise ConfigError(f"--size must be one of {SIZES}, got {self.size}")
        if self.square not in (None, *SQUARE):
            raise ConfigError(f"--square must be one of {SQUARE}, got {self.square!r}")
        check_threshold(self.binarize)
        if not isinstance(self.state_offset, int):
            raise ConfigError(f"--state-offset must be an integer, got {self.state_offset!r}")
        if self.test_fraction is not None and not 0 <= self.test_fraction < 1:
            raise ConfigError(f"--test-fraction must be in [0, 1), got {self.test_fraction}")
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"--val-fraction must be in [0, 1), got {self.val_fraction}")
        if self.clip is not None and not (isinstance(self.clip, int) and self.clip >= 2):
            raise ConfigError(f"--clip must be a whole number of frames ≥ 2, got {self.clip!r}")
        if self.seed is not None and not isinstance(self.seed, int):
            raise ConfigError(f"--seed must be an integer, got {self.seed!r}")
        return self


@dataclass
class Source:
    """One set of sequences: frames and optionally their states (N, T, D), parameters (N, P), times (N, T) or
    (T,), control inputs (N, T, U) and reference dynamics (N, R) or (R,), each an array or a file (see
    ``load_frames`` and ``import_read.read_array``)."""

    frames: Any
    states: Any = None
    params: Any = None
    times: Any = None
    inputs: Any = None
    # (N, R) or (R,) reference dynamics, e.g. ω₀ and γ per sequence (``REFERENCE_UNITS``)
    reference: Any = None


def _label(value, what: str) -> str:
    return f"{what} file {value}" if isinstance(value, (str, Path)) else f"{what} array"


def _numeric(value, what: str, key: str | None = None) -> np.ndarray:
    """An array given as such or as a file -> float64, refusing strings, ragged data, NaN and inf."""
    label = _label(value, what)
    if isinstance(value, (str, Path)):
        value = read_array(value, what, key)
    try:
        arr = np.asarray(value)
    except ValueError as e:  # nested lists of different lengths
        raise DatasetError(f"{label} is ragged (sequences of different lengths?): {e}") from e
    if arr.dtype.kind not in "biuf":
        raise DatasetError(f"{label} holds {arr.dtype} values (strings or objects); expected numbers")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DatasetError(f"{label} holds {int(bad.sum())} NaN or infinite values (first at index {first})")
    return arr


def _names(names, n: int, what: str, option: str) -> list[str]:
    """Column names: given ones checked (n of them, non-empty, distinct), or default0, default1, ..."""
    names = list(names or [f"{what[0]}{i}" for i in range(n)])
    if len(names) != n:
        raise DatasetError(f"{len(names)} {what} names for {n} {what} columns ({option})")
    if any(not x.strip() for x in names):
        raise ConfigError(f"{option} has an empty name: {names}")
    dup = next((x for i, x in enumerate(names) if x in names[:i]), None)
    if dup is not None:
        raise ConfigError(f"{option} names {dup!r} twice: {names}")
    return names


def _frames(src: Source, opts: ImportOptions, target: int | None, notes: list[str], role: str):
    """The source's frames as uint8 (N, T, S, S, C) at the target side (None: chosen from these frames)."""
    label = role + _label(src.frames, "frames")
    frames, more = to_uint8(load_frames(src.frames, opts.frames_key), label)
    notes += more
    frames = grey_if_equal(frames)
    was_binary = is_binary(frames)
    frames = make_square(frames, opts.square, label)
    side = frames.shape[2]
    target = target or target_size(side, opts.size)
    if side != target:
        notes.append(
            f"{label}: resizing {side}×{side} frames to {target}×{target} (the encoder supports {SIZES})"
        )
        frames = resize(frames, target)
    if opts.binarize is not None:
        frames = binarize(frames, opts.binarize)
    elif was_binary and not is_binary(frames):
        notes.append(
            f"{label}: the frames held only 0 and 1 but resizing gave {len(np.unique(frames))} grey levels, so the "
            "dataset is not binarized; pass --binarize 0.5 to keep them 0/1"
        )
    if frames.shape[1] < 2:
        raise DatasetError(f"{label}: {frames.shape[1]} frame per sequence; dynamics need at least 2")
    return frames


def _per_frame(value, what: str, key, n: int, t: int, role: str, width: bool) -> np.ndarray | None:
    """States or inputs (N, T, D) (``width``) or times (N, T) (also accepted as (T,)) matching the frames, or
    None."""
    if value is None:
        return None
    arr = _numeric(value, what, key)
    if not width and arr.ndim == 1 and len(arr) == t:
        arr = np.broadcast_to(arr, (n, t)).copy()
    want = f"(N, T, D) = ({n}, {t}, D)" if width else f"(N, T) = ({n}, {t}) or (T,) = ({t},)"
    if arr.ndim != (3 if width else 2) or arr.shape[:2] != (n, t):
        raise DatasetError(
            f"{role}{_label(value, what)}: {what} must have shape {want} to match the frames, got {arr.shape}"
        )
    return arr


def _times(value, n: int, t: int, role: str, key: str | None = None) -> np.ndarray | None:
    """Frame times (N, T), strictly increasing along each sequence (``key``: the .npz array holding them)."""
    arr = _per_frame(value, "times", key, n, t, role, width=False)
    if arr is not None and not (np.diff(arr, axis=1) > 0).all():
        i, j = (int(k) for k in np.argwhere(np.diff(arr, axis=1) <= 0)[0])
        raise DatasetError(
            f"{role}{_label(value, 'times')}: times must increase strictly along each sequence; sequence {i} "
            f"goes from {arr[i, j]} to {arr[i, j + 1]} at frame {j + 1}"
        )
    return arr


def _npz_times(frames, key: str | None = None) -> Any:
    """A frames .npz may carry the frame times as an array named "times", or ``key`` (then it must)."""
    if isinstance(frames, (str, Path)) and Path(frames).suffix == ".npz":
        return read_array(frames, "times", key, required=key is not None)
    if key is not None:
        raise ConfigError(
            f"--times-key {key!r} names an .npz array, but neither --times nor the frames are a .npz"
        )
    return None


def _load(src: Source, opts: ImportOptions, target: int | None, notes: list[str], role: str = "") -> dict:
    """Read and check one source -> {"frames", "states", "params", "times", "inputs"} (absent ones None), states
    paired with frames by ``opts.state_offset`` (times and inputs stay with their frames)."""
    frames = _frames(src, opts, target, notes, role)
    n, t = frames.shape[:2]
    seqs = {
        "frames": frames,
        "states": _per_frame(src.states, "states", opts.states_key, n, t, role, width=True),
        "params": None if src.params is None else _numeric(src.params, "params"),
        "times": _times(
            src.times if src.times is not None else _npz_times(src.frames, opts.times_key),
            n,
            t,
            role,
            opts.times_key,
        ),
        "inputs": _per_frame(src.inputs, "inputs", opts.inputs_key, n, t, role, width=True),
    }
    p = seqs["params"]
    if p is not None:
        seqs["params"] = p = p[:, None] if p.ndim == 1 else p
        if p.ndim != 2 or p.shape[0] != n:
            raise DatasetError(
                f"{role}{_label(src.params, 'params')}: params must have shape (N, P) = ({n}, P) to match the "
                f"frames, got {p.shape}"
            )
    seqs["reference"] = _reference(src.reference, n, role)
    seqs = _shift(seqs, opts.state_offset, role)
    return clip_sequences(seqs, opts.clip, role, notes) if opts.clip else seqs


# what a learned oscillation reports (``metrics.dynamics.oscillation``), so what a reference may name, and units
REFERENCE_UNITS = {"natural_frequency": "rad/s", "damping": "1/s", "frequency": "rad/s", "decay": "1/s"}


def _reference(value, n: int, role: str) -> np.ndarray | None:
    """Reference dynamics (N, R), given per sequence or once for all as (R,)."""
    if value is None:
        return None
    arr = _numeric(value, "reference")
    if arr.ndim == 1:
        arr = np.broadcast_to(arr, (n, len(arr))).copy()
    if arr.ndim != 2 or arr.shape[0] != n:
        raise DatasetError(
            f"{role}{_label(value, 'reference')}: reference dynamics must have shape (N, R) = ({n}, R) or (R,), "
            f"got {arr.shape}"
        )
    return arr


def _reference_columns(reference, names) -> dict:
    """meta.json's reference columns: names of ``REFERENCE_UNITS`` (default natural_frequency, damping)."""
    if reference is None:
        if names:
            raise ConfigError("--reference-names was given without reference dynamics (--reference FILE)")
        return {"reference_names": [], "reference_units": []}
    r = reference.shape[1]
    names = list(names or ["natural_frequency", "damping"][:r])
    unknown = [x for x in names if x not in REFERENCE_UNITS]
    if unknown:
        raise ConfigError(
            f"--reference-names: {unknown} is not what a learned oscillation reports; use {list(REFERENCE_UNITS)}"
        )
    names = _names(names, r, "reference", "--reference-names")
    return {"reference_names": names, "reference_units": [REFERENCE_UNITS[x] for x in names]}


def _shift(seqs: dict, k: int, role: str) -> dict:
    """Pair frame t with state t − k, trimming both so every kept frame has its state."""
    if k == 0 or seqs["states"] is None:
        if k:
            raise ConfigError("--state-offset needs --states")
        return seqs
    t = seqs["frames"].shape[1]
    if abs(k) > t - 2:
        raise ConfigError(f"--state-offset {k} leaves {role}sequences of {t} frames fewer than 2 frames")
    frame_part = slice(k, t) if k > 0 else slice(0, t + k)
    state_part = slice(0, t - k) if k > 0 else slice(-k, t)
    out = {**seqs, "frames": seqs["frames"][:, frame_part], "states": seqs["states"][:, state_part]}
    for key in ("times", "inputs"):  # they belong to the frames
        if seqs[key] is not None:
            out[key] = seqs[key][:, frame_part]
    return out


def _columns(states, names, kinds, units) -> dict:
    """meta.json's state columns for states (N, T, D) or None."""
    if states is None:
        for flag, given in (("names", names), ("kinds", kinds), ("units", units)):
            if given:
                raise ConfigError(f"--state-{flag} was given without states (--states FILE)")
        return {"state_names": [], "state_units": [], "state_kinds": []}
    d = states.shape[2]
    units = list(units or [""] * d)
    if len(units) != d:
        raise DatasetError(f"{len(units)} state units for {d} state columns (--state-units)")
    return {
        "state_names": _names(names, d, "state", "--state-names"),
        "state_units": units,
        "state_kinds": check_kinds(kinds or ["coordinate"] * d, d, "state kinds"),
    }


def _param_columns(params, names, units) -> dict:
    if params is None:
        if names or units:
            raise ConfigError("--param-names or --param-units was given without parameters (--params FILE)")
        return {"param_names": [], "param_units": []}
    p = params.shape[1]
    units = list(units or [""] * p)
    if len(units) != p:
        raise DatasetError(f"{len(units)} parameter units for {p} parameters (--param-units)")
    return {"param_names": _names(names, p, "parameter", "--param-names"), "param_units": units}


def _input_names(inputs, names) -> list[str]:
    if inputs is None:
        if names:
            raise ConfigError("--input-names was given without inputs (--inputs FILE)")
        return []
    return _names(
        names or [f"u{i}" for i in range(inputs.shape[2])], inputs.shape[2], "input", "--input-names"
    )


def _time_grid(
    dt: float | None, times: list[np.ndarray], notes: list[str], playback: float | None = None
) -> tuple[float, str]:
    """Δt and "uniform" or "irregular" from the option and the sources' times (N, T) each; ``playback``, the
    seconds per frame the video says it plays at, only named in the note (a player's rate is not the physics')."""
    if not times:
        if dt is None:
            plays = (
                f"; the video plays at {playback:g} s per frame: pass --dt {playback:g} if that is the time "
                "between the states it shows"
                if playback
                else ""
            )
            notes.append(
                "--dt not given: the frames are taken to be 1.0 s apart (dt = 1.0); pass --dt SECONDS, or --times"
                + plays
            )
        return 1.0 if dt is None else float(dt), "uniform"
    if dt is not None:
        raise ConfigError(f"give --dt or frame times (--times or a 'times' array), not both (--dt {dt})")
    steps = np.concatenate([np.diff(t, axis=1).ravel() for t in times])
    step = float(np.median(steps))
    return step, "uniform" if np.abs(steps - step).max() <= 1e-6 * step else "irregular"


def _splits(
    seqs: dict, test: dict | None, opts: ImportOptions, groups: np.ndarray | None = None
) -> dict[str, dict[str, np.ndarray]]:
    """train / val / test arrays: val and test taken from the end of the (shuffled) sequences unless a separate
    test source gives the test split. With ``groups`` (clips,) of ``--clip``, the seed shuffles the source
    sequences and each one's clips stay together, in time order, so a split boundary cuts at most one sequence."""
    n = len(seqs["frames"])
    if test is not None and opts.test_fraction:
        raise ConfigError("give --test-fraction or a separate test source (--test-frames), not both")
    test_fraction = 0.0 if test is not None else 0.2 if opts.test_fraction is None else opts.test_fraction
    if test is None and test_fraction == 0:
        raise ConfigError("--test-fraction 0 needs a separate test source (--test-frames)")
    counts = {
        "val": max(1, round(n * opts.val_fraction)) if opts.val_fraction else 0,
        "test": max(1, round(n * test_fraction)) if test_fraction else 0,
    }
    counts = {"train": n - sum(counts.values()), **counts}
    if counts["train"] < 1:
        names = ", ".join(k for k, v in counts.items() if v or k == "train")
        raise DatasetError(f"{n} sequence(s) cannot fill the {names} splits (at least one sequence each)")
    order = np.arange(n) if opts.seed is None else grouped_order(n, groups, opts.seed)
    out, start = {}, 0
    for name, count in counts.items():
        if count:
            rows = order[start : start + count]
            out[name] = {k: v[rows] for k, v in seqs.items() if v is not None}
            start += count
    if test is not None:
        out["test"] = {k: v for k, v in test.items() if v is not None}
    return out


def _filled(seqs: dict) -> dict:
    """Without states or parameters, empty arrays of them: every split has states (N, T, 0) and params (N, 0)."""
    n, t = seqs["frames"].shape[:2]
    empty = {"states": np.zeros((n, t, 0)), "params": np.zeros((n, 0))}
    return {k: empty[k] if v is None and k in empty else v for k, v in seqs.items()}


def _check_test(seqs: dict, test: dict) -> None:
    """The test source must carry what the main one does, with the same columns."""
    for what in ("states", "params", "times", "inputs", "reference"):
        a, b = seqs[what], test[what]
        if (a is None) != (b is None):
            raise ConfigError(
                f"the main source {'has' if a is not None else 'has no'} {what} but the test source "
                f"{'does' if b is not None else 'does not'} (--{what} / --test-{what})"
            )
        if a is not None and what != "times" and a.shape[-1] != b.shape[-1]:
            raise DatasetError(f"--test-{what} has {b.shape[-1]} columns, --{what} has {a.shape[-1]}")


def import_video(
    source,
    out,
    *,
    states=None,
    state_names=None,
    state_units=None,
    state_kinds=None,
    params=None,
    param_names=None,
    param_units=None,
    times=None,
    inputs=None,
    input_names=None,
    reference=None,
    reference_names=None,
    test: Source | None = None,
    options: ImportOptions | None = None,
    overwrite: bool = False,
    **option_values,
) -> Path:
    """Write a dataset folder from a user's frames.

    Args:
        source: frames (N, T, H, W[, C]) or where to read them (see ``load_frames``).
        out: dataset folder to write.
        states: optional true states (N, T, D) (array, .npy or .npz path).
        state_names: D names (default: s0, s1, ...); state_units: D units (default: "").
        state_kinds: D kinds of ``simulators.STATE_KINDS`` (default: "coordinate": probed as it is); an "angle"
            is probed through its sin and cos.
        params: optional per-sequence parameters (N, P) (array or .npy path); param_names / param_units: P each.
        times: optional frame times in seconds, (N, T) or (T,), strictly increasing (array or .npy path); a frames
            .npz may hold them as "times". Uneven times are stored (``Split.times``): continuous-time
            transitions integrate over them, discrete-time ones refuse them.
        inputs: optional control inputs (N, T, U) (array, .npy or .npz path), input t acting from frame t until
            the next frame (where frames were dropped, the input held over the longer interval); every model
            then takes them (``TemporalVAE`` input_dim U). input_names: U names (default: u0, u1, ...).
        reference: optional reference dynamics (N, R) per sequence, or (R,) for all (array or .npy path), in
            rad/s and 1/s: what ``evaluate``'s dynamics read-out compares the learned oscillation with.
            reference_names: R names of ``REFERENCE_UNITS`` (default: natural_frequency, damping — the ω₀ and γ of
            ẍ = −ω₀² x − γ ẋ).
        test: a separate source for the test split (then no test sequences are taken from ``source``).
        options: the ``ImportOptions``; any of its fields may also be given as a keyword (``dt=0.05``).
        overwrite: replace an existing folder.

    Raises:
        DatasetError, ConfigError: a bad input, naming the file or option; nothing is written then.
    """
    opts = replace(options or ImportOptions(), **option_values).validate()
    notes: list[str] = []
    seqs = _load(Source(source, states, params, times, inputs, reference), opts, None, notes)
    state_meta = _columns(seqs["states"], state_names, state_kinds, state_units)
    param_meta = _param_columns(seqs["params"], param_names, param_units)
    names_of_inputs = _input_names(seqs["inputs"], input_names)
    test_seqs = None
    if test is not None:
        test_seqs = _load(test, opts, seqs["frames"].shape[2], notes, role="test ")
        _check_test(seqs, test_seqs)
    all_times = [s["times"] for s in (seqs, test_seqs) if s is not None and s["times"] is not None]
    playback = playback_period(source) if opts.dt is None and not all_times else None
    dt, grid = _time_grid(opts.dt, all_times, notes, playback)
    if seqs["states"] is not None:
        note = lag_warning(
            seqs["frames"],
            seqs["states"],
            state_meta["state_names"],
            state_meta["state_kinds"],
            opts.state_offset,
            _label(states, "states"),
        )
        notes += [note] if note else []
    groups = seqs.pop("group", None)
    if test_seqs is not None:
        test_seqs.pop("group", None)
    arrays = _splits(_filled(seqs), test_seqs and _filled(test_seqs), opts, groups)
    frames = seqs["frames"]
    meta = {
        "system": "imported",
        "config": None,
        "seed": 0 if opts.seed is None else opts.seed,
        "dt": dt,
        "time_grid": grid,
        "n_frames": frames.shape[1],
        "frame_shape": list(frames.shape[2:]),
        "binarized": all(is_binary(a["frames"]) for a in arrays.values()),
        **state_meta,
        **param_meta,
        **_reference_columns(seqs["reference"], reference_names),
        "input_names": names_of_inputs,
        "source": _source_name(source),
        "test_source": None if test is None else _source_name(test.frames),
        "import": {
            "state_offset": opts.state_offset,
            "square": opts.square,
            "binarize": opts.binarize,
            "shuffle_seed": opts.seed,
            "clip": opts.clip,
        },
    }
    for note in notes:
        warnings.warn(note, stacklevel=2)
    return write_dataset(out, arrays, meta, overwrite=overwrite)


def _source_name(source) -> str:
    return str(source) if isinstance(source, (str, Path)) else "array"
