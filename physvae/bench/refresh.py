"""Give finished cell records the trivial predictions' figures they predate, from their data alone.

A record evaluated before physvae scored the trivial predictions' VPT (``baselines.mean_frame.vpt_median``,
``hold_last.vpt_median`` and, on data that kept its frames before sensor noise, their ``vpt_clean_median``) lacks
what the comparison against a plain cell needs to tell a VPT that says something of the dynamics from one the
mean frame matches (a lit background). Those figures need the data and the protocol, not the model
(``evaluation.trivial``): the cell's dataset is generated again from the suite (the same config, so the same
frames, reused where the folder is there), scored under the protocol the record names (``metrics.protocol``), and
the missing fields are added to the record, which is rewritten atomically; nothing already in it changes.

The data are checked first: the trivial figures the record already holds (the mean frame's reconstruction and
prediction MSE, the held frame's prediction MSE) must come out the same from the regenerated data (relative
difference under ``AGREE``); a record whose data cannot be made again (the suite's dataset changed since) is left
as it was and named. Each refreshed record says so in ``baselines.refreshed``: the fields added and the code
(git commit) that added them.
"""

from __future__ import annotations

import json
from pathlib import Path

from simulators import ConfigError, from_dict, write_json_atomic

from ..evaluation.baselines import vpt_note
from ..evaluation.protocol import EvalConfig
from ..evaluation.trivial import trivial_for_data
from ..provenance import code_source

AGREE = 1e-5  # largest relative difference of a recorded trivial figure and the regenerated data's
CHECKED = (("mean_frame", "recon_mse"), ("mean_frame", "pred_mse"), ("hold_last", "pred_mse"))


def missing_fields(baselines: dict, trivial: dict) -> list[str]:
    """The trivial figures (``kind.field``) of ``trivial`` that the record's ``baselines`` section lacks."""
    return [f"{k}.{f}" for k, figs in trivial.items() for f in figs if f not in baselines.get(k, {})]


def disagreement(baselines: dict, trivial: dict) -> str | None:
    """What the record holds that the regenerated data do not give (None when every checked figure agrees)."""
    for kind, field in CHECKED:
        held, now = baselines.get(kind, {}).get(field), trivial[kind][field]
        if held is not None and not abs(held - now) <= AGREE * max(abs(held), 1e-12):
            return f"{kind}.{field} {held:.6g} on record, {now:.6g} from the data made again"
    return None


def refresh_record(record: dict, trivial: dict, source: str | None = None) -> list[str]:
    """Add to ``record`` (in place) the fields of ``trivial`` its baselines section lacks, the VPT note where the
    mean frame's VPT matches the model's, and ``baselines.refreshed``; returns the fields added (none: unchanged).
    Raises ValueError naming the figure where the record's own trivial figures disagree with ``trivial``."""
    base = record["metrics"]["baselines"]
    why = disagreement(base, trivial)
    if why:
        raise ValueError(f"{record['cell']}: not the data it was evaluated on ({why})")
    added = missing_fields(base, trivial)
    if not added:
        return []
    for name in added:
        kind, field = name.split(".")
        base.setdefault(kind, {})[field] = trivial[kind][field]
    prediction = record["metrics"].get("prediction")
    if prediction and "vpt_uninformative" not in base:
        note = vpt_note(prediction, base)
        if note:
            base["vpt_uninformative"] = note
    base["refreshed"] = {"fields": added, "source": source}
    return added


def refresh_suite(suite, out: str | Path, jobs: int = 1, log=print) -> dict[str, list[str]]:
    """Refresh every finished cell record under ``out/cells`` whose dataset ``suite`` defines (any model or seed:
    a folder run with other seeds than the suite's is refreshed too) and that lacks a trivial figure; the data
    are made (or reused) under ``out/work/data`` as a suite run makes them. Returns {cell id: fields added}; a
    record whose data disagree, or whose dataset the suite does not define, is named on ``log`` and left as it
    was. ConfigError where ``out`` holds no cell records."""
    from .runner import prepare_data

    out = Path(out)
    entries = {d.name: d for d in suite.datasets}
    paths = sorted((out / "cells").glob("*.json"))
    if not paths:
        raise ConfigError(
            f"no finished cell records in {out / 'cells'}: nothing to refresh (give --out the folder a run of "
            f"suite {suite.name!r} wrote, the one holding cells/)"
        )
    log(f"suite {suite.name}: {len(paths)} finished cells to check for trivial figures")
    dirs, scored, added, source = {}, {}, {}, code_source()
    for path in paths:
        record = json.loads(path.read_text())
        cell, entry = record["cell"], entries.get(record["dataset"])
        if entry is None:
            log(f"{cell}: suite {suite.name!r} has no dataset {record['dataset']!r}: left as it was")
            continue
        if "baselines" not in record["metrics"]:
            log(f"{cell}: no baselines section (evaluated by an older physvae): left as it was")
            continue
        if entry.name not in dirs:
            dirs[entry.name] = prepare_data(entry, out / "work" / "data", jobs, log)
        # the models of one dataset share its data and, but for the seed, their protocol: scored once per pair
        key = (entry.name, json.dumps(record["metrics"]["protocol"], sort_keys=True))
        if key not in scored:
            data_dir, eval_dir = dirs[entry.name]
            scored[key] = trivial_for_data(data_dir, _protocol(record), eval_dir)
        trivial = scored[key]
        try:
            fields = refresh_record(record, trivial, source)
        except ValueError as e:
            log(f"warning: {e}: left as it was")
            continue
        if fields:
            write_json_atomic(path, record)
            added[cell] = fields
        log(f"{cell}: " + (f"added {', '.join(fields)}" if fields else "had every trivial figure"))
    return added


def _protocol(record: dict) -> EvalConfig:
    """The EvalConfig a record was evaluated under (its ``metrics.protocol``)."""
    try:
        return from_dict(EvalConfig, record["metrics"]["protocol"])
    except ConfigError as e:
        raise ConfigError(f"{record['cell']}: its protocol cannot be read by this physvae ({e})") from e
