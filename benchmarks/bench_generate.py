"""Generation throughput: frames per second end to end (simulate + render + write) and peak memory.

    python -m benchmarks.bench_generate [--jobs 2] [--scale 1.0]

Cases at 32×32 grayscale, 20 frames: the pendulum, one ball (KVAE box, binarized) and three balls. Each runs in
its own process at N and 4N sequences to show that memory stays flat as N grows. A naive reference (one
``solve_ivp`` per trajectory, every frame drawn on its own with every pixel evaluated) runs on a few sequences.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

import simulators as S
from simulators.pendulum import pendulum_states
from simulators.render import object_colors, render_dense

from .machine import markdown_table, run_json, run_main, write_result

CASES = {
    "pendulum": lambda: S.DatasetConfig(system="pendulum", n_frames=20, dt=0.1),
    "balls1": lambda: S.preset("kvae_box32"),
    "balls3": lambda: S.DatasetConfig(
        system="balls", params=S.BallsConfig(n_balls=3, init="uniform"), n_frames=20, dt=0.2
    ),
}
SIZES = {"pendulum": 40000, "balls1": 10000, "balls3": 8000}


def _config(case: str, n: int) -> S.DatasetConfig:
    cfg = CASES[case]()
    cfg.splits = {"train": n}
    return cfg


def measure(case: str, n: int, jobs: int) -> dict:
    """Generate n sequences into a temporary folder; frames per second and peak RSS (this process + workers)."""
    cfg = _config(case, n)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        S.generate(cfg, Path(tmp) / "d", jobs=jobs)
        seconds = time.perf_counter() - t0
    peak = max(resource.getrusage(r).ru_maxrss for r in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return {
        "case": case,
        "n": n,
        "frames": n * cfg.n_frames,
        "seconds": seconds,
        "fps": n * cfg.n_frames / seconds,
        "peak_rss_mib": peak / 1024,
    }


def naive(case: str, n: int = 40) -> dict:
    """Per-trajectory solve_ivp (pendulum) and per-frame dense drawing; not written to disk."""
    cfg = _config(case, n)
    system = cfg.build_system()
    rngs = [np.random.default_rng(i) for i in range(n)]
    t0 = time.perf_counter()
    if case == "pendulum":
        times = np.arange(cfg.n_frames) * cfg.dt
        rows = []
        for rng in rngs:
            p, y0, _ = system._sample(rng, cfg.n_frames)
            m, l, g, gamma = p
            sol = solve_ivp(
                lambda t, y, g=g, l=l, gamma=gamma: [y[1], -g / l * math.sin(y[0]) - gamma * y[1]],
                (0, times[-1]),
                y0,
                t_eval=times,
                rtol=1e-8,
                atol=1e-8,
            )
            rows.append((p, sol.y))
        params = np.stack([r[0] for r in rows])
        theta, omega = np.stack([r[1][0] for r in rows]), np.stack([r[1][1] for r in rows])
        traj = S.Trajectories(states=pendulum_states(theta, omega, params), params=params)
    else:
        traj = system.simulate(rngs, cfg.n_frames, cfg.dt)
    render_dense(system.scene(traj), object_colors(cfg.render, rngs, system.n_objects), cfg.render)
    seconds = time.perf_counter() - t0
    return {
        "case": case,
        "n": n,
        "frames": n * cfg.n_frames,
        "seconds": seconds,
        "fps": n * cfg.n_frames / seconds,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the sequence counts")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), int(args.one[2]))))
        return
    rows = []
    for case in CASES:
        n = max(10, int(SIZES[case] * args.scale))
        small, large = (
            run_json("benchmarks.bench_generate", "--one", case, str(k), str(args.jobs)) for k in (n, 4 * n)
        )
        ref = naive(case)
        rows.append(
            {
                "case": case,
                "jobs": args.jobs,
                "n": large["n"],
                "fps": large["fps"],
                "peak_rss_mib_n": small["peak_rss_mib"],
                "peak_rss_mib_4n": large["peak_rss_mib"],
                "naive_fps": ref["fps"],
                "speedup": large["fps"] / ref["fps"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    table = markdown_table(
        ["case", "jobs", "sequences", "frames/s", "naive frames/s", "speed-up", "peak MiB at N", "at 4N"],
        [
            [
                r["case"],
                str(r["jobs"]),
                str(r["n"]),
                f"{r['fps']:,.0f}",
                f"{r['naive_fps']:,.0f}",
                f"{r['speedup']:.0f}×",
                f"{r['peak_rss_mib_n']:.0f}",
                f"{r['peak_rss_mib_4n']:.0f}",
            ]
            for r in rows
        ],
    )
    print(table)
    paths = write_result("generate", {"command": "python -m benchmarks.bench_generate", "rows": rows}, table)
    print("wrote", *paths)


if __name__ == "__main__":
    run_main(main, "benchmarks.bench_generate")
