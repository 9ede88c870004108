"""How the step time of one training grows when k trainings share the device (what ``bench --jobs k`` buys).

    python -m benchmarks.bench_sharing [--transition neural_ode] [--steps 40] [--counts 1 4 12] [--device auto]

k copies of ``physvae train`` (dvbf_pendulum16, 256 training sequences, batch 32, default model, one CPU thread
each) start together; each one's seconds per step is its ``summary.json`` train_seconds over its steps (first
steps and their warm-up included). The total steps per second of the k trainings is what a suite of many cells
gains from running them at once: on a launch-bound GPU it saturates once the host feeds the device as fast as it
can, and from there each added training only slows the others.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .machine import markdown_table, run_main, write_result

PV = [sys.executable, "-c", "import sys; from physvae.cli import main; sys.exit(main())"]


def share(data: Path, work: Path, k: int, transition: str, steps: int, device: str) -> dict:
    """Run k trainings at once; their mean and worst seconds per step and their total steps per second."""
    procs = []
    for i in range(k):
        out = work / f"k{k}_{i}"
        cmd = [
            *PV,
            "train",
            "--data",
            str(data),
            "--out",
            str(out),
            "--quiet",
            f"--model.transition={transition}",
            f"--train.steps={steps}",
            f"--train.device={device}",
            "--train.threads=1",
            f"--train.checkpoint_every={steps}",
        ]
        procs.append(
            (out, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        )
    t0, secs = time.perf_counter(), []
    for out, p in procs:
        err = p.communicate()[1]
        if p.returncode:
            raise SystemExit(f"training {out.name} failed (exit {p.returncode}): {err[-2000:]}")
        secs.append(json.loads((out / "summary.json").read_text())["train_seconds"] / steps)
    return {
        "trainings": k,
        "s_per_step_mean": sum(secs) / k,
        "s_per_step_max": max(secs),
        "steps_per_s_total": sum(1 / s for s in secs),
        "wall_s": time.perf_counter() - t0,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--transition", default="neural_ode")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--counts", type=int, nargs="+", default=[1, 4, 12])
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = p.parse_args()
    if args.steps < 1 or min(args.counts) < 1:
        raise SystemExit("--steps and every --counts must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gen = [
            *PV,
            "generate",
            "--preset",
            "dvbf_pendulum16",
            "--out",
            str(work / "data"),
            "--train",
            "256",
            "--val",
            "16",
            "--test",
            "32",
            "--quiet",
            "--overwrite",
        ]
        subprocess.run(gen, check=True)
        rows = [share(work / "data", work, k, args.transition, args.steps, args.device) for k in args.counts]
    table = markdown_table(
        ["trainings at once", "s/step each (mean)", "s/step each (worst)", "steps/s in all", "wall s"],
        [
            [
                str(r["trainings"]),
                f"{r['s_per_step_mean']:.3f}",
                f"{r['s_per_step_max']:.3f}",
                f"{r['steps_per_s_total']:.1f}",
                f"{r['wall_s']:.0f}",
            ]
            for r in rows
        ],
    )
    command = " ".join(["python -m benchmarks.bench_sharing", *sys.argv[1:]])
    record = {
        "command": command,
        "transition": args.transition,
        "steps": args.steps,
        "device": args.device,
        "rows": rows,
    }
    write_result(f"sharing_{args.transition}", record, f"`{command}`\n\n{table}")
    print(table)


if __name__ == "__main__":
    run_main(main, "benchmarks.bench_sharing")
