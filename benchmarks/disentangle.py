"""Content / motion split: train small models with a content latent and score the ``disentanglement`` section.

    OMP_NUM_THREADS=1 python -m benchmarks.disentangle [--steps 400] [--cells pendulum_colors balls_colors pendulum_colors_z4]

Each cell generates its data (30 frames, 800 train / 200 test sequences), trains a small model with
``model.content_dim`` = 8 on one CPU thread and evaluates it; the section's numbers (colour accuracy from z_c and
from z_t beside chance, size R², state R², the swap test) go to benchmarks/results/disentangle_<machine>/.
Short CPU runs: what they show is where a few hundred steps get, not what the model can reach.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

import simulators as S
from physvae import RunConfig, fit
from physvae.data import SequenceDataset
from physvae.evaluate import evaluate
from physvae.evaluation import EvalConfig
from physvae.evaluation.disentanglement import Look, poly_r2, read_truth
from simulators import write_text_atomic

from .machine import RESULTS, machine, machine_tag, markdown_table, run_main
from .recipes import PHYSICS_BOX, PHYSICS_RENDER

SPLITS = {"train": 800, "test": 200}
MODEL = [
    "model.latent_dim=8",
    "model.content_dim=8",
    "model.channels=16",
    "model.features=64",
    "model.rnn_hidden=64",
]


def balls_colors32() -> S.DatasetConfig:
    """One ball of radius U[2, 5] in a 32-unit box, one of the 6 palette colours per sequence, 32×32 RGB."""
    render = S.RenderConfig(size=32, channels=3, colors=list(S.PALETTE), random_colors=True)
    params = S.BallsConfig(n_balls=1, box=32.0, radius=(2.0, 5.0), speed=(5.0, 10.0), init="uniform")
    return S.DatasetConfig(system="balls", params=params, render=render, n_frames=30, dt=0.2, splits=SPLITS)


def pendulum_colors32() -> S.DatasetConfig:
    """The DM-colors pendulum (one of 6 hues, bob size from the mass) with 30-frame sequences."""
    return S.preset("dm_pendulum_colors32", n_frames=30, splits=SPLITS)


PREDICT = ["train.predict_weight=1", "train.predict_context=2", "train.predict_context_max=6"]
CELLS = {  # cell -> (its data, model overrides beside MODEL)
    "pendulum_colors": (pendulum_colors32, []),
    "balls_colors": (balls_colors32, []),
    # the same with the KL weight warmed up over the first 300 steps, as the box suites train
    "balls_colors_warm": (balls_colors32, ["train.kl_warmup=300"]),
    # the same with the multi-step prediction term the suites train with (contexts of 2 to 6 frames)
    "balls_colors_predict": (balls_colors32, PREDICT),
    # z_t the stated box's state (x, y, vx, vy: one ball, elastic walls), drawn by the render decoder, which
    # reads the ball's look from z_c: the recipe of "The box with its physics stated", with the prediction term
    "balls_colors_physics": (balls_colors32, [*PHYSICS_BOX, *PREDICT]),
    # the same with the ball's colour one linear read of z_c (the per-pixel colour above settled at the mean)
    "balls_colors_physics_flat": (balls_colors32, [*PHYSICS_BOX, *PREDICT, "model.render_color=extras"]),
    # the same with each keypoint also reading the colour under it (model.keypoint_colors): the colour reaches the
    # content encoder as linearly as the ball's position
    "balls_colors_physics_kpcolor": (balls_colors32, [*PHYSICS_BOX, *PREDICT, "model.keypoint_colors=true"]),
    # both: the colour reaches z_c through the keypoints and is drawn as one linear read of z_c
    "balls_colors_physics_kpflat": (
        balls_colors32,
        [*PHYSICS_BOX, *PREDICT, "model.keypoint_colors=true", "model.render_color=extras"],
    ),
    "pendulum_colors_z4": (pendulum_colors32, ["model.latent_dim=4"]),  # less room in z_t
    # z_t the stated pendulum's state alone (cos θ, sin θ, θ̇; physics transition), drawn by the render decoder,
    # which reads the bob's look from z_c; trained with the physics suite's prediction term
    "pendulum_colors_physics": (
        pendulum_colors32,
        [*PHYSICS_RENDER, "model.latent_dim=3"],
    ),
}


# the state a dynamic latent is meant to hold, per system: (columns, those that are angles, read as sin and cos)
TRUE_STATE = {"pendulum": (["theta", "omega"], ["theta"]), "balls": (["x0", "y0", "vx0", "vy0"], [])}


def size_from_true_state(data: Path) -> float:
    """The size's R² read by the section's cubic probe from the *true* state of each frame (``TRUE_STATE``): what
    z_t may carry of the size through the motion alone (a heavier bob answers a torque less), the reference for
    the cubic size R² from z_t."""
    ds = S.load_dataset(data)
    columns, angles = TRUE_STATE[ds.config.system]
    look = Look.of(ds.config.render)

    def features_and_size(split: str) -> tuple[np.ndarray, np.ndarray]:
        states = np.asarray(ds[split].states, dtype=np.float64)  # (N, T, S)
        names = ds.meta["state_names"]
        x = []
        for c in columns:
            col = states[..., names.index(c)]
            x += [np.sin(col), np.cos(col)] if c in angles else [col]
        frames = SequenceDataset(ds[split])
        size = np.concatenate(
            [
                read_truth(frames.batch(np.arange(i, min(i + 100, len(frames)))).frames, look)["size"]
                for i in range(0, len(frames), 100)
            ]
        )
        return np.stack(x, -1).reshape(-1, len(x)), np.repeat(size, states.shape[1])

    return poly_r2(*features_and_size("train"), *features_and_size("test"))


def run_cell(name: str, steps: int, work: Path) -> dict:
    make_data, extra = CELLS[name]
    data = S.generate(make_data(), work / name / "data", overwrite=True)
    cfg = RunConfig().with_overrides(
        [
            f"train.data={data}",
            f"train.steps={steps}",
            "train.batch_size=16",
            "train.window=16",
            "train.threads=1",
            "train.predict_weight=0",  # plain ELBO, as its committed results were trained
            f"train.log_every={max(1, steps // 10)}",
            f"train.checkpoint_every={steps}",
            *MODEL,
            *extra,
        ]
    )
    start = time.time()
    run = fit(cfg, work / name / "run", progress=False)
    seconds = time.time() - start
    protocol = EvalConfig(n_context=5, poly_probe=False, drop_probs=[0.5], gaps=[3])
    m = evaluate(run, out=work / name / "eval", cfg=protocol, figures=False)
    return {
        "cell": name,
        "steps": steps,
        "train_seconds": round(seconds, 1),
        "model": MODEL + extra,
        "disentanglement": m["disentanglement"],
        "reconstruction_mse": m["reconstruction"].get("mse"),
        "size_from_true_state": size_from_true_state(data) if "size" in m["disentanglement"] else None,
        # the trivial baselines beside it, and what training said of collapse
        "baselines": {k: m["baselines"][k] for k in ("mean_frame", "hold_last", "flags", "beats_all")},
        "collapse": run.summary().get("collapse", {}),
    }


def table(cells: list[dict]) -> str:
    cols = [
        "cell",
        "steps",
        "recon MSE (mean frame's)",
        "beats baselines",
        "collapsed",
        "colour acc z_c",
        "colour acc z_t",
        "chance",
    ]
    cols += ["size R² z_c", "size R² z_t", "size R² z_c (cubic)", "size R² z_t (cubic)", "true state (cubic)"]
    cols += [
        "state R² z_t",
        "state R² z_c",
        "swap colour = B",
        "swap colour = A",
        "own colour",
        "swap centroid px",
        "A–B px",
    ]
    rows = []
    for c in cells:
        d = c["disentanglement"]
        col, size, state, swap = d.get("color", {}), d.get("size", {}), d.get("state", {}), d["swap"]
        values = [
            col.get("from_content"),
            col.get("from_motion"),
            col.get("chance"),
            size.get("from_content"),
            size.get("from_motion"),
            size.get("from_content_poly"),  # None in records made before the cubic probe
            size.get("from_motion_poly"),
            c.get("size_from_true_state"),
            state.get("mean_from_motion"),
            state.get("mean_from_content"),
            swap.get("color_is_b"),
            swap.get("color_is_a"),
            swap.get("color_own"),  # the reconstructions' colour; None in records made before it
            swap.get("centroid_error_px"),
            swap.get("a_to_b_distance_px"),
        ]
        rows.append(
            [c["cell"], str(c["steps"]), *_against_baselines(c)]
            + ["–" if v is None else f"{v:.3f}" for v in values]
        )
    return markdown_table(cols, rows)


def _against_baselines(cell: dict) -> list[str]:
    """The reconstruction MSE beside the mean frame's, whether the model beats every trivial baseline (its
    prediction too; the record's ``baselines.flags`` say which it does not), and whether training ended collapsed
    ("–" where a record predates these fields)."""
    base = cell.get("baselines", {}).get("mean_frame", {}).get("recon_mse")
    recon = cell.get("reconstruction_mse")
    shown = "–" if recon is None else f"{recon:.4f}" + ("" if base is None else f" ({base:.4f})")
    at_end = cell.get("collapse", {}).get("at_end")
    beats = cell.get("baselines", {}).get("beats_all")
    return [
        shown,
        "–" if beats is None else f"{beats:g}",
        "–" if at_end is None else ("yes" if at_end else "no"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--cells", nargs="+", default=list(CELLS)[:2], choices=list(CELLS))
    ap.add_argument(
        "--work", help="keep each cell's data, run and evaluation here (default: a temporary folder)"
    )
    args = ap.parse_args()
    info = machine()
    out = RESULTS / f"disentangle_{machine_tag(info)}"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cells:
            cell = run_cell(name, args.steps, Path(args.work or tmp))
            write_text_atomic(out / f"{name}.json", json.dumps({**cell, "machine": info}, indent=2))
            print(json.dumps(cell["disentanglement"]), flush=True)
    cells = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]  # this run's and earlier ones
    write_text_atomic(out / "results.md", f"{table(cells)}\n\nMachine: {json.dumps(info)}\n")


if __name__ == "__main__":
    run_main(main, "benchmarks.disentangle")
