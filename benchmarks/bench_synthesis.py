"""Controllable synthesis measured from rendered frames: requested against measured, on a short CPU training.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_synthesis [--steps 600] [--transition locally_linear]

Trains one model on the DVBF pendulum (16×16, 15-frame sequences, random torques; ``--train`` sequences) with
one CPU thread and the multi-step prediction term (5 context frames), then sweeps each quantity over 9 values
from its 5th to 95th training percentile in ``--sequences`` test sequences: the edit after 5 context frames,
``--horizon`` frames rolled out and decoded, the quantity measured from the frames by ``physvae.metrics.motion``
(the read-out's centroid, no model). Quantities: angle, angular velocity and energy through the linear probe;
with ``--transition physics`` also the angle and the stated g/l through the physical latent (g/l measured by fitting
the stated equation to the rendered angle over 30 rolled-out frames); ``--transition physics_render`` trains the
physics suite's PhysicsRender recipe instead and sweeps the energy and the angular velocity too. Writes each sweep's
synthesis.json/png/gif into ``--out``/<transition>/<quantity>_<via>/ and a table results.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import simulators as S
from physvae import RunConfig, fit, load
from physvae.synthesis import QUANTITIES, SynthesisConfig, synthesize, write_synthesis

from .machine import RESULTS, machine, markdown_table, run_main
from .recipes import PHYSICS_RENDER

PARAMETER_HORIZON = (
    30  # frames rolled out when a stated parameter is set (its controls: the sequence's, then 0)
)
SWEEPS = {
    "locally_linear": [("angle", "probe"), ("angular_velocity", "probe"), ("energy", "probe")],
    "physics": [
        ("angle", "probe"),
        ("angular_velocity", "probe"),
        ("angle", "latent"),
        ("g_over_l", "latent"),
    ],
    "physics_render": [
        ("angle", "probe"),
        ("angular_velocity", "probe"),
        ("energy", "probe"),
        ("angle", "latent"),
        ("angular_velocity", "latent"),
        ("g_over_l", "latent"),
    ],
}
# the model each --transition choice trains: (transition, overrides after train()'s); physics_render is the physics
# suite's PhysicsRender recipe (benchmarks/recipes.py) for the pendulum
RECIPES = {
    "locally_linear": ("locally_linear", []),
    "physics": ("physics", []),
    "physics_render": ("physics", [*PHYSICS_RENDER, "model.latent_dim=4"]),
}


def train(data: Path, recipe: str, steps: int, out: Path):
    transition, extra = RECIPES[recipe]
    overrides = [
        f"train.data={json.dumps(str(data))}",
        f"model.transition={transition}",
        f"train.steps={steps}",
        "train.threads=1",
        "train.predict_weight=1.0",
        "train.predict_context=5",
        "train.predict_context_max=0",
        f"train.checkpoint_every={steps}",
        *extra,
    ]
    return fit(RunConfig().with_overrides(overrides), out, progress=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--transition", default="locally_linear", choices=sorted(SWEEPS))
    ap.add_argument("--train", type=int, default=500)
    ap.add_argument("--sequences", type=int, default=16)
    ap.add_argument("--horizon", type=int, default=9)
    ap.add_argument("--work", default="/tmp/bench_synthesis")
    ap.add_argument("--out", default=str(RESULTS / "synthesis_cpu2"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    work = Path(args.work)
    cfg = S.preset("dvbf_pendulum16", splits={"train": args.train, "test": 100})
    data_dir = work / "data"
    if not (data_dir / "meta.json").is_file():
        S.generate(cfg, data_dir, overwrite=True)
    run_dir = work / args.transition
    run = (
        load(run_dir)
        if (run_dir / "model.pt").is_file()
        else train(data_dir, args.transition, args.steps, run_dir)
    )
    data = S.load_dataset(data_dir)
    out = Path(args.out) / args.transition
    rows = []
    for quantity, via in SWEEPS[args.transition]:
        horizon = args.horizon if quantity in QUANTITIES else PARAMETER_HORIZON  # a fit needs a longer path
        scfg = SynthesisConfig(quantity, via, n_sequences=args.sequences, horizon=horizon)
        result = synthesize(run.model, data, scfg)
        write_synthesis(result, out / f"{quantity}_{via}")
        s = result.summary
        rows.append(s)
        print(json.dumps({k: s[k] for k in ("quantity", "via", "pearson_r", "slope", "rmse")}), flush=True)
    head = ["quantity", "via", "sweep", "Pearson r", "slope", "RMS error", "sequences", "horizon"]
    body = [
        [
            s["quantity"],
            s["via"],
            f"{s['requested'][0]:.2f} … {s['requested'][-1]:.2f} {s['unit']}",
            f"{s['pearson_r']:.3f}",
            f"{s['slope']:.2f}",
            f"{s['rmse']:.3f}",
            str(s["sequences"]),
            str(s["horizon"]),
        ]
        for s in rows
    ]
    md = (
        f"`OMP_NUM_THREADS=1 python -m benchmarks.bench_synthesis --transition {args.transition} --steps "
        f"{args.steps}`: DVBF pendulum, {args.train} training sequences, {args.steps} steps, one CPU thread; "
        f"edits after 5 context frames, {args.horizon} frames rolled out, {args.sequences} test sequences.\n\n"
        f"{markdown_table(head, body)}\n"
    )
    S.write_text_atomic(out / "results.md", md)
    S.write_text_atomic(
        out / "results.json", json.dumps({"args": vars(args), "rows": rows, "machine": machine()})
    )
    print(md)


if __name__ == "__main__":
    run_main(main, "benchmarks.bench_synthesis")
