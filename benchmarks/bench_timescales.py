"""Two time scales: the hierarchical transition against the flat locally linear one at equal latent size, on a
pendulum whose gravity (or length) drifts within each sequence.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_timescales [--drift gravity|length] [--steps 800] [--seeds 0 1]

For each model and seed: train (20-frame windows, the multi-step prediction term) on 16×16 frames, 40 per
sequence (gravity g₀ ~ U(8, 12) m/s² moving linearly to g₀·f, f ~ U(0.5, 1.5), saved per frame as the state
column ``g``; with ``--drift length`` the length, l₀ ~ U(0.6, 1.2) m, column ``l``), then on the test split read
the parameter from the posterior means (linear least squares fit on the training split:
``physvae.evaluation.timescales``) from the slow, fast and all latent dimensions, and predict 30 frames after a
10-frame context. Trivial baselines: reading each sequence's mean parameter exactly (and nothing of its drift),
reading the frame index alone (the average drift), and drawing the mean training frame.
Results go to benchmarks/results/timescales_<machine>/ (<drift>.json, <drift>.md).
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
TRAIN = [  # 20-frame windows; the multi-step prediction term, as the quick suite's pendulum trains
    "train.window=20",
    "train.predict_weight=1.0",
    "train.predict_context=5",
    "train.predict_context_max=0",
    "train.kl_warmup=100",
    "train.threads=1",
    "train.device=cpu",
]


DRIFTS = {  # --drift -> (pendulum parameters, the state column that holds the drifting parameter)
    "gravity": (dict(gravity=(8.0, 12.0), drift="gravity"), "g"),
    "length": (dict(length=(0.6, 1.2), drift="length"), "l"),
}


def drifting_pendulum(root: Path, drift: str, sequences: int) -> Path:
    """The dataset: 16×16 frames, 40 per sequence, Δt 0.1 s, gravity or length drifting by f ~ U(0.5, 1.5)."""
    params = S.PendulumConfig(**DRIFTS[drift][0], drift_factor=(0.5, 1.5), bob_radius=0.3)
    cfg = S.DatasetConfig(
        system="pendulum",
        params=params,
        render=S.RenderConfig(size=16),
        n_frames=40,
        dt=0.1,
        splits={"train": sequences, "test": 200},
    )
    return S.generate(cfg, root / drift)


def train_and_score(data: Path, name: str, steps: int, seed: int, out: Path, eval_cfg: EvalConfig) -> dict:
    """Train one model and score the read-out of the parameter and long-horizon prediction; one row."""
    cfg = RunConfig().with_overrides(
        [
            *MODELS[name],
            *SMALL,
            f"model.latent_dim={LATENT_DIM}",
            f"train.data={data}",
            f"train.steps={steps}",
        ]
        + [f"train.seed={seed}", *TRAIN]
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


def table(rows: list[dict], p: str) -> str:
    """Markdown: one row per trained model, then the trivial baselines in the columns they fill."""
    cols = ["model", "seed", f"R² {p} slow", f"R² {p} fast", f"R² {p} all", "R² within slow", "R² within all"]
    cols += ["pred MSE", "MSE 2nd half", "VPT", "train s"]

    def cell(row: dict, group: str, key: str = "r2") -> str:
        return f"{row[key][group][p]:.3f}" if group in row[key] else "–"

    body = [
        [r["model"], str(r["seed"]), cell(r, "slow"), cell(r, "fast"), cell(r, "all")]
        + [cell(r, "slow", "r2_within"), cell(r, "all", "r2_within"), f"{r['pred_mse']:.4f}"]
        + [f"{r['long_horizon']['mse']:.4f}", f"{r['long_horizon']['vpt_median']:.0f}", f"{r['train_s']:.0f}"]
        for r in rows
    ]
    base, time, dash = rows[0], rows[0]["time_baseline"], ["–"] * 4
    seq_mean = f"{base['sequence_mean_baseline'][p]:.3f}"
    body += [
        [f"baseline: each sequence's mean {p}", "–", "–", "–", seq_mean, "–", "0", *dash],
        [
            "baseline: frame index",
            "–",
            "–",
            "–",
            f"{time['r2'][p]:.3f}",
            "–",
            f"{time['r2_within'][p]:.3f}",
            *dash,
        ],
        [
            "baseline: mean training frame",
            *["–"] * 7,
            f"{base['long_horizon']['mean_frame_mse']:.4f}",
            "–",
            "–",
        ],
    ]
    return markdown_table(cols, body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drift", default="gravity", choices=list(DRIFTS))
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--sequences", type=int, default=400, help="training sequences")
    ap.add_argument("--models", nargs="+", default=["hierarchical", "locally_linear"], choices=list(MODELS))
    args = ap.parse_args()
    eval_cfg = EvalConfig(n_context=10, horizon=30, poly_probe=False)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = drifting_pendulum(Path(tmp), args.drift, args.sequences)
        for seed in args.seeds:
            for name in args.models:
                rows.append(train_and_score(data, name, args.steps, seed, Path(tmp), eval_cfg))
                print(json.dumps(rows[-1]), flush=True)
    md = table(rows, DRIFTS[args.drift][1])
    print(md)
    info = machine()
    out = RESULTS / f"timescales_{machine_tag(info)}"
    out.mkdir(parents=True, exist_ok=True)
    command = "OMP_NUM_THREADS=1 python -m benchmarks.bench_timescales " + " ".join(
        [
            f"--drift {args.drift}",
            f"--steps {args.steps}",
            "--seeds",
            *map(str, args.seeds),
            f"--sequences {args.sequences}",
            "--models",
        ]
        + args.models
    )
    record = {"command": command, "args": vars(args), "rows": rows, "machine": info}
    write_text_atomic(out / f"{args.drift}.json", json.dumps(record, indent=2))
    write_text_atomic(
        out / f"{args.drift}.md", f"{md}\n\nCommand: `{command}`\n\nMachine: {json.dumps(info)}\n"
    )
    print("wrote", out)


if __name__ == "__main__":
    main()
