"""The multi-step prediction term's weight against what the learned dynamics say: VPT and damping together.

    OMP_NUM_THREADS=2 python -m benchmarks.predict_weight [--weights 0 0.1 0.25 0.5 1] [--seeds 0] [--also 0.25:1]

Since f077d2b the ELBO carries the multi-step prediction term (``train.predict_weight``; 1 for every transition
until 2026-12-07, when this sweep and ``benchmarks.predict_weight_suites`` made LocallyLinear's default 0.25): at 1
it took the robustness pendulum's VPT from 0 to 14, and its at-rest damping from 0.38 to −0.06 (data 0.5). This trains the
quick suite's pendulum LocallyLinear cell (``dvbf_pendulum16``, damped, γ 0.5, small-angle ω₀ 3.13; the quick
suite's settings but the weight) at each weight and seed, one thread each, and reads on the same long test set:
VPT, prediction MSE over the mean frame's, θ̇'s posterior R², the at-rest frequency and damping of the learned
transition, and the posterior latents' own linear map near rest (``dynamics.posterior_map``). Runs are kept under
``--out`` and reused. Writes benchmarks/results/predict_weight_<machine>.{json,md}.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from physvae.bench import load_suite
from physvae.bench.runner import prepare_data
from physvae.evaluate import evaluate
from physvae.run import Run
from physvae.train import fit

from .machine import markdown_table, run_main, write_result


def cell(out: Path, weight: float, seed: int) -> dict:
    """Train (or reuse) and evaluate the quick pendulum LocallyLinear cell at one weight and seed."""
    suite = load_suite("quick")
    entry = next(d for d in suite.datasets if d.name == "pendulum")
    data, longer = prepare_data(entry, out / "data", jobs=1, log=lambda s: None)
    model = next(m for m in suite.models if m.name == "LocallyLinear")
    cfg = suite.run_config(model, data, seed, entry).with_overrides(
        [f"train.predict_weight={weight}", "train.threads=1"]
    )
    run_dir = out / f"w{weight:g}_s{seed}"
    run = Run(run_dir) if (run_dir / "model.pt").is_file() else fit(cfg, run_dir, progress=False)
    m = evaluate(run, data, run_dir / "eval", cfg.eval, figures=False, predict_data=longer)
    rec = m["dynamics"].get("recovered", {})
    return {
        "weight": weight,
        "seed": seed,
        "vpt_median": m["prediction"]["vpt_median"],
        "pred_over_mean_frame": m["baselines"]["pred_over_mean_frame"],
        "r2_omega": m["physics"]["linear"]["r2"]["omega"],
        "frequency": rec.get("natural_frequency", {}).get("learned"),
        "damping": rec.get("damping", {}).get("learned"),
        "posterior_map_damping": rec.get("damping", {}).get("posterior_map"),
        "reference": m["dynamics"].get("reference"),
        "train_seconds": run.summary()["train_seconds"],
    }


def _f(v, digits=3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.1, 0.25, 0.5, 1.0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument(
        "--out", default="bench_out/predict_weight", help="where runs and data are kept and reused"
    )
    p.add_argument(
        "--also", nargs="*", default=[], metavar="W:S", help="more cells, weight:seed (e.g. 0.25:1)"
    )
    args = p.parse_args()
    pairs = [(w, s) for w in args.weights for s in args.seeds]
    pairs += [(float(a.split(":")[0]), int(a.split(":")[1])) for a in args.also]
    rows = [cell(Path(args.out), w, s) for w, s in pairs]
    ref = rows[0]["reference"] or {}
    table = markdown_table(
        [
            "predict_weight",
            "seed",
            "VPT (of 45)",
            "pred MSE / mean frame's",
            "θ̇ R²",
            f"ω₀ at rest (data {ref.get('natural_frequency', float('nan')):.2f})",
            f"γ at rest (data {ref.get('damping', float('nan')):.2f})",
            "γ of the posterior map",
        ],
        [
            [
                f"{r['weight']:g}",
                str(r["seed"]),
                f"{r['vpt_median']:g}",
                _f(r["pred_over_mean_frame"]),
                _f(r["r2_omega"]),
                _f(r["frequency"]),
                _f(r["damping"]),
                _f(r["posterior_map_damping"]),
            ]
            for r in rows
        ],
    )
    json_path, _ = write_result("predict_weight", {"rows": rows}, table)
    print(table)
    print(f"wrote {json_path}")


if __name__ == "__main__":
    run_main(main, "benchmarks.predict_weight")
