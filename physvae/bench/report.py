"""Suite results as results.json, results.csv, results.md (mean ± spread over seeds, anchors beside) and a figure."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

import numpy as np

from simulators import write_json_atomic, write_text_atomic

from ..evaluation.sections import lookup
from ..viz.preview import figure, save_figure
from .against import comparisons, table
from .against_seeds import across_seeds, seeds_table
from .anchors import anchors
from .flatten import flatten


def _num(v: float) -> str:
    """Three decimals; four where a value is small (Hamming distances of a few thousandths)."""
    return f"{v:.4f}" if 0 < abs(v) < 0.1 else f"{v:.3f}"


def _cell(values: list[float]) -> str:
    if len(values) == 1:
        return _num(values[0])
    return f"{_num(float(np.mean(values)))} ± {_num(float(np.std(values)))}"


def _device(record: dict) -> str:
    """Where one record ran: "cuda", "cpu", or "cpu (CPU name, AVX512 kernels)" where the record knows them."""
    device, versions = record["device"], record.get("versions", {})
    if device == "cpu" and versions.get("cpu_capability"):
        device += f" ({versions.get('cpu') or 'CPU'}, {versions['cpu_capability']} kernels)"
    return device


def devices_line(records: list[dict]) -> str:
    """The machine the records ran on, or each machine with its models where they ran on several (a table
    made of cells trained on different days)."""
    by_device = defaultdict(list)
    for r in records:
        by_device[_device(r)].append(f"{r['model']} s{r['seed']}")
    if len(by_device) == 1:
        return next(iter(by_device))
    return "; ".join(f"{d} for {', '.join(dict.fromkeys(models))}" for d, models in by_device.items())


def tables(
    suite,
    records: list[dict],
    missing: list[str] = (),
    against: list[dict] | None = None,
    stale: dict[str, str] | None = None,
    failed: dict[str, str] | None = None,
    means: list[dict] | None = None,
) -> str:
    """Markdown: one table per dataset, one row per model (mean ± std over seeds), anchors in italics.

    ``missing`` names the suite's cells that have not run; a partial report says so at the top. ``against``:
    the rows of ``against.comparisons`` (computed here when not given). ``stale``: {cell id: why} for records
    trained otherwise than the suite now says; listed at the top. ``failed``: {cell id: why} for cells whose
    last attempt failed; listed first. ``means``: the rows of ``against_seeds.across_seeds`` (computed here when
    not given).
    """
    out = [f"# Suite `{suite.name}`", "", suite.description.strip(), ""]
    if failed:
        out += ["**Failed cells** (no record; running the suite again retries them):", ""]
        out += [f"- {cell_id}: {why}" for cell_id, why in failed.items()] + [""]
    if missing or failed:
        n = len(missing) + len(records) + len(failed or {})
        out += [
            f"**Partial: {len(records)} of {n} cells finished.**"
            + (" Not run: " + ", ".join(missing) + "." if missing else ""),
            "",
        ]
    if stale:
        out += ["**Stale records** (trained with other settings than this suite file now gives them):", ""]
        out += [f"- {why}" for why in stale.values()] + [""]
    by_data = defaultdict(list)
    for r in records:
        by_data[(r["dataset"], r["preset"])].append(r)
    for (dataset, preset), recs in by_data.items():
        rows = defaultdict(list)
        for r in recs:
            rows[r["model"]].append(flatten(r, suite.metrics))
        columns = list(dict.fromkeys(k for rs in rows.values() for row in rs for k in row))
        out += [
            f"## {dataset} (`{preset}`)",
            "",
            "| model | seeds | " + " | ".join(columns) + " |",
            "|---" * (len(columns) + 2) + "|",
        ]
        for model, rs in rows.items():
            cells = [
                _cell([row[c] for row in rs if c in row]) if any(c in row for row in rs) else ""
                for c in columns
            ]
            out.append(f"| {model} | {len(rs)} | " + " | ".join(cells) + " |")
        for label, values in anchors(preset):
            cells = [f"*{_num(values[c])}*" if c in values else "" for c in columns]
            out.append(f"| *{label}* | | " + " | ".join(cells) + " |")
        device = devices_line(recs)
        by_model = {r["model"]: r["steps"] for r in recs}
        steps = (
            f"{recs[0]['steps']} training steps per cell"
            if len(set(by_model.values())) == 1
            else "training steps: " + ", ".join(f"{m} {n}" for m, n in by_model.items())
        )
        out += ["", f"Device: {device}; {steps}.", ""]
    rows = comparisons(suite, records) if against is None else against
    if rows:
        out.append(table(suite, rows))
    means = across_seeds(suite, records) if means is None else means
    if means:
        out.append(seeds_table(suite, means))
    return "\n".join(out)


def comparison_figure(suite, records: list[dict], path: Path) -> Path:
    """Grouped bars of linear-probe R² per state variable, one panel per dataset."""
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    fig, axes = figure(1, len(datasets), (5.5 * len(datasets), 3.2))
    for ax, dataset in zip(axes[0], datasets):
        recs = [r for r in records if r["dataset"] == dataset]
        models = list(dict.fromkeys(r["model"] for r in recs))
        names = list(recs[0]["metrics"]["physics"].get("linear", {}).get("r2", {}))
        width = 0.8 / len(models)
        for i, m in enumerate(models):
            vals = [
                np.mean([r["metrics"]["physics"]["linear"]["r2"][n] for r in recs if r["model"] == m])
                for n in names
            ]
            ax.bar(np.arange(len(names)) + i * width, np.clip(vals, -0.1, 1), width, label=m)
        ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=30, fontsize=7)
        ax.set_ylim(-0.1, 1.05), ax.set_title(f"{dataset}: state R² (linear probe)", fontsize=9)
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def imputation_figure(records: list[dict], path: Path) -> Path:
    """Imputation error against the drop probability and against the gap length, one row of panels per dataset:
    each model's mean over seeds, and the published curves of the dataset's preset (``anchors.toml``) beside."""
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    fig, axes = figure(len(datasets), 2, (9.0, 3.2 * len(datasets)))
    for row, dataset in zip(axes, datasets):
        recs = [r for r in records if r["dataset"] == dataset]
        metric = recs[0]["metrics"].get("imputation", {}).get("metric", "")
        for ax, kind, label in zip(row, ("drop", "gap"), ("drop probability p", "gap length g")):
            for model in dict.fromkeys(r["model"] for r in recs):
                curves = [
                    r["metrics"].get("imputation", {}).get(kind, {}) for r in recs if r["model"] == model
                ]
                keys = sorted(curves[0], key=float)
                if keys:
                    ys = [np.mean([c[k] for c in curves if k in c]) for k in keys]
                    ax.plot([float(k) for k in keys], ys, marker="o", ms=3, label=model)
            for name, values in anchors(recs[0]["preset"]):
                pts = sorted(
                    (float(c.rsplit("_", 1)[1]), v)
                    for c, v in values.items()
                    if c.startswith(f"imputation_{metric}.{kind}_")
                )
                if pts:
                    ax.plot(*zip(*pts), ls="--", marker="x", color="k", alpha=0.6, label=name)
            for (name, value), style in zip(_trivial_baselines(recs, metric), (":", "-.", "--")):
                ax.axhline(value, ls=style, color="0.5", lw=1, label=f"{name} ({value:.4f})")
            ax.set_xlabel(label, fontsize=8), ax.set_ylabel(metric or "error", fontsize=8)
            ax.set_title(f"{dataset}: imputation, {kind}", fontsize=9), ax.legend(fontsize=6)
    return save_figure(fig, path)


def _trivial_baselines(records: list[dict], metric: str) -> list[tuple[str, float]]:
    """[(label, mean over records)] of the trivial imputations a model must beat: the mean frame, the always-lit
    pixels (binarized data; folded into the mean frame's label where they score the same) and KVAE's
    consecutive-frame baseline."""

    def mean(dotted: str) -> float | None:
        values = [v for r in records if isinstance(v := lookup(r["metrics"], dotted), (int, float))]
        return float(np.mean(values)) if values else None

    key = "recon_mse" if metric == "mse" else metric
    found = [
        ("mean frame", mean(f"baselines.mean_frame.{key}")),
        ("always-lit pixels", mean("baselines.always_lit.hamming") if metric == "hamming" else None),
        ("consecutive frames (KVAE)", mean(f"imputation.baseline_consecutive_{metric}")),
    ]
    out: list[tuple[str, float]] = []
    for name, value in found:
        if value is None:
            continue
        same = next((i for i, (_, v) in enumerate(out) if np.isclose(v, value)), None)
        if same is None:
            out.append((name, value))
        else:
            out[same] = (f"{out[same][0]} = {name}", value)
    return out


def write_report(
    suite,
    records: list[dict],
    out: Path,
    missing: list[str] = (),
    stale: dict[str, str] | None = None,
    failed: dict[str, str] | None = None,
) -> list[Path]:
    out = Path(out)
    write_json_atomic(out / "results.json", records)
    rows = [
        {
            "dataset": r["dataset"],
            "model": r["model"],
            "seed": r["seed"],
            "device": r["device"],
            "train_seconds": r["train_seconds"],
            **flatten(r, suite.metrics),
        }
        for r in records
    ]
    fields = list(dict.fromkeys(k for row in rows for k in row))
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(out / "results.csv", text.getvalue())
    judged, means = comparisons(suite, records), across_seeds(suite, records)
    write_text_atomic(out / "results.md", tables(suite, records, missing, judged, stale, failed, means))
    written = [
        out / "results.json",
        out / "results.csv",
        out / "results.md",
        comparison_figure(suite, records, out / "comparison.png"),
    ]
    if judged:  # also alone, short enough for a README
        written.append(write_json_atomic(out / "against.json", judged))
        text = table(suite, judged) + ("\n" + seeds_table(suite, means) if means else "")
        written.append(write_text_atomic(out / "against.md", text))
        if means:
            written.append(write_json_atomic(out / "against_seeds.json", means))
    if "imputation_curve" in suite.metrics:
        written.append(imputation_figure(records, out / "imputation.png"))
    return written
