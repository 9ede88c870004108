"""Two time scales: the hierarchical transition, the flat locally linear one and the stated pendulum physics (with
and without a drifting parameter as its slow latent) at equal latent size, on a pendulum whose gravity (or length)
drifts, or whose damping switches, within each sequence.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_timescales [--drift gravity|length|damping] [--steps 800]
        [--seeds 0 1] [--models hierarchical locally_linear physics physics_drift physics_drift_fit]
        [--set KEY=VALUE ...] [--record NAME] [--work DIR]

For each model and seed: train (20-frame windows, the multi-step prediction term) on 16×16 frames, 40 per
sequence (gravity g₀ ~ U(8, 12) m/s² moving linearly to g₀·f, f ~ U(0.5, 1.5), saved per frame as the state
column ``g``; with ``--drift length`` the length, l₀ ~ U(0.6, 1.2) m, column ``l``; with ``--drift damping`` γ
jumping at Poisson times (0.5 /s) to a new value from U(0.1, 1), column ``gamma``), then on the test split read
the parameter from the posterior means (linear least squares fit on the training split:
``physvae.evaluation.timescales``) from the slow, fast and all latent dimensions, score a physics model's own
drifting parameter at every frame against the truth (no probe), and predict 30 frames after a 10-frame context.
Trivial baselines: reading each sequence's mean parameter exactly (and nothing of its drift), reading the frame
index alone (the average drift), and drawing the mean training frame.
Results go to benchmarks/results/timescales_<machine>/ (<record or drift>.json, .md).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import simulators as S
from physvae import EvalConfig, Run, RunConfig, fit
from physvae.evaluation.context import EvalContext
from physvae.evaluation.timescales import (
    long_horizon,
    own_drifting,
    parameter_r2,
    varying_parameters,
)
from simulators import ConfigError, write_text_atomic

from .machine import RESULTS, machine, machine_tag, markdown_table, run_main

LATENT_DIM = 8
MODELS = {  # name -> RunConfig overrides; both have latent_dim = LATENT_DIM
    "hierarchical": ["model.transition=hierarchical", "model.hierarchical.slow_dim=2"],
    "hierarchical_step": [
        "model.transition=hierarchical",
        "model.hierarchical.slow_dim=2",
        "model.hierarchical.slow_mode=step",
    ],
    "locally_linear": ["model.transition=locally_linear"],
    # the pendulum's physics stated, g/l drifting as a slow latent (the last dimension), drawn by the render decoder
    "physics_drift": [
        "model.transition=physics",
        'model.physics.drift=["g_over_l"]',
        'model.physics.may_vanish=["damping"]',
        "model.physics.velocity_evidence=difference",
        "model.decoder=render",
    ],
    # the same with the drift's evidence from the stated physics fitted to 15-frame windows of the state evidence
    "physics_drift_fit": [
        "model.transition=physics",
        'model.physics.drift=["g_over_l"]',
        "model.physics.drift_evidence=fit",
        'model.physics.may_vanish=["damping"]',
        "model.physics.velocity_evidence=difference",
        "model.decoder=render",
    ],
    "physics": [  # the same with g/l one global value: what the drifting dimension adds
        "model.transition=physics",
        'model.physics.may_vanish=["damping"]',
        "model.physics.velocity_evidence=difference",
        "model.decoder=render",
    ],
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
    # γ jumps at Poisson times (rate 0.5 /s: about two jumps in a 4 s sequence) to a new value from U(0.1, 1)
    "damping": (dict(damping=(0.1, 1.0), damping_switch_rate=0.5), "gamma"),
}


def drifting_pendulum(root: Path, drift: str, sequences: int, overwrite: bool = False) -> Path:
    """The dataset: 16×16 frames, 40 per sequence, Δt 0.1 s, gravity or length drifting by f ~ U(0.5, 1.5);
    ``overwrite`` draws it again over one already in ``root`` (the same seeds give the same data)."""
    params = S.PendulumConfig(**DRIFTS[drift][0], bob_radius=0.3)
    if drift != "damping":
        params.drift_factor = (0.5, 1.5)
    cfg = S.DatasetConfig(
        system="pendulum",
        params=params,
        render=S.RenderConfig(size=16),
        n_frames=40,
        dt=0.1,
        splits={"train": sequences, "test": 200},
    )
    return S.generate(cfg, root / drift, overwrite=overwrite)


def train_and_score(
    data: Path,
    name: str,
    steps: int,
    seed: int,
    out: Path,
    eval_cfg: EvalConfig,
    extra: list[str] = (),
    reuse: bool = False,
) -> dict:
    """Train one model (its overrides, then ``extra``) and score the read-out of the parameter and long-horizon
    prediction; one row. With ``reuse``, a finished run already in its folder under the same config is scored
    instead of trained again."""
    cfg = RunConfig().with_overrides(
        [
            *MODELS[name],
            *SMALL,
            f"model.latent_dim={LATENT_DIM}",
            f"train.data={data}",
            f"train.steps={steps}",
        ]
        + [f"train.seed={seed}", *TRAIN, *extra]
    )
    run, train_s = _trained(cfg, out / f"{name}_{seed}", reuse)
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
    own = _learned_parameter(ctx)
    row = {"model": name, "seed": seed, "steps": steps, "train_s": train_s, **readout, **_prediction(ctx)}
    return row if own is None else {**row, "learned_parameter": own}


def _trained(cfg: RunConfig, path: Path, reuse: bool) -> tuple[Run, float]:
    """The run at ``path`` trained under ``cfg`` and its training seconds: trained now, or (``reuse``) the finished
    run already there, refused where its config differs."""
    if reuse and (path / "config.toml").is_file() and Run(path).finished:
        run = Run(path)
        if run.config != cfg:
            raise ConfigError(f"--reuse: the run {path} was trained under another config than this command's")
        return run, float(run.summary()["train_seconds"])
    t0 = time.perf_counter()
    run = fit(cfg, path, progress=False)
    return run, time.perf_counter() - t0


def _learned_parameter(ctx) -> dict | None:
    """The model's own (first) drifting parameter at every test frame against the truth, no probe fitted
    (``physvae.evaluation.timescales.own_drifting``): {"parameter", "r2", "r2_within", "median_rel_error"};
    None for a transition without drifting parameters or without a truth for it."""
    own = own_drifting(ctx)
    name = ctx.model.transition.cfg.drift[0] if own else None
    return {"parameter": name, **own[name]} if own and name in own else None


def _prediction(ctx) -> dict:
    p = ctx.predictions
    return {"pred_mse": float(p.scores[..., 0].mean()), "long_horizon": long_horizon(ctx)}


def table(rows: list[dict], p: str) -> str:
    """Markdown: one row per trained model, then the trivial baselines in the columns they fill."""
    cols = ["model", "seed", f"R² {p} slow", f"R² {p} fast", f"R² {p} all", "R² within slow", "R² within all"]
    own = "γ" if p == "gamma" else "g/l"
    cols += [f"own {own} R²", f"own {own} within", "pred MSE", "MSE 2nd half", "VPT", "train s"]

    def cell(row: dict, group: str, key: str = "r2") -> str:
        return f"{row[key][group][p]:.3f}" if group in row[key] else "–"

    body = [
        [r["model"], str(r["seed"]), cell(r, "slow"), cell(r, "fast"), cell(r, "all")]
        + [cell(r, "slow", "r2_within"), cell(r, "all", "r2_within"), *_own(r), f"{r['pred_mse']:.4f}"]
        + [f"{r['long_horizon']['mse']:.4f}", f"{r['long_horizon']['vpt_median']:.0f}", f"{r['train_s']:.0f}"]
        for r in rows
    ]
    base, time, dash = rows[0], rows[0]["time_baseline"], ["–"] * 6
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
            *["–"] * 9,
            f"{base['long_horizon']['mean_frame_mse']:.4f}",
            "–",
            "–",
        ],
    ]
    if any("sampled_mse" in r["long_horizon"] for r in rows):  # the predictive mean over sampled trajectories
        cols.append("MSE 2nd half, sampled")
        sampled = [_sampled_mse(r) for r in rows] + [
            "–",
            "–",
            f"{base['long_horizon']['mean_frame_mse']:.4f}",
        ]
        body = [row + [cell] for row, cell in zip(body, sampled)]
    return markdown_table(cols, body)


def _sampled_mse(row: dict) -> str:
    mse = row["long_horizon"].get("sampled_mse")
    return "–" if mse is None else f"{mse:.4f}"


def _own(row: dict) -> list[str]:
    """The model's own drifting parameter against the truth (R², within R²), dashes where it states none."""
    own = row.get("learned_parameter", row.get("learned_g_over_l"))
    return ["–", "–"] if own is None else [f"{own['r2']:.3f}", f"{own['r2_within']:.3f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drift", default="gravity", choices=list(DRIFTS))
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--sequences", type=int, default=400, help="training sequences")
    ap.add_argument("--models", nargs="+", default=["hierarchical", "locally_linear"], choices=list(MODELS))
    ap.add_argument("--set", nargs="*", default=[], help="further overrides for every model (KEY=VALUE)")
    ap.add_argument("--record", default="", help="the record's file name (default: the drift's name)")
    ap.add_argument(
        "--work", default="", help="keep the data and the runs in this folder (default: a temporary one)"
    )
    ap.add_argument("--reuse", action="store_true", help="score finished runs already in --work, same config")
    ap.add_argument(
        "--samples",
        type=int,
        default=0,
        help="also score the predictive mean over this many sampled trajectories (eval.prediction_samples)",
    )
    args = ap.parse_args()
    if args.reuse and not args.work:
        ap.error("--reuse needs --work (the folder holding the runs)")
    eval_cfg = EvalConfig(
        n_context=10, horizon=30, poly_probe=False, prediction_samples=args.samples
    ).validate()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        data = drifting_pendulum(work, args.drift, args.sequences, overwrite=args.reuse)
        for seed in args.seeds:
            for name in args.models:
                rows.append(
                    train_and_score(data, name, args.steps, seed, work, eval_cfg, args.set, args.reuse)
                )
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
        + (["--set", *args.set] if args.set else [])
        + ([f"--record {args.record}"] if args.record else [])
        + ([f"--samples {args.samples}"] if args.samples else [])
    )
    record = {"command": command, "args": vars(args), "rows": rows, "machine": info}
    stem = args.record or args.drift
    write_text_atomic(out / f"{stem}.json", json.dumps(record, indent=2))
    write_text_atomic(out / f"{stem}.md", f"{md}\n\nCommand: `{command}`\n\nMachine: {json.dumps(info)}\n")
    print("wrote", out)


if __name__ == "__main__":
    run_main(main, "benchmarks.bench_timescales")
