"""A pendulum video physvae did not make, imported and fitted as a user would: does it hold?

    OMP_NUM_THREADS=2 python -m benchmarks.outside_pendulum [--sequences 400] [--work bench_out/outside_pendulum]

The video is drawn here, by a renderer that shares nothing with ``simulators``: Pillow draws a damped pendulum
(θ̈ = −(g/l) sin θ − γ θ̇, γ = 0.25 1/s, l from 0.7 to 1.3 m per sequence, 50 frames Δt = 0.05 s, solved by
scipy's DOP853) at 160 px with a grey rod and an orange bob on a blue-grey gradient, brought to 40 px by Lanczos
resampling, and saves one animated GIF per sequence — as Pillow writes GIFs, a run of identical frames (a bob
resting at a turning point) is stored once. The states (θ, θ̇ and the energy per unit mass) are saved *after*
each step, as many simulators save them, the parameters as gravity, length, damping, and the reference ω₀ = √(g/l)
and γ per sequence.

It is imported with the options a user passes (``--state-offset 1``, ``--size 16``, ``--reference``; the
import's warnings are recorded: the GIF repair, and the alignment check run once more with the offset left at 0,
which must warn), then LocallyLinear and NeuralODE train with the default settings except ``train.window=15``
(at the importer's default 32 px, whole 49-frame sequences would take about 3.5 h per model on two cores) and
are evaluated by ``physvae evaluate``'s protocol. The table shows what a user reads: the linear probe's R², VPT
and the prediction MSE, each beside the mean frame's and the held last frame's, the position valid frames, the
frequency and damping of the dynamics at rest against the reference, and the pendulum parameters the predicted
frames' motion follows.
Results: benchmarks/results/outside_pendulum_<machine>.{json,md}; the data and runs stay in ``--work`` (a
rerun reuses finished runs).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy.integrate import solve_ivp

from physvae import RunConfig, fit
from physvae.evaluate import evaluate
from physvae.importer import import_video
from physvae.run import Run

from .machine import markdown_table, run_main, write_result

FRAMES, DT, SIDE, SUPER = 50, 0.05, 40, 4  # frames, s between them, px saved, supersampling
GAMMA, GRAVITY = 0.25, 9.81
MODELS = {"LocallyLinear": "locally_linear", "NeuralODE": "neural_ode"}


def simulate(n: int, seed: int) -> dict[str, np.ndarray]:
    """n damped pendulums: θ, θ̇ (n, FRAMES + 1) at t = 0, Δt, ..., and their lengths (n,)."""
    rng = np.random.default_rng(seed)
    length = rng.uniform(0.7, 1.3, n)
    y0 = np.concatenate([rng.uniform(-1.6, 1.6, n), rng.normal(0, 1.0, n)])

    def rhs(_, y):
        th, om = y[:n], y[n:]
        return np.concatenate([om, -(GRAVITY / length) * np.sin(th) - GAMMA * om])

    ts = DT * np.arange(FRAMES + 1)
    sol = solve_ivp(rhs, (0, ts[-1]), y0, t_eval=ts, rtol=1e-9, atol=1e-9, method="DOP853")
    return {"theta": sol.y[:n], "omega": sol.y[n:], "length": length}


def draw(theta: float, length: float, background: Image.Image) -> Image.Image:
    """One frame, SIDE × SIDE RGB: rod from a pivot at 30 % height, bob of radius 3.2 px."""
    im = background.copy()
    pen, big = ImageDraw.Draw(im), SIDE * SUPER
    px, py, r = big / 2, big * 0.3, big * 0.45 * length / 1.3
    bx, by = px + r * np.sin(theta), py + r * np.cos(theta)
    pen.line([(px, py), (bx, by)], fill=(60, 60, 60), width=SUPER)
    rad = 3.2 * SUPER
    pen.ellipse([bx - rad, by - rad, bx + rad, by + rad], fill=(230, 120, 30))
    return im.resize((SIDE, SIDE), Image.LANCZOS)


def render(folder: Path, n: int, seed: int) -> None:
    """GIFs, states saved after each step, parameters and reference dynamics under ``folder``."""
    sim = simulate(n, seed)
    yy, xx = np.mgrid[0 : SIDE * SUPER, 0 : SIDE * SUPER] / (SIDE * SUPER)
    grad = np.stack([0.35 + 0.3 * yy, 0.35 + 0.25 * yy, 0.45 + 0.1 * xx], -1) * 255
    background = Image.fromarray(grad.astype(np.uint8))
    (folder / "videos").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        imgs = [draw(sim["theta"][i, t], sim["length"][i], background) for t in range(FRAMES)]
        imgs[0].save(
            folder / "videos" / f"seq{i:04d}.gif", save_all=True, append_images=imgs[1:], duration=50
        )
    th, om, ln = sim["theta"][:, 1:], sim["omega"][:, 1:], sim["length"][:, None]
    energy = 0.5 * ln**2 * om**2 + GRAVITY * ln * (1 - np.cos(th))
    np.savez(folder / "truth.npz", x=np.stack([th, om, energy], -1))  # state t is the one after step t
    np.save(folder / "params.npy", np.stack([np.full(n, GRAVITY), sim["length"], np.full(n, GAMMA)], -1))
    np.save(folder / "reference.npy", np.stack([np.sqrt(GRAVITY / sim["length"]), np.full(n, GAMMA)], -1))


def import_as_a_user(src: Path, out: Path, state_offset: int) -> list[str]:
    """``physvae import`` of the rendered folder with a user's options; its warnings, in order."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import_video(
            src / "videos",
            out,
            states=src / "truth.npz",
            states_key="x",
            state_names=["theta", "omega", "energy"],
            state_kinds=["angle", "velocity", "energy"],
            state_units=["rad", "rad/s", "J/kg"],
            params=src / "params.npy",
            param_names=["gravity", "length", "damping"],
            param_units=["m/s²", "m", "1/s"],
            reference=src / "reference.npy",
            state_offset=state_offset,
            size=16,
            dt=DT,
            seed=0,
            val_fraction=0.1,
            overwrite=True,
        )
    return [str(w.message) for w in caught]


def train(data: Path, run_dir: Path, transition: str, threads: int) -> Run:
    """The default settings but a 15-frame window; a finished run is reused, a killed one resumed."""
    if (run_dir / "summary.json").exists():
        return Run(run_dir)
    cfg = RunConfig().with_overrides(
        [
            f'train.data="{data}"',
            f'model.transition="{transition}"',
            "train.window=15",
            f"train.threads={threads}",
        ]
    )
    return fit(cfg, run_dir, resume=(run_dir / "checkpoints" / "last.pt").exists(), progress=False)


def cell(m: dict) -> dict:
    """What the table shows from one metrics.json."""
    pred, base, dyn, traj = m["prediction"], m["baselines"], m["dynamics"], m["trajectories"]
    rec = dyn.get("recovered", {})
    return {
        "r2_linear": m["physics"]["linear"]["r2"],
        "vpt_median": pred["vpt_median"],
        "mean_frame_vpt": base["mean_frame"]["vpt_median"],
        "hold_last_vpt": base["hold_last"]["vpt_median"],
        "horizon": pred["horizon"],
        "pred_mse": pred["mse"],
        "mean_frame_mse": base["mean_frame"]["pred_mse"],
        "hold_last_mse": base["hold_last"]["pred_mse"],
        "beats_baselines": base["beats_all"],
        "position_valid_frames": m["physics"].get("position_valid_frames"),
        "at_rest": {k: rec[k] for k in ("natural_frequency", "damping") if k in rec},
        "trajectory": {
            "true": traj.get("true"),
            "predicted_frames": traj.get("predicted_frames", {}).get("params"),
            "observed": traj.get("observed", {}).get("params"),
        },
    }


def _f(x, digits=3) -> str:
    return "—" if x is None else f"{x:.{digits}g}"


def table(cells: dict[str, dict]) -> str:
    rows = []
    for name, c in cells.items():
        r2, rest, tr = c["r2_linear"], c["at_rest"], c["trajectory"]
        pf = tr["predicted_frames"] or {}
        rows.append(
            [
                name,
                " / ".join(f"{r2[k]:.3f}" for k in ("sin_theta", "cos_theta", "omega")),
                f"{c['vpt_median']:g} of {c['horizon']} ({c['mean_frame_vpt']:g}, {c['hold_last_vpt']:g})",
                f"{c['pred_mse']:.2g} ({c['mean_frame_mse']:.2g}, {c['hold_last_mse']:.2g})",
                _f(c["position_valid_frames"]),
                " / ".join(
                    f"{rest[k]['learned']:.3g} ({rest[k]['true']:.3g})"
                    for k in ("natural_frequency", "damping")
                    if k in rest
                ),
                " / ".join(f"{pf[k]:.3g} ({tr['true'][k]:.3g})" for k in ("g_over_l", "damping") if k in pf),
            ]
        )
    columns = [
        "model",
        "R² sin θ / cos θ / θ̇",
        "VPT (mean frame, held frame)",
        "pred MSE (mean frame, held frame)",
        "position valid frames",
        "at rest ω₀ / γ (reference)",
        "predicted frames' g/l / γ (truth)",
    ]
    return markdown_table(columns, rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sequences", type=int, default=400)
    p.add_argument("--work", default="bench_out/outside_pendulum", help="data and runs (kept; reused)")
    p.add_argument("--threads", type=int, default=2, help="torch threads per training")
    args = p.parse_args()
    work = Path(args.work)
    if not (work / "render" / "reference.npy").exists():
        render(work / "render", args.sequences, seed=7)
    unshifted = import_as_a_user(work / "render", work / "data_offset0", state_offset=0)
    notes = import_as_a_user(work / "render", work / "data", state_offset=1)
    record = {
        "sequences": args.sequences,
        "import_warnings": notes,
        "offset_0_warnings": [w for w in unshifted if "--state-offset" in w],
        "cells": {},
    }
    for name, transition in MODELS.items():
        run = train(work / "data", work / name, transition, args.threads)
        m = evaluate(run, out=work / name / "eval", figures=False)
        summary = json.loads((work / name / "summary.json").read_text())
        record["cells"][name] = {**cell(m), "train_seconds": summary["train_seconds"]}
        print(name, "done", flush=True)
    text = table(record["cells"])
    write_result("outside_pendulum", record, text)
    print("\n".join(record["import_warnings"] + record["offset_0_warnings"]))
    print(text)


if __name__ == "__main__":
    run_main(main, "benchmarks.outside_pendulum")
