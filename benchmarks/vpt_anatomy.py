"""Why is a model's VPT short: single-frame spikes, a drift that grows, errors where the motion is fastest?

    OMP_NUM_THREADS=1 python -m benchmarks.vpt_anatomy RUN --predict-data DIR [--every 2] [--speed omega]

The evaluation's prediction (the run's own protocol: its context, the rest of each test sequence of
``--predict-data``, default the training data) scored by VPT's normalized error e_t per sequence and frame, then
taken apart: VPT's distribution over sequences (quartiles, the share valid over the whole horizon, the median count
of frames under the threshold anywhere); the same on every ``--every``-th predicted frame (a coarser frame grid over
the same seconds: whether more frames, hence more chances to cross, is what shortens VPT); the runs of consecutive
frames over the threshold (how many, how long, the share one frame long); the share of frames over the threshold by
thirds of the horizon (a drift grows); and by quartile of the true |speed| column ``--speed`` (a timing error shows
where the motion is fastest). Results: benchmarks/results/<name>_<machine>.{json,md} (``--name``, default
vpt_anatomy), and the table on stdout.
"""

from __future__ import annotations

import argparse

import numpy as np

import simulators as S
from physvae.evaluation.context import EvalContext
from physvae.metrics import frames as fm
from physvae.run import Run

from .machine import markdown_table, run_main, write_result


def prediction_errors(run: Run, data: S.Dataset, longer: S.Dataset | None) -> tuple[np.ndarray, np.ndarray]:
    """VPT's normalized errors (N, H) of the run's prediction protocol and the true states of those frames
    (N, H, S)."""
    ctx = EvalContext(run.model.to("cpu"), data, run.config.eval.validate(), longer)
    return ctx.predictions.scores[..., 3], ctx.predictions.states


def runs_over(over: np.ndarray) -> np.ndarray:
    """Lengths of the runs of consecutive True along each row of a bool array (N, H), all rows together."""
    padded = np.pad(over.astype(np.int8), ((0, 0), (1, 1)))
    step = np.diff(padded, axis=1)  # +1 where a run starts, −1 one past where it ends
    return np.flatnonzero(step.ravel() == -1) - np.flatnonzero(step.ravel() == 1)


def anatomy(errors: np.ndarray, speed: np.ndarray | None, every: int) -> dict:
    """Taken apart as the module says: errors (N, H) of VPT, the true |speed| (N, H) or None, a grid step."""
    over = errors > fm.VPT_THRESHOLD
    lengths = runs_over(over)
    horizon = errors.shape[1]
    thirds = np.array_split(np.arange(horizon), 3)
    coarse = errors[:, ::every]
    out = {
        "horizon": horizon,
        "every_frame": fm.vpt_distribution(errors),
        f"every_{every}th_frame": {"horizon": coarse.shape[1], **fm.vpt_distribution(coarse)},
        "runs_over_threshold": {
            "count": int(lengths.size),
            "median_length": float(np.median(lengths)) if lengths.size else 0.0,
            "share_one_frame": float((lengths == 1).mean()) if lengths.size else 0.0,
        },
        "over_share_by_third": [float(over[:, t].mean()) for t in thirds],
    }
    if speed is not None:
        quartile = np.digitize(speed, np.percentile(speed, [25, 50, 75]))
        out["over_share_by_speed_quartile"] = [float(over[quartile == q].mean()) for q in range(4)]
        out["mean_error_by_speed_quartile"] = [float(errors[quartile == q].mean()) for q in range(4)]
    return out


def table(result: dict, every: int) -> str:
    rows = []
    for grid in ("every_frame", f"every_{every}th_frame"):
        d = result[grid]
        rows.append(
            [
                grid,
                *(f"{q:.0f}" for q in d["vpt_quartiles"]),
                f"{d['vpt_full_share']:.2f}",
                f"{d['valid_frames_median']:.0f}",
            ]
        )
    head = ["grid", "VPT q25", "VPT median", "VPT q75", "whole horizon", "valid frames (median)"]
    return markdown_table(head, rows)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("--predict-data", default=None, help="longer test sequences (default: the training data)")
    ap.add_argument("--every", type=int, default=2, help="the coarser grid's step in predicted frames")
    ap.add_argument("--speed", default=None, help="a state column whose |value| sorts frames by speed")
    ap.add_argument("--name", default="vpt_anatomy")
    args = ap.parse_args(argv)
    if args.every < 1:
        raise SystemExit(f"--every must be a positive number of frames, got {args.every}")
    run = Run(args.run)
    data = S.load_dataset(run.config.train.data)
    longer = S.load_dataset(args.predict_data) if args.predict_data else None
    names = list((longer or data)[run.config.eval.test_split].state_names)
    if args.speed is not None and args.speed not in names:
        raise SystemExit(f"--speed {args.speed!r} is not a state column of the data; it has {names}")
    errors, states = prediction_errors(run, data, longer)
    speed = None if args.speed is None else np.abs(states[..., names.index(args.speed)])
    result = {
        "run": args.run,
        "predict_data": args.predict_data,
        "threshold": fm.VPT_THRESHOLD,
        **anatomy(errors, speed, args.every),
    }
    md = table(result, args.every)
    write_result(args.name, result, md)
    print(md)
    for key in (
        "runs_over_threshold",
        "over_share_by_third",
        "over_share_by_speed_quartile",
        "mean_error_by_speed_quartile",
    ):
        if key in result:
            print(f"{key}: {result[key]}")


if __name__ == "__main__":
    run_main(main, "benchmarks.vpt_anatomy")
