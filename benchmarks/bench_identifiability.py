"""How well can a pendulum's g/l be read from a context of frames at all? The ceiling for per-sequence parameters.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_identifiability [--sequences 100] [--contexts 20 40 60]

On the DM colours pendulum's physics (g ∈ [3, 4], l ∈ [0.5, 1], undamped, Δt 0.05; the physics suite's colours
data), the true angle of the first c frames plus N(0, σ²) noise is given to the shooting fit of the stated pendulum
(``physvae.physics.shooting``: initial angle and velocity and g/l fitted to the angles by Levenberg–Marquardt from
four starting g/l). No encoder: this is what any reader of c frames whose angle is right to σ could reach. Three
estimators: least squares with the damping known (0, the truth), least squares with the damping free (as the
physics transition learns it), and the posterior mode under the population's prior on log g/l (its mean and spread
from a separate training split; damping known). Trivial baseline: every sequence gets the population's mean g/l
(R² 0 by construction; its median error is shown). Results: benchmarks/results/identifiability_<machine>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

import simulators as S
from physvae.physics import PHYSICS
from physvae.physics.shooting import shooting_fit

from .machine import markdown_table, run_main, write_result

DT = 0.05  # s, the DM suite's frame interval
NOISES = (0.0, 0.01, 0.02, 0.05, 0.07)
STARTS = [[3.0, 0.1], [4.5, 0.1], [6.0, 0.1], [7.5, 0.1]]
ESTIMATORS = ("least squares, γ known", "least squares, γ free", "prior mode, γ known")


def colours_pendulum(root: Path, sequences: int, frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True angles (N, T) and g/l (N,) of the test split, and the training split's g/l (for the prior)."""
    cfg = S.preset("dm_pendulum_colors32", size=8, n_frames=frames, splits={"train": 500, "test": sequences})
    S.generate(cfg, root / "data", jobs=1)
    splits = S.load_dataset(root / "data")
    out = []
    for name in ("test", "train"):
        sp = splits[name]
        p = np.asarray(sp.params, dtype=np.float64)
        out.append((sp.states[..., sp.state_names.index("theta")], p[:, 2] / p[:, 1]))
    return out[0][0], out[0][1], out[1][1]


def estimate(angles: torch.Tensor, estimator: str, noise: float, prior: tuple) -> np.ndarray:
    """g/l (N,) fitted to angles (N, c)."""
    obs = torch.stack([angles, torch.zeros_like(angles)], -1)
    kw = {"fixed": {"damping": 0.0}} if "known" in estimator else {}
    if estimator.startswith("prior"):
        kw["prior"] = prior
    d1, d2 = (PHYSICS["pendulum"].difference(obs[:, i], obs[:, 0])[:, 0] for i in (1, 2))
    y0 = torch.stack([angles[:, 0], (4 * d1 - d2) / (2 * DT)], -1)  # ω0 from the first three angles
    fit = shooting_fit(
        PHYSICS["pendulum"], obs, torch.tensor([1.0, 0.0]), DT, STARTS, noise=max(noise, 1e-3), y0=y0, **kw
    )
    return fit.params[:, 0].numpy()


def score(est: np.ndarray, truth: np.ndarray) -> dict:
    err = np.abs(est - truth) / truth
    r2 = 1 - np.sum((est - truth) ** 2) / np.sum((truth - truth.mean()) ** 2)
    return {"r2": float(r2), "median_error": float(np.median(err)), "p90_error": float(np.quantile(err, 0.9))}


def _r2(r2: float) -> str:
    """R² as shown: below −10 (a few sequences' fits far off dominate it) as "< −10"; the record keeps the value."""
    return f"{r2:.3f}" if r2 > -10 else "< −10"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=100)
    ap.add_argument("--contexts", type=int, nargs="+", default=[20, 40, 60])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        theta, gl, gl_train = colours_pendulum(Path(tmp), args.sequences, max(args.contexts))
    log_gl = np.log(gl_train)
    prior = ([float(log_gl.mean()), 0.0], [float(log_gl.std()), 1.0])  # damping's entry unused (held)
    baseline = score(np.full_like(gl, gl_train.mean()), gl)
    rows = []
    for c in args.contexts:
        clean = torch.tensor(theta[:, :c], dtype=torch.float64)
        for noise in NOISES:
            angles = clean + noise * torch.randn_like(clean)
            for estimator in ESTIMATORS:
                row = {"context": c, "noise_rad": noise, "estimator": estimator}
                row.update(score(estimate(angles, estimator, noise, prior), gl))
                rows.append(row)
                print(json.dumps(row), flush=True)
    cols = ["context frames", "angle noise (rad)", "estimator", "g/l R²", "median error", "90 % error"]
    body = [
        [
            str(r["context"]),
            f"{r['noise_rad']:g}",
            r["estimator"],
            _r2(r["r2"]),
            f"{r['median_error']:.3f}",
            f"{r['p90_error']:.3f}",
        ]
        for r in rows
    ]
    body.append(
        [
            "any",
            "any",
            "population mean (trivial)",
            "0",
            f"{baseline['median_error']:.3f}",
            f"{baseline['p90_error']:.3f}",
        ]
    )
    command = "OMP_NUM_THREADS=1 python -m benchmarks.bench_identifiability " + " ".join(
        [f"--sequences {args.sequences}", "--contexts", *map(str, args.contexts), f"--seed {args.seed}"]
    )
    table = markdown_table(cols, body) + f"\n\nCommand: `{command}`"
    record = {"command": command, "args": vars(args), "rows": rows, "baseline_population_mean": baseline}
    paths = write_result("identifiability", record, table)
    print(table)
    print("wrote", *paths)


if __name__ == "__main__":
    run_main(main, "benchmarks.bench_identifiability")
