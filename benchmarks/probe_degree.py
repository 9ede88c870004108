"""How nonlinearly do a run's latents hold the state? R² per target from polynomial probes of rising degree.

    OMP_NUM_THREADS=1 python -m benchmarks.probe_degree RUN [RUN ...] [--components 8] [--degrees 1,2,3]

The posterior means of the run's training and test splits (its own evaluation protocol) are projected on their
top ``--components`` principal components (fit on the training latents), then each target of the probe (the
dataset's state kinds) is read by a ridge regression on the standardized polynomial features of those components,
fit on the training split and scored on the test split, at every degree of ``--degrees``. A state held linearly
reads at degree 1; one held through a curved chart (a latent angle with cos θ as its square) reads only at
degree 2 or 3, where the suites' linear probe (the DVBF protocol) reports it lost. The share of the latents'
variance on the top two components is shown beside. Results: benchmarks/results/<name>_<machine>.{json,md}
(``--name``, default probe_degree), and the table on stdout.
"""

from __future__ import annotations

import argparse

from sklearn.decomposition import PCA

import simulators as S
from physvae.evaluation.context import EvalContext
from physvae.metrics.probe import RIDGE_ALPHA, pca_poly_probe
from physvae.run import Run

from .machine import markdown_table, run_main, write_result


def degree_probe(z_train, y_train, z_test, y_test, names, components: int, degrees: list[int]) -> dict:
    """R² per target (test split) of ridge probes on polynomial features of the top principal components
    (``physvae.metrics.probe.pca_poly_probe``, whose degree 3 on 8 components is the evaluation's curved probe).

    Args:
        z_train, z_test: latents (..., D); y_train, y_test: targets (..., K), same leading shape as their latents.
        names: the K target names; components: principal components kept (at most D); degrees: polynomial degrees.
    Returns:
        {"top2_variance": share of the training latents' variance on the top two components,
         "r2": {degree: {target: R²}}}.
    """
    d = z_train.shape[-1]
    pca = PCA(min(components, d)).fit(z_train.reshape(-1, d))
    r2 = {
        degree: pca_poly_probe(z_train, y_train, z_test, y_test, names, components, degree).r2
        for degree in degrees
    }
    return {"top2_variance": float(pca.explained_variance_ratio_[:2].sum()), "r2": r2}


def run_probe(path: str, components: int, degrees: list[int]) -> dict:
    """``degree_probe`` on the posterior means of the run at ``path`` over its training data."""
    run = Run(path)
    ctx = EvalContext(run.model.to("cpu"), S.load_dataset(run.config.train.data), run.config.eval.validate())
    train, test = ctx.train_latents, ctx.test_latents
    (y_train, names), (y_test, _) = ctx.targets(train.states), ctx.targets(test.states)
    return {"run": path, **degree_probe(train.z, y_train, test.z, y_test, names, components, degrees)}


def table(results: list[dict]) -> str:
    """One markdown table per set of targets (runs of other systems get their own), rows per run and degree."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for r in results:
        groups.setdefault(tuple(next(iter(r["r2"].values()))), []).append(r)
    tables = []
    for names, group in groups.items():
        rows = [
            [r["run"].rstrip("/").split("/")[-1], str(degree), f"{r['top2_variance']:.2f}"]
            + [f"{r2[n]:.3f}" for n in names]
            for r in group
            for degree, r2 in r["r2"].items()
        ]
        tables.append(markdown_table(["run", "degree", "top-2 PC variance", *names], rows))
    return "\n\n".join(tables)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--components", type=int, default=8, help="principal components of the latents kept")
    ap.add_argument("--degrees", default="1,2,3", help="polynomial degrees, comma-separated")
    ap.add_argument("--name", default="probe_degree")
    args = ap.parse_args(argv)
    try:
        degrees = [int(d) for d in args.degrees.split(",")]
    except ValueError:
        raise SystemExit(
            f"--degrees must be positive integers, comma-separated, got {args.degrees!r}"
        ) from None
    if args.components < 1 or any(d < 1 for d in degrees):
        raise SystemExit(f"--components and --degrees must be positive, got {args.components} and {degrees}")
    results = [run_probe(path, args.components, degrees) for path in args.runs]
    md = table(results)
    write_result(args.name, {"components": args.components, "alpha": RIDGE_ALPHA, "runs": results}, md)
    print(md)


if __name__ == "__main__":
    run_main(main, "benchmarks.probe_degree")
