"""Run a suite: make (or reuse) the data, then train and evaluate every dataset × model × seed cell.

Layout of ``out``::

    work/data/<preset>-<hash>/        datasets, reused whenever the same config hash is asked for
    work/runs/<cell>/                 run folders (a killed cell resumes from its checkpoint)
    cells/<cell>.json                 one record per finished cell (skipped when the suite runs again)
    failed/<cell>.json                a cell whose last attempt failed: why, and the traceback (see failed.py)
    results.json, results.csv, results.md, comparison.png
    against.json, against.md          each variation against its plain dataset (datasets with ``against``)
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
import os
import platform
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import torch

import simulators
from simulators import ConfigError, DatasetConfig, DatasetError, watch_parent, write_json_atomic

from .. import __version__
from ..dataset_drop import drop_frames
from ..dataset_resize import resize_dataset
from ..devices import resolve_device
from ..evaluate import evaluate
from ..provenance import code_source, cpu_name
from ..run import saved_config
from ..train import fit
from .failed import attempt, failures_on_record, raise_if_failed
from .report import write_report
from .settings import describe, differing
from .suite import DatasetEntry, ModelEntry, Suite, load_suite


@dataclass(frozen=True)
class Cell:
    dataset: DatasetEntry
    model: ModelEntry
    seed: int

    @property
    def id(self) -> str:
        return f"{self.dataset.name}__{self.model.name}__s{self.seed}"

    def record_path(self, out: str | Path) -> Path:
        """Where a suite run into ``out`` keeps this cell's finished record (its presence marks the cell done)."""
        return Path(out) / "cells" / f"{self.id}.json"


def config_hash(cfg: DatasetConfig) -> str:
    return hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


def ensure_data(cfg: DatasetConfig, root: Path, jobs: int) -> Path:
    """Generate ``cfg`` under ``root`` unless a complete dataset of the same config hash is there."""
    path = root / f"{cfg.system}-{config_hash(cfg)}"
    try:
        simulators.load_dataset(path)
        return path
    except DatasetError:
        pass
    return simulators.generate(cfg, path, jobs=jobs, overwrite=path.exists())


def prepare_data(d: DatasetEntry, data_root: Path, jobs: int, log=print) -> tuple[str, str | None]:
    """Generate (or reuse) a suite dataset and, when it asks for ``eval_frames``, its long test set; with
    ``import_size`` both are then resized as the importer resizes a user's video, and with ``drop_frames`` both
    lose that share of their frames (times kept)."""
    data_root.mkdir(parents=True, exist_ok=True)
    main_dir = imported(ensure_data(d.dataset_config(), data_root, jobs), d)
    eval_dir = None
    if d.eval_frames:
        test_n = (d.splits or simulators.preset(d.preset).splits).get("test", 200)
        eval_dir = imported(
            ensure_data(d.dataset_config(d.eval_frames, {"test": test_n}, seed_offset=1000), data_root, jobs),
            d,
        )
    log(f"data {d.name}: {main_dir}" + (f" (long test set {eval_dir})" if eval_dir else ""))
    return str(main_dir), None if eval_dir is None else str(eval_dir)


def imported(path: Path, entry: DatasetEntry) -> Path:
    """``path`` as a user would import it: its frames resized to ``entry.import_size`` as the importer does (in
    ``path-to<size>``), then a share ``entry.drop_frames`` of them dropped (in ``...-drop<share>``); ``path``
    itself when neither is asked. Each folder is made once, then reused."""
    if entry.import_size:
        out = path.with_name(f"{path.name}-to{entry.import_size}")
        path = out if out.is_dir() else resize_dataset(path, out, entry.import_size)
    if entry.drop_frames:
        out = path.with_name(f"{path.name}-drop{entry.drop_frames:g}")
        path = out if out.is_dir() else drop_frames(path, out, entry.drop_frames)
    return path


# train fields that change no result: where the data lie, where and how fast it ran, how often it saved
UNSETTLING = ("data", "device", "threads", "checkpoint_every", "log_every")


def training_settings(cfg) -> dict:
    """What a cell was trained with: the run config's model and train tables, less the fields that name where
    and how fast it ran (``UNSETTLING``), so that two cells' settings compare equal when only their data differ;
    a field left to its transition ("auto") as the value it resolves to."""
    d = copy.deepcopy(cfg).resolve_auto().to_dict()  # "auto" as the number it trains with
    return {"model": d["model"], "train": {k: v for k, v in d["train"].items() if k not in UNSETTLING}}


def run_cell(
    suite: Suite, cell: Cell, data_dir: str, eval_dir: str | None, out: str, device: str, threads: int
) -> dict:
    """Train (or resume) and evaluate one cell; write and return its record."""
    if threads:
        torch.set_num_threads(threads)
    out_path = Path(out)
    source = code_source()  # the code of this process, taken before the cell's work starts
    run_dir = out_path / "work" / "runs" / cell.id
    cfg = suite.run_config(cell.model, data_dir, cell.seed, cell.dataset)
    cfg.train.device = device
    set_aside_if_changed(run_dir, cfg, out_path / "work" / "set_aside")
    if (run_dir / "model.pt").is_file():
        from ..run import Run

        run = Run(run_dir)
    else:
        run = fit(cfg, run_dir, resume=(run_dir / "config.toml").is_file(), progress=False)
    summary = run.summary()
    train_seconds = summary["train_seconds"]  # summed over the sessions of a resumed cell
    metrics = evaluate(
        run,
        data_dir,
        run_dir / "eval",
        cfg.eval,
        figures=cell.seed == suite.seeds[0],
        predict_data=eval_dir,
        device=str(resolve_device(device)),
    )
    record = {
        "suite": suite.name,
        "cell": cell.id,
        "dataset": cell.dataset.name,
        "preset": cell.dataset.preset,
        "model": cell.model.name,
        "transition": cell.model.transition,
        "seed": cell.seed,
        "train_seconds": train_seconds,
        "steps": cfg.train.steps,
        "device": str(resolve_device(device)),
        "settings": training_settings(cfg),
        "collapse": summary.get(
            "collapse", {}
        ),  # what training said (summary.json); at_end: collapsed at the end
        "versions": {
            "physvae": __version__,
            "source": source,  # the git commit of the code that evaluated, where it runs from a checkout
            "train_source": summary.get("source"),  # and of the code that trained (an older run's may differ)
            "torch": torch.__version__,
            # torch's CPU vector kernels (AVX2, AVX512, ...): CPU figures agree bit for bit only under the same set
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu": cpu_name(),
            "python": platform.python_version(),
        },
        "metrics": metrics,
    }
    write_json_atomic(cell.record_path(out_path), record)
    return record


def set_aside_if_changed(run_dir: Path, cfg, aside: Path) -> Path | None:
    """Move a cell's earlier run folder to ``aside/<cell>-N`` when it was started with other training settings than
    ``cfg`` (the suite changed after a killed or failed attempt), or with settings this physvae cannot read (a field
    since removed), so that the cell trains afresh rather than resuming the old settings; says so on stdout and
    returns where the folder went (None when nothing moved)."""
    if not (run_dir / "config.toml").is_file():
        return None
    try:
        old = saved_config(run_dir / "config.toml")  # a field added since read as the value it ran with
    except ConfigError as e:
        why = f"settings this physvae cannot read ({e})"
    else:
        diff = differing(training_settings(old), training_settings(cfg))
        if not diff:
            return None
        why = f"other settings ({describe(diff)})"
    aside.mkdir(parents=True, exist_ok=True)
    n = sum(1 for p in aside.iterdir() if p.name.startswith(f"{run_dir.name}-"))
    target = aside / f"{run_dir.name}-{n + 1}"
    run_dir.rename(target)
    print(
        f"warning: {run_dir.name}'s earlier run was started with {why}; moved to {target}, training afresh",
        flush=True,
    )
    return target


def run_suite(
    suite: Suite, out: str | Path, jobs: int = 1, device: str = "auto", log=print, cells: str | None = None
) -> list[dict]:
    """Run every unfinished cell of ``suite`` into ``out`` and write the report; returns the finished records.

    The cells spread over ``jobs`` processes, torch threads shared out between them; on a GPU those processes
    share the device (small models leave most of it idle, so a few at once raise throughput). ``cells`` is a
    glob on cell ids (``dataset__model__sSEED``), or several joined by commas, that limits which cells run; the
    report then covers every finished cell of the suite and names the ones not run.

    A cell that fails (training diverged, an error in it) does not stop the others: it is written to
    ``failed/<cell>.json``, named at the top of the report, and once the report is written ``CellsFailed`` is
    raised naming every failed cell (see ``failed.py``).
    """
    suite.validate()
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {device!r}")
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1 (worker processes), got {jobs}")
    out = Path(out)
    all_cells = suite_cells(suite)
    globs = None if cells is None else [g.strip() for g in cells.split(",")]
    for g in globs or []:
        if not any(fnmatch.fnmatchcase(c.id, g) for c in all_cells):
            raise ConfigError(
                f"--cells {g!r} matches no cell of suite {suite.name!r}; its cells: "
                + ", ".join(c.id for c in all_cells)
            )
    paths = {c.id: c.record_path(out) for c in all_cells}
    done = {i for i, p in paths.items() if p.is_file()}
    todo = [
        c
        for c in all_cells
        if c.id not in done and (globs is None or any(fnmatch.fnmatchcase(c.id, g) for g in globs))
    ]
    log(f"suite {suite.name}: {len(all_cells)} cells, {len(done)} already done, {len(todo)} to run")
    keep_suite_file(suite, out / "suite.toml")
    stale = stale_cells(suite, [c for c in all_cells if c.id in done], out)
    for cell_id, why in stale.items():
        log(f"warning: {why}; its record is kept and marked stale (delete {paths[cell_id]} to re-run it)")
    needed = [d for d in suite.datasets if any(c.dataset is d for c in todo)]
    dirs = {d.name: prepare_data(d, out / "work" / "data", jobs, log) for d in needed}
    if jobs <= 1:
        for c in todo:
            r = attempt(run_cell, c.id, out, suite, c, *dirs[c.dataset.name], str(out), device, 0)
            log(_outcome(c.id, r))
    else:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        with ProcessPoolExecutor(
            jobs, mp_context=get_context("spawn"), initializer=watch_parent, initargs=(os.getpid(),)
        ) as pool:
            futures = {
                pool.submit(
                    attempt, run_cell, c.id, out, suite, c, *dirs[c.dataset.name], str(out), device, threads
                ): c
                for c in todo
            }
            for f in as_completed(futures):
                log(_outcome(futures[f].id, f.result()))
    records, failed = report_suite(suite, out, all_cells, stale)
    raise_if_failed(failed, out)
    return records


def suite_cells(suite: Suite) -> list[Cell]:
    """Every dataset × model × seed cell of ``suite`` (a model only on the datasets it runs on)."""
    return [Cell(d, m, s) for d in suite.datasets for m in suite.models if m.runs_on(d) for s in suite.seeds]


def report_suite(
    suite: Suite, out: Path, cells: list[Cell] | None = None, stale: dict[str, str] | None = None
) -> tuple[list[dict], dict[str, str]]:
    """Write the report of the finished records of ``cells`` (default: all the suite's) under ``out``, naming the
    failed and missing ones; returns the records and the failed cells ({cell id: why}). ``stale``: {cell id:
    why} (default: worked out here)."""
    cells = suite_cells(suite) if cells is None else cells
    paths = {c.id: c.record_path(out) for c in cells}
    if stale is None:
        stale = stale_cells(suite, [c for c in cells if paths[c.id].is_file()], out)
    records = [json.loads(p.read_text()) for p in paths.values() if p.is_file()]
    failed = failures_on_record(out, [i for i, p in paths.items() if not p.is_file()])
    missing = [i for i, p in paths.items() if not p.is_file() and i not in failed]
    if records or failed:
        write_report(suite, records, out, missing, stale, failed)
    return records, failed


def _outcome(cell_id: str, result: dict) -> str:
    if result.get("failed"):
        return f"FAILED {cell_id}: {result['error']}"
    return f"done {cell_id} in {result['train_seconds']:.0f} s"


def keep_suite_file(suite: Suite, path: Path) -> None:
    """Leave the suite these records are run under beside them (``Suite.save``); a file already there that reads
    back as this suite (one written by hand, with its comments) is kept as it is."""
    try:
        if load_suite(path) == suite:
            return
    except ConfigError:
        pass  # none there, or one of an older form: written anew
    suite.save(path)


def stale_cells(suite: Suite, cells: list[Cell], out: Path) -> dict[str, str]:
    """{cell id: why} for finished cells whose record was trained with other settings than the suite gives that
    cell now (its model's ``set`` or the suite's tables changed since). A record without settings (older than
    physvae's settings field) cannot say and is not listed."""
    stale = {}
    for c in cells:
        trained = json.loads(c.record_path(out).read_text()).get("settings")
        if trained is None:
            continue
        diff = differing(trained, training_settings(suite.run_config(c.model, "", c.seed, c.dataset)))
        if diff:
            stale[c.id] = (
                f"{c.id} was trained with other settings than the suite now gives it ({describe(diff)})"
            )
    return stale
