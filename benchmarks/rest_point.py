"""Where the learned dynamics rest, with and without an energy column: does the fixed point read what the
lowest-energy frames read?

    OMP_NUM_THREADS=2 python -m benchmarks.rest_point [--out bench_out/rest_point] [--steps N]

Video imported without an energy column has no lowest-energy frames to linearize the learned dynamics at; the
dynamics section then takes the most stable fixed point of the learned one-step map among the test latents
(``physvae.evaluation.rest_point``). This trains the quick suite's pendulum cells (``dvbf_pendulum16``, damped,
γ 0.5, small-angle ω₀ 3.13; LocallyLinear and NeuralODE with the quick suite's settings and seed, so their
figures are the quick record's) and the physics_looks suite's PhysicsRender (the stated pendulum, whose learned
damping dissipates) on the same preset, and reads each model's dynamics three ways on the same test latents: at the
lowest-energy frames (the data's energy column), at the fixed point (the energy column hidden, as imported video
has it), and from the usage-weighted mean map (what LocallyLinear fell back to before; NeuralODE had nothing); beside
them the baseline with no transition model, a least-squares linear map of the posterior's consecutive latents
near rest (``evaluation.posterior_map``; the posterior fuses the transition's prior in), the same map of the
inference network's evidence means before that fusion (free of the transition, but noisy: least squares then
reads too much damping), and that map's ceiling: the same fit to the true (θ, ω).
Beside them: how far the fixed point (the one read, or the most stable one where it grows and is not read) lies
from the lowest-energy frames' mean latent (in standard deviations of the test latents, largest coordinate) and
its residual, spread and spectral radius. Writes
benchmarks/results/rest_point_<machine>.{json,md}; runs are kept under ``--out`` and reused (about 15 minutes on
two cores the first time).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import simulators
from physvae.bench import load_suite
from physvae.bench.runner import prepare_data
from physvae.evaluation.context import EvalContext
from physvae.evaluation.dynamics import Dynamics, _inputs, _picker, _rest_frames
from physvae.evaluation.posterior_map import posterior_map
from physvae.run import Run
from physvae.train import fit

from .machine import markdown_table, run_main, write_result

# (suite, dataset, model): the quick suite's damped pendulum cells, and the physics_looks suite's stated pendulum
# (the physics transition, whose learned γ dissipates) on the same preset
CELLS = (
    ("quick", "pendulum", "LocallyLinear"),
    ("quick", "pendulum", "NeuralODE"),
    ("physics_looks", "pendulum", "PhysicsRender"),
)


def train(out: Path, steps: int | None) -> dict[str, tuple]:
    """The ``CELLS``, trained (or reused) under ``out`` with their suite's settings and seed 0: {model: (run,
    data, long test data, EvalConfig)}."""
    runs = {}
    for suite_name, dataset, name in CELLS:
        suite = load_suite(suite_name)
        entry = next(d for d in suite.datasets if d.name == dataset)
        data, longer = prepare_data(entry, out / "data", jobs=1)
        model = next(m for m in suite.models if m.name == name)
        cfg = suite.run_config(model, data, 0, entry)
        if steps:
            cfg.train.steps = steps
        run_dir = out / "runs" / name
        if (run_dir / "model.pt").is_file():
            run = Run(run_dir)
        else:
            run = fit(cfg, run_dir, resume=(run_dir / "config.toml").is_file(), progress=False)
        runs[name] = (run, data, longer, cfg.eval)
    return runs


def readings(run: Run, data: str, longer: str | None, eval_cfg) -> dict:
    """The dynamics section with the energy column, without it, and the distance between the two rest points."""
    model = run.model.eval()
    ctx = EvalContext(model, simulators.load_dataset(data), eval_cfg, simulators.load_dataset(longer))
    with_energy = Dynamics().run(ctx)
    evidence_map = _evidence_map(ctx, model)
    z = ctx.test_latents.z.reshape(-1, ctx.test_latents.z.shape[-1])
    picked = _rest_frames(ctx.test_latents.states, ctx.test.state_kinds)
    energy_rest = z[picked].mean(0)
    ctx.test.state_kinds = ["other" if k == "energy" else k for k in ctx.test.state_kinds]
    without = Dynamics().run(ctx)
    out = {"energy": with_energy, "fixed_point": without, "evidence_map": evidence_map}
    point = (without.get("at_rest") or {}).get("fixed_point") or without.get("unstable_fixed_point")
    if point:
        out["distance"] = float(np.abs((np.array(point["z"]) - energy_rest) / (z.std(0) + 1e-12)).max())
    return out


def _evidence_map(ctx, model) -> dict | None:
    """The oscillation of the least-squares map near rest of the inference network's evidence means (before the
    transition's prior), its pair read from its own modal coordinates."""
    with torch.no_grad():
        evidence = np.concatenate([model.evidence(b.frames)[0].cpu().numpy() for b in ctx.batches(ctx.test)])
    kinds = ctx.test.state_kinds
    energy = ctx.test_latents.states[..., kinds.index("energy")]
    A = posterior_map(evidence, energy, _inputs(ctx))
    return None if A is None else _picker(ctx, evidence)(A)


def _fig(osc: dict | None, key: str) -> str:
    return "—" if not osc or osc.get(key) is None else f"{osc[key]:.3f}"


def rows(results: dict) -> list[list[str]]:
    out = []
    for model, r in results.items():
        ref = r["energy"].get("reference", {})
        readings = [
            ("lowest-energy frames", (r["energy"].get("at_rest") or {}).get("oscillation"), None),
            (
                "fixed point (energy hidden)",
                (r["fixed_point"].get("at_rest") or {}).get("oscillation"),
                r["fixed_point"].get("at_rest", {}).get("fixed_point"),
            ),
            ("mean map", (r["energy"].get("mean_map") or {}).get("oscillation"), None),
            (
                "baseline: the posterior latents' own linear map near rest",
                (r["energy"].get("posterior_map") or {}).get("oscillation"),
                None,
            ),
            ("the same map of the evidence, before the transition's prior", r["evidence_map"], None),
            (
                "ceiling: the same map of the true state",
                (r["energy"].get("state_map") or {}).get("oscillation"),
                None,
            ),
        ]
        for name, osc, fp in readings:
            where = "—"
            if fp:
                where = (
                    f"{r.get('distance', float('nan')):.2f} σ from the lowest-energy latent; residual "
                    f"{fp['residual']:.1e}, spread {fp['spread']:.2f} σ, radius {fp['spectral_radius']:.4f}, "
                    f"{fp['converged']} of {fp['starts']} starts"
                )
            elif name.startswith("fixed"):
                where = r["fixed_point"].get("no_rest_point", "—")
                if "distance" in r:
                    where += f" (it lies {r['distance']:.2f} σ from the lowest-energy latent)"
            out.append(
                [
                    model,
                    name,
                    _fig(osc, "natural_frequency") + f" ({ref.get('natural_frequency', float('nan')):.3f})",
                    _fig(osc, "damping") + f" ({ref.get('damping', float('nan')):.3f})",
                    _fig(osc, "r2"),
                    where,
                ]
            )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="bench_out/rest_point", help="where runs and data are kept and reused")
    p.add_argument("--steps", type=int, help="training steps (default: the quick suite's)")
    args = p.parse_args()
    results = {m: readings(*r) for m, r in train(Path(args.out), args.steps).items()}
    table = markdown_table(
        ["model", "read at", "ω₀ learned (data)", "γ learned (data)", "pair R²", "the fixed point"],
        rows(results),
    )
    json_path, _ = write_result("rest_point", {"results": results, "steps": args.steps}, table)
    print(table)
    print(f"wrote {json_path}")


if __name__ == "__main__":
    run_main(main, "benchmarks.rest_point")
