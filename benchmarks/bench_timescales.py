"""Two time scales: the hierarchical transition against the flat locally linear one at equal latent size, on a
pendulum whose gravity drifts within each sequence.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_timescales [--steps 300] [--seeds 0 1]

For each model and seed: train on 16×16 frames of 40 frames each (gravity g₀ ~ U(8, 12) m/s² moving linearly to
g₀·f, f ~ U(0.5, 1.5), saved per frame as the state column ``g``), then on the test split read g from the
posterior means (linear least squares fit on the training split: ``physvae.evaluation.timescales``) from the
slow, fast and all latent dimensions, and predict 30 frames after a 10-frame context. Trivial baselines: reading
each sequence's mean g exactly (and nothing of its drift), reading the frame index alone (the average drift),
and drawing the mean training frame.
Results go to benchmarks/results/timescales_<machine>/ (results.json, results.md).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import simulators as S
from physvae import EvalConfig, RunConfig, fit
from physvae.evaluation.context import EvalContext
from physvae.evaluation.timescales import long_horizon, parameter_r2, varying_parameters
from simulators import write_text_atomic

from .machine import RESULTS, machine, machine_tag, markdown_table

LATENT_DIM = 8
MODELS = {  # name -> RunConfig overrides; both have latent_dim = LATENT_DIM
    "hierarchical": ["model.transition=hierarchical", "model.hierarchical.slow_dim=2"],
    "hierarchical_step": [
        "model.transition=hierarchical",
        "model.hierarchical.slow_dim=2",
        "model.hierarchical.slow_mode=step",
    ],
    "locally_linear": ["model.transition=locally_linear"],
}
SMALL = ["model.channels=16", "model.features=64", "model.rnn_hidden=64", "train.batch_size=16"]


def drifting_pendulum(root: Path, sequences: int) -> Path:
    """The dataset: 16×16 frames, 40 per sequence, Δt 0.1 s, gravity drifting (see the module docstring)."""
    params = S.PendulumConfig(gravity=(8.0, 12.0), drift="gravity", drift_factor=(0.5, 1.5), bob_radius=0.3)
    cfg = S.DatasetConfig(
        system="pendulum",
        params=params,
        render=S.RenderConfig(size=16),
        n_frames=40,
        dt=0.1,
        splits={"train": sequences, "test": 200},
    )
    return S.generate(cfg, root / "drift")


def train_and_score(data: Path, name: str, steps: int, seed: int, out: Path, eval_cfg: EvalConfig) -> dict:
    """Train one model and score the read-out of g and long-horizon prediction; one row of the results."""
    cfg = RunConfig().with_overrides(
        [
            *MODELS[name],
            *SMALL,
            f"model.latent_dim={LATENT_DIM}",
            f"train.data={data}",
            f"train.steps={steps}",
        ]
        + [f"train.seed={seed}", "train.threads=1", "train.kl_warmup=100", "train.device=cpu"]
    )
    t0 = time.perf_counter()
    run = fit(cfg, out / f"{name}_{seed}", progress=False)
    train_s = time.perf_counter() - t0
    ctx = EvalContext(run.model.eval(), S.load_dataset(data), eval_cfg)
    names = ctx.test.state_names
    cols = varying_parameters(names, ctx.test_latents.states)
    dims = ctx.test_latents.z.shape[-1]
    slow = list(run.model.transition.slow_dims)
    groups = {"all": list(range(dims))}
    if slow:
        groups.update(slow=slow, fast=[d for d in range(dims) if d not in slow])
    lat_tr, lat_te = ctx.train_latents, ctx.test_latents
    readout = parameter_r2(
        lat_tr.z,
        lat_tr.states[..., cols],
        lat_te.z,
        lat_te.states[..., cols],
        [names[i] for i in cols],
        groups,
    )
    return {"model": name, "seed": seed, "steps": steps, "train_s": train_s, **readout, **_prediction(ctx)}


def _prediction(ctx) -> dict:
    p = ctx.predictions
    return {"pred_mse": float(p.scores[..., 0].mean()), "long_horizon": long_horizon(ctx)}


def _cell(row: dict, group: str, key: str = "r2") -> str:
    return f"{row[key][group]['g']:.3f}" if group in row[key] else "–"


def table(rows: list[dict]) -> str:
    cols = ["model", "seed", "R² g slow", "R² g fast", "R² g all", "R² within slow", "R² within all"]
    cols += ["pred MSE", "MSE 2nd half", "VPT", "train s"]
    body = [
        [r["model"], str(r["seed"]), _cell(r, "slow"), _cell(r, "fast"), _cell(r, "all")]
        + [_cell(r, "slow", "r2_within"), _cell(r, "all", "r2_within")]
        + [
            f"{r['pred_mse']:.4f}",
            f"{r['long_horizon']['mse']:.4f}",
            f"{r['long_horizon']['vpt_median']:.0f}",
        ]
        + [f"{r['train_s']:.0f}"]
        for r in rows
    ]
    base, time = rows[0], rows[0]["time_baseline"]
    seq_mean, frame = (
        f"{base['sequence_mean_baseline']['g']:.3f}",
        f"{base['long_horizon']['mean_frame_mse']:.4f}",
    )
    body += [  # trivial baselines, in the columns they fill
        ["baseline: each sequence's mean g", "–", "–", "–", seq_mean, "–", "0", "–", "–", "–", "–"],
        [
            "baseline: frame index",
            "–",
            "–",
            "–",
            f"{time['r2']['g']:.3f}",
            "–",
            f"{time['r2_within']['g']:.3f}",
        ]
        + ["–"] * 4,
        ["baseline: mean training frame", "–", "–", "–", "–", "–", "–", "–", frame, "–", "–"],
    ]
    return markdown_table(cols, body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--sequences", type=int, default=400, help="training sequences")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = ap.parse_args()
    eval_cfg = EvalConfig(n_context=10, horizon=30, poly_probe=False)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = drifting_pendulum(Path(tmp), args.sequences)
        for seed in args.seeds:
            for name in args.models:
                rows.append(train_and_score(data, name, args.steps, seed, Path(tmp), eval_cfg))
                print(json.dumps(rows[-1]), flush=True)
    md = table(rows)
    print(md)
    info = machine()
    out = RESULTS / f"timescales_{machine_tag(info)}"
    out.mkdir(parents=True, exist_ok=True)
    command = "OMP_NUM_THREADS=1 python -m benchmarks.bench_timescales " + " ".join(
        [f"--steps {args.steps}", "--seeds", *map(str, args.seeds), f"--sequences {args.sequences}"]
    )
    record = {"command": command, "args": vars(args), "rows": rows, "machine": info}
    write_text_atomic(out / "results.json", json.dumps(record, indent=2))
    write_text_atomic(out / "results.md", f"{md}\n\nCommand: `{command}`\n\nMachine: {json.dumps(info)}\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
