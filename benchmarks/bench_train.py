"""Training throughput: sequences per second and peak memory for each transition on two presets.

    python -m benchmarks.bench_train [--steps 30] [--device auto]

Batch 32 of whole sequences (dvbf_pendulum16: 15 frames of 16×16; kvae_box32: 20 frames of 32×32), the default
model. Each cell runs in its own process (peak RSS per cell; peak GPU memory on CUDA). The ratio to the Static
per-frame model with the same encoder and decoder is what the dynamics cost.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import simulators as S
from physvae import ModelConfig, build_model
from physvae.data import SequenceDataset
from physvae.devices import resolve_device
from physvae.model import DataSpec
from physvae.transitions import TRANSITIONS

from .machine import markdown_table, run_json, run_main, write_result

PRESETS = ("dvbf_pendulum16", "kvae_box32")
PHYSICS = {"pendulum": "pendulum", "balls": "box"}  # the physics transition's stated system per simulated one


def measure(data_dir: str, transition: str, steps: int, device: str) -> dict:
    dev = resolve_device(device)
    data = S.load_dataset(data_dir)
    ds = SequenceDataset(data["train"])
    torch.manual_seed(0)
    cfg = ModelConfig(transition=transition)
    cfg.physics.system = PHYSICS[data.config.system]
    model = build_model(DataSpec.from_dataset(data), cfg).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)

    def step():
        b = ds.sample(32, rng).to(dev)
        loss = model.elbo(b.frames, b.inputs)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    sec = (time.perf_counter() - t0) / steps
    out = {
        "transition": transition,
        "ms_per_step": 1000 * sec,
        "seq_per_s": 32 / sec,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": str(dev),
    }
    if dev.type == "cuda":
        out["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], args.one[1], args.steps, args.device)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for preset in PRESETS:
            data = S.generate(S.preset(preset, splits={"train": 256}), Path(tmp) / preset)
            for tr in TRANSITIONS:
                r = run_json(
                    "benchmarks.bench_train",
                    "--one",
                    str(data),
                    tr,
                    "x",
                    "--steps",
                    str(args.steps),
                    "--device",
                    args.device,
                )
                r["preset"] = preset
                rows.append(r)
                print(json.dumps(r), flush=True)
    for r in rows:
        static = next(x for x in rows if x["preset"] == r["preset"] and x["transition"] == "static")
        r["vs_static"] = r["ms_per_step"] / static["ms_per_step"]
    mem = "peak_gpu_mib" if "peak_gpu_mib" in rows[0] else "peak_rss_mib"
    table = markdown_table(
        ["preset", "transition", "ms/step", "sequences/s", "× Static", mem.replace("_", " ")],
        [
            [
                r["preset"],
                r["transition"],
                f"{r['ms_per_step']:.0f}",
                f"{r['seq_per_s']:.0f}",
                f"{r['vs_static']:.2f}",
                f"{r[mem]:.0f}",
            ]
            for r in rows
        ],
    )
    print(table)
    name = "train_gpu" if rows[0]["device"].startswith("cuda") else "train"
    print("wrote", *write_result(name, {"command": "python -m benchmarks.bench_train", "rows": rows}, table))


if __name__ == "__main__":
    run_main(main, "benchmarks.bench_train")
