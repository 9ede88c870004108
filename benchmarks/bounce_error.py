"""Where is a trained model's velocity error: at the frames next to a bounce, or in free flight?

    OMP_NUM_THREADS=1 python -m benchmarks.bounce_error RUN DATA [--evidence robust kink] [--train 1000] [--test 500]

For each velocity column of the data (state kind "velocity"), the linear probe of the evaluation (posterior means
of every frame → the true velocity; fitted on the first ``--train`` training sequences, scored on the first
``--test`` test sequences) and how its squared error splits between the frames next to a bounce (the true velocity
changes sign between t − 1 and t or between t and t + 1) and the rest: R² over all frames and without those, their
share of the error, and the read velocity over the true one (least squares) at the last frame before a bounce and
the first after. With ``--evidence`` the physics or NeuralODE transition's ``velocity_evidence`` is set to each
choice in turn (the same weights: an evaluation-time change). Beside them, no model: the velocities read by the
evidence's own stencil (centred, or kink's) from the true positions of the test sequences plus noise of each
``--reference-noise`` std: what the evidence gives where positions are read that well (velocity columns named "v" +
a position column's name). Results:
benchmarks/results/<name>_<machine>.{json,md} (``--name``, default bounce_error), and the table on stdout.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.linear_model import LinearRegression

import simulators as S
from physvae.data import SequenceDataset
from physvae.physics.velocity_evidence import VELOCITY_EVIDENCE, derivative_evidence
from physvae.run import Run

from .machine import markdown_table, run_main, write_result


def posterior_means(model, split: S.Split, n: int) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Posterior means (N, T, D) and true states (N, T, S) of the first n sequences, and the state names, kinds."""
    ds = SequenceDataset(split)
    batch = ds.batch(np.arange(min(n, len(ds))))
    with torch.no_grad():
        post = model.infer(batch.frames, None, batch.inputs, sample=False, times=batch.times)
    return post.q_mean.numpy(), batch.states.numpy(), split.state_names, split.state_kinds


def bounce_split(z_train, v_train, z_test, v_test) -> dict:
    """The probe z → v fitted on training frames, its error on test frames (N, T) split at the bounces."""
    reg = LinearRegression().fit(z_train.reshape(-1, z_train.shape[-1]), v_train.reshape(-1))
    return error_split(reg.predict(z_test.reshape(-1, z_test.shape[-1])).reshape(v_test.shape), v_test)


def error_split(pred: np.ndarray, v_test: np.ndarray) -> dict:
    """The error of read velocities ``pred`` against the true ones ``v_test`` (N, T) split at the bounces (the
    true velocity changes sign between t − 1 and t or between t and t + 1)."""
    err = (pred - v_test) ** 2
    flips = np.sign(v_test[:, 1:]) != np.sign(v_test[:, :-1])  # (N, T − 1): a bounce between t and t + 1
    before, after = np.zeros_like(err, bool), np.zeros_like(err, bool)
    before[:, :-1], after[:, 1:] = flips, flips
    near = before | after

    def ratio(m):
        return float((pred[m] * v_test[m]).sum() / (v_test[m] ** 2).sum()) if m.any() else float("nan")

    return {
        "r2": float(1 - err.mean() / v_test.var()),
        "r2_without_bounces": float(1 - err[~near].mean() / v_test[~near].var()),
        "bounce_frames": float(near.mean()),
        "bounce_error_share": float(err[near].sum() / err.sum()),
        "read_over_true_before": ratio(before),
        "read_over_true_after": ratio(after),
    }


def stencil_reference(split: S.Split, dt: float, n: int, choice: str, noise: float, seed: int = 0) -> dict:
    """No model: each velocity column (state kind "velocity" named "v" + a position column's name) read from the
    true positions plus Gaussian noise of std ``noise`` (> 0, their units; that std stated to the stencil) by the
    evidence's own stencil (``choice`` "kink": the smooth side's at a kink; any other: the centred three-frame
    derivative), on the first n sequences of ``split`` (frame t at t · dt seconds where the split holds no times);
    the error split as for a probe (``error_split``). What the velocity evidence gives where positions are read to
    ``noise``; seeded by ``seed``."""
    if noise <= 0:
        raise ValueError(f"noise must be positive (the std stated to the kink test), got {noise}")
    batch = SequenceDataset(split).batch(np.arange(min(n, len(split))))
    names, kinds = split.state_names, split.state_kinds
    states = batch.states.double()
    times = torch.arange(states.shape[1], dtype=states.dtype).expand(states.shape[:2]) * dt
    times = times if batch.times is None else batch.times.double()
    pairs = [(i, names.index(name[1:])) for i, (name, kind) in enumerate(zip(names, kinds))
             if kind == "velocity" and name[1:] in names]  # fmt: skip
    std = torch.full_like(states[..., 0], noise)
    gen = torch.Generator().manual_seed(seed)
    read = states + noise * torch.randn(states.shape, generator=gen, dtype=states.dtype)
    mean, _ = derivative_evidence(
        torch.zeros(*states.shape[:2], len(pairs), dtype=states.dtype),
        torch.ones(*states.shape[:2], len(pairs), dtype=states.dtype),
        torch.ones_like(std),
        times,
        [(k, read[..., pos], std, False) for k, (_, pos) in enumerate(pairs)],
        kink=choice == "kink",
    )
    return {
        names[v]: error_split(mean[..., k].numpy(), states[..., v].numpy()) for k, (v, _) in enumerate(pairs)
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("data")
    p.add_argument("--evidence", nargs="*", default=[], choices=VELOCITY_EVIDENCE, help="choices to compare")
    p.add_argument("--train", type=int, default=1000)
    p.add_argument("--test", type=int, default=500)
    p.add_argument("--name", default="bounce_error", help="result file stem under benchmarks/results/")
    p.add_argument(
        "--reference-noise",
        type=float,
        nargs="*",
        default=[0.05, 0.3],
        help="stds of the noise added to the true positions for the no-model rows (position units; none: no rows)",
    )
    args = p.parse_args(argv)
    if any(n <= 0 for n in args.reference_noise):
        p.error(f"--reference-noise: each std must be positive, got {args.reference_noise}")
    run, data = Run(args.run), S.load_dataset(args.data)
    model = run.model.eval()
    test_kinds = data["test"].state_kinds or []
    if "velocity" not in test_kinds:
        p.error(
            f"{args.data} has no state column of kind 'velocity' (its kinds: {test_kinds}): nothing to split"
        )
    if args.evidence and not hasattr(getattr(model.transition, "cfg", None), "velocity_evidence"):
        p.error(
            f"--evidence: the run's {type(model.transition).__name__} transition has no velocity_evidence"
        )
    results = {}
    own = getattr(getattr(model.transition, "cfg", None), "velocity_evidence", "network")
    for choice in args.evidence or [own]:
        if args.evidence:
            model.transition.cfg.velocity_evidence = choice
        z_tr, s_tr, names, kinds = posterior_means(model, data["train"], args.train)
        z_te, s_te, _, _ = posterior_means(model, data["test"], args.test)
        results[choice] = {
            name: bounce_split(z_tr, s_tr[..., i], z_te, s_te[..., i])
            for i, (name, kind) in enumerate(zip(names, kinds))
            if kind == "velocity"
        }
    for stencil in dict.fromkeys("kink" if c == "kink" else "centred" for c in args.evidence or [own]):
        for noise in args.reference_noise:
            reference = stencil_reference(data["test"], data.dt, args.test, stencil, noise)
            if reference:
                results[f"no model: true positions ± {noise:g}, {stencil} stencil"] = reference
    rows = [
        [choice, name, f"{r['r2']:.3f}", f"{r['r2_without_bounces']:.3f}", f"{r['bounce_frames']:.1%}",
         f"{r['bounce_error_share']:.1%}", f"{r['read_over_true_before']:.2f}", f"{r['read_over_true_after']:.2f}"]
        for choice, per in results.items() for name, r in per.items()
    ]  # fmt: skip
    table = markdown_table(
        ["evidence", "velocity", "R²", "R² without bounce frames", "bounce frames", "their share of the error",
         "read ÷ true, last before", "read ÷ true, first after"],
        rows,
    )  # fmt: skip
    print(table)
    write_result(args.name, {"run": args.run, "data": args.data, "train": args.train, "test": args.test,
                                  "results": results}, table)  # fmt: skip


if __name__ == "__main__":
    run_main(main, "benchmarks.bounce_error")
