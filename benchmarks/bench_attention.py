"""GRU against attention inference on 200-frame pendulum sequences: posterior R², VPT and sequences/s.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_attention [--steps 200] [--frames 200] [--out DIR]

One small DVBF pendulum (16×16, ``--frames`` frames per sequence, ``--train`` training and ``--test`` test
sequences), the LocallyLinear transition with the smoother, trained on whole sequences for ``--steps`` steps with
one CPU thread, once with ``model.inference_net=gru`` and once with ``attention`` (same seed, everything else
equal). Scored on the test split: the linear probe's R² from posterior means (the evaluation's ``physics``
section), the median valid prediction time after 5 context frames (``prediction``), training sequences/s (one
optimizer step on a batch, best of 3) and inference sequences/s (posterior means of whole test sequences, best of
3), both timed at the end one net after the other, so they see alike shares of a shared CPU. Writes ``results.json`` and ``results.md``
into ``--out`` (default: benchmarks/results/attention_cpu2). Data and finished runs in ``--work`` are reused.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch

import simulators as S
from physvae import RunConfig, fit, load
from physvae.evaluation import EvalConfig
from physvae.evaluation.context import EvalContext
from physvae.evaluation.prediction import Prediction
from physvae.evaluation.state_recovery import StateRecovery

from .machine import RESULTS, machine, markdown_table, run_main

NETS = ("gru", "attention")


def make_data(folder: Path, frames: int, train: int, test: int) -> Path:
    cfg = S.preset("dvbf_pendulum16", n_frames=frames, splits={"train": train, "test": test})
    return S.generate(cfg, folder, overwrite=True)


def train_cell(data: Path, net: str, steps: int, batch: int, out: Path):
    """A run with ``model.inference_net=net``; the rest of the config is the same for every net."""
    cfg = RunConfig().with_overrides(
        [
            f"train.data={json.dumps(str(data))}",
            f"model.inference_net={net}",
            f"train.steps={steps}",
            f"train.batch_size={batch}",
            "train.threads=1",
            "train.predict_weight=1.0",
            "train.predict_context=5",
            "train.predict_context_max=0",
            f"train.checkpoint_every={steps}",
        ]
    )
    return fit(cfg, out, progress=False)


def inference_rate(model, batch, repeats: int = 3) -> float:
    """Sequences per second of ``infer`` (posterior means) on a Batch of whole sequences, best of ``repeats``."""
    best = float("inf")
    with torch.no_grad():
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.infer(batch.frames, None, batch.inputs, sample=False)
            best = min(best, time.perf_counter() - t0)
    return batch.frames.shape[0] / best


def training_rate(model, batch, repeats: int = 3) -> float:
    """Sequences per second of one optimizer step (ELBO with the prediction term, backward, Adam) on a Batch of
    whole sequences, best of ``repeats``, on a copy of the model (the run's weights are left alone)."""
    model = copy.deepcopy(model).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        loss = model.elbo(batch.frames, batch.inputs, predict_weight=1.0, predict_context=5)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        best = min(best, time.perf_counter() - t0)
    return batch.frames.shape[0] / best


def score(run, data: Path) -> dict:
    """R² (linear probe, posterior means), VPT and throughput of a trained run on the test split."""
    model = run.model
    ctx = EvalContext(model, S.load_dataset(data), EvalConfig(n_context=5, poly_probe=False))
    probe = StateRecovery().run(ctx)["linear"]["r2"]
    pred = Prediction().run(ctx)
    batch = next(ctx.batches(ctx.test))
    step_batch = ctx.dataset(ctx.test).batch(np.arange(run.config.train.batch_size))
    return {
        "r2": probe,
        "r2_mean": float(np.mean(list(probe.values()))),
        "vpt_median": pred["vpt_median"],
        "horizon": pred["horizon"],
        "pred_mse": pred["mse"],
        "train_seq_per_s": training_rate(model, step_batch),
        "infer_seq_per_s": inference_rate(model, batch),
        "train_seconds": run.summary()["train_seconds"],
        "parameters": sum(p.numel() for p in model.inference.parameters()),
    }


def table(rows: dict) -> str:
    names = list(next(iter(rows.values()))["r2"])
    head = ["inference", *[f"R² {n}" for n in names], "VPT (frames)", "train seq/s", "infer seq/s", "params"]
    body = [
        [
            net,
            *[f"{r['r2'][n]:.3f}" for n in names],
            f"{r['vpt_median']:.0f} / {r['horizon']}",
            f"{r['train_seq_per_s']:.2f}",
            f"{r['infer_seq_per_s']:.1f}",
            f"{r['parameters']}",
        ]
        for net, r in rows.items()
    ]
    return markdown_table(head, body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--train", type=int, default=64)
    ap.add_argument("--test", type=int, default=32)
    ap.add_argument(
        "--nets",
        nargs="+",
        default=list(NETS),
        choices=NETS,
        help="inference networks to run (a finished run is only scored)",
    )
    ap.add_argument("--work", default="/tmp/bench_attention")
    ap.add_argument("--out", default=str(RESULTS / "attention_cpu2"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    work = Path(args.work)
    data = work / "data"
    if not (data / "meta.json").is_file():
        make_data(data, args.frames, args.train, args.test)
    rows = {}
    for net in args.nets:  # a finished run in --work is scored again, not retrained
        done = (work / net / "model.pt").is_file()
        run = load(work / net) if done else train_cell(data, net, args.steps, args.batch, work / net)
        rows[net] = score(run, data)
        print(net, json.dumps(rows[net]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"args": vars(args), "results": rows, "machine": machine()}
    S.write_text_atomic(out / "results.json", json.dumps(record, indent=2))
    md = (
        f"`OMP_NUM_THREADS=1 python -m benchmarks.bench_attention --steps {args.steps} --frames {args.frames}`: "
        f"LocallyLinear smoother, {args.train} training sequences of {args.frames} frames, batch {args.batch}, "
        f"{args.steps} steps, one CPU thread; scored on {args.test} test sequences.\n\n{table(rows)}\n"
    )
    S.write_text_atomic(out / "results.md", md)
    print(md)


if __name__ == "__main__":
    run_main(main, "benchmarks.bench_attention")
