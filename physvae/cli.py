"""The ``physvae`` command: argument parsing only; every subcommand calls a library function."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from simulators import ConfigError

from .failures import BAD_INPUT, describe


def _folder(path: str | Path) -> Path:
    """A folder a command writes into: ConfigError, before any work, when it or a folder above it is a file."""
    path = Path(path)
    for above in (path, *path.parents):
        if above.exists():
            if not above.is_dir():
                raise ConfigError(f"output folder {path}: {above} is a file, not a folder")
            break
    return path


def _generate(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    import simulators
    from simulators import DatasetConfig

    from .overrides import apply_overrides

    if (args.system is None) == (args.preset is None):
        raise ConfigError("give either a SYSTEM or --preset NAME (not both)")
    splits = {
        k: v for k, v in (("train", args.train), ("val", args.val), ("test", args.test)) if v is not None
    }
    if args.preset:
        cfg = simulators.preset(
            args.preset, size=args.size, n_frames=args.frames, seed=args.seed, splits=None, ood=False
        )
    else:
        cfg = DatasetConfig(system=args.system)
        cfg.render.size = args.size or cfg.render.size
        cfg.n_frames, cfg.seed = args.frames or cfg.n_frames, args.seed or 0
    if splits:
        cfg.splits = {**{k: v for k, v in cfg.splits.items() if k in splits}, **splits}
    if args.ood:
        cfg.splits["test_ood"] = cfg.splits.get("test", max(cfg.splits.values()))
        cfg.ood_splits = ["test_ood"]
    cfg = DatasetConfig.from_dict(apply_overrides(cfg.to_dict(), args.set))
    cfg.validate()
    total = sum(cfg.splits.values())
    with tqdm(total=total, unit="seq", desc=f"generate {cfg.system}", disable=args.quiet) as bar:
        out = simulators.generate(
            cfg, _folder(args.out), jobs=args.jobs, overwrite=args.overwrite, progress=bar.update
        )
    print(f"wrote {out} ({total} sequences of {cfg.n_frames} frames)")


def _show(args: argparse.Namespace) -> None:
    import simulators

    from .viz.preview import preview

    data = simulators.load_dataset(args.data)
    split = args.split or data.split_names[0]
    out = _folder(args.out or Path(args.data) / "preview")
    for path in preview(data[split], out, n=args.n):
        print(f"wrote {path}")


def _dotted_overrides(extra: list[str]) -> list[str]:
    """['--model.transition=neural_ode', '--train.steps', '50'] -> ['model.transition=neural_ode', 'train.steps=50']."""
    out, i = [], 0
    while i < len(extra):
        tok = extra[i]
        if not tok.startswith("--") or "." not in tok:
            raise ConfigError(
                f"unrecognized argument {tok!r}; config overrides look like --section.key=value"
            )
        if "=" in tok:
            out.append(tok[2:])
            i += 1
        elif i + 1 < len(extra):
            out.append(f"{tok[2:]}={extra[i + 1]}")
            i += 2
        else:
            raise ConfigError(f"override {tok!r} has no value")
    return out


def _train(args: argparse.Namespace) -> None:
    from .config import RunConfig
    from .train import fit

    if args.resume:
        given = [f"--{k}" for k in ("data", "out", "config") if getattr(args, k)] + args.extra
        if given:
            raise ConfigError(
                f"--resume continues {args.resume} with its own config.toml; it takes no {' '.join(given)} "
                "(to change settings, start a new run with --out)"
            )
        run = fit(RunConfig(), args.resume, resume=True, progress=not args.quiet)
    else:
        if not args.out:
            raise ConfigError("give --out RUN_DIR (or --resume RUN_DIR)")
        cfg = RunConfig.load(args.config) if args.config else RunConfig()
        overrides = _dotted_overrides(args.extra) + [f"train.data={json.dumps(args.data)}"] * bool(args.data)
        run = fit(cfg.with_overrides(overrides), _folder(args.out), progress=not args.quiet)
    summary = run.summary()
    print(f"trained {run.path}: {json.dumps(summary.get('final', {}))}")
    rewarmed = summary.get("collapse", {}).get("rewarmed_at")
    if rewarmed:
        ended = "still ended collapsed" if summary["collapse"]["at_end"] else "ended uncollapsed"
        print(
            f"note: training was judged collapsed and its KL weight re-warmed from 0 after "
            f"step{'s' * (len(rewarmed) > 1)} {', '.join(map(str, rewarmed))} (train.collapse_rewarm); it {ended}",
            file=sys.stderr,
        )
    if summary.get("collapse", {}).get("at_end"):
        print(
            f"warning: posterior collapse at the end of training: {summary['collapse']['advice']}",
            file=sys.stderr,
        )
    elif summary.get("mean_frame", {}).get("advice"):
        m = summary["mean_frame"]
        print(
            f"warning: at the end of training the reconstruction MSE {m['recon_mse']:.4g} is no better than the "
            f"mean frame's {m['mean_frame_mse']:.4g}: {m['advice']}",
            file=sys.stderr,
        )


SHORTHANDS = {  # evaluate's own flags -> the eval config keys they set (defaults live in EvalConfig alone)
    "split": "test_split",
    "n_context": "n_context",
    "horizon": "horizon",
    "max_sequences": "max_sequences",
}


def _eval_config(args: argparse.Namespace):
    """The run's saved protocol, then the shorthand flags, then --eval.key=value overrides."""
    from .run import Run

    saved = Run(args.run).config
    overrides = [
        f"eval.{key}={json.dumps(v)}" for f, key in SHORTHANDS.items() if (v := getattr(args, f)) is not None
    ]
    overrides += ["eval.poly_probe=false"] * args.no_poly
    extra = _dotted_overrides(args.extra)
    bad = [o for o in extra if not o.startswith("eval.")]
    if bad:
        raise ConfigError(f"evaluate takes only --eval.key=value overrides, got {bad[0]!r}")
    return saved.with_overrides(overrides + extra).eval.validate()


def _evaluate(args: argparse.Namespace) -> None:
    from .evaluate import evaluate
    from .evaluation.dynamics import describe as describe_dynamics
    from .evaluation.parameters import describe as describe_parameters
    from .evaluation.state_recovery import curved_only
    from .evaluation.trajectories import describe as describe_trajectories

    cfg = _eval_config(args)
    print(f"protocol: {cfg.describe()}")
    out = _folder(args.out or Path(args.run) / "eval")
    m = evaluate(
        args.run,
        args.data,
        out,
        cfg,
        figures=not args.no_figures,
        predict_data=args.predict_data,
        device=args.device,
        allow_other_data=args.allow_other_data,
    )
    print(f"wrote {out}/metrics.json (device {m['device']}, likelihood {m['likelihood']})")
    physics = m["physics"]
    if "skipped" in physics:
        print(physics["skipped"])
    else:
        r2 = physics["linear"]["r2"]
        print("state recovery R² (linear probe, test): " + ", ".join(f"{k} {v:.3f}" for k, v in r2.items()))
        curved = physics["curved"]["r2"]
        print(
            f"  curved probe (degree {physics['curved']['degree']} of the top {physics['curved']['kept_latents']} "
            "principal components): " + ", ".join(f"{k} {v:.3f}" for k, v in curved.items())
        )
        for name, (lin, bent) in curved_only(physics).items():
            print(
                f"note: {name} reads {bent:.3f} through the curved probe against {lin:.3f} linearly: the latents "
                "hold it through a curved chart (the suites judge the linear probe, DVBF's protocol)"
            )
        pixel = physics["pixel_read"]
        for what, r2 in (
            ("read from the predicted latents", physics["rollout_linear"]["r2"]),
            (
                "re-read by the model from the predicted frames (its inference fuses the transition's prior)",
                physics["rollout_frames_linear"]["r2"],
            ),
            ("pixel reader (no model), the predicted frames", pixel["predicted"]),
            ("pixel reader, the held last context frame (a trivial prediction)", pixel["held"]),
            ("pixel reader, the mean training frame (a trivial prediction)", pixel["mean_frame"]),
            ("pixel reader, the true frames (its ceiling)", pixel["truth"]),
        ):
            print(f"  {what}: " + ", ".join(f"{k} {v:.3f}" for k, v in r2.items()))
        if "position_valid_frames" in physics:
            h = len(physics["position_r2_curve"]["predicted"])
            print(
                f"  position valid for {physics['position_valid_frames']} of {h} frames: the predicted frames show "
                "it better than the held frame, the mean frame and the states' own mean (R² > 0) at each frame (pixel "
                "reader; position_curve.png)"
            )
        if physics.get("rollout_frames_shows_position") is False:
            print(
                "warning: the predicted frames show no position: read from their pixels (no model), every position "
                "target's R² is below 0 (worse than the test states' own mean), whatever the prediction's MSE says"
            )
    p, base = m["prediction"], m["baselines"]
    mean, held = base["mean_frame"], base["hold_last"]
    trivial_vpt = (
        f" (mean frame {mean['vpt_median']:.0f}, holding the last context frame {held['vpt_median']:.0f})"
        if "vpt_median" in mean
        else ""
    )
    print(
        f"prediction: VPT median {p['vpt_median']:.0f} of {p['horizon']} frames{trivial_vpt}; MSE {p['mse']:.4f} "
        f"(mean frame {mean['pred_mse']:.4f}, holding the last context frame {held['pred_mse']:.4f})"
    )
    if "vpt_quartiles" in p:
        q = p["vpt_quartiles"]
        print(
            f"  VPT over sequences: quartiles {q[0]:.0f} / {q[1]:.0f} / {q[2]:.0f}, whole horizon "
            f"{p['vpt_full_share']:.0%}; frames under the threshold anywhere, median {p['valid_frames_median']:.0f}"
        )
    if "clean" in p:
        c = p["clean"]
        print(
            f"  against the frames before sensor noise: VPT median {c['vpt_median']:.0f}, MSE {c['mse']:.4f}"
        )
    sampled = p.get("sampled", {})
    if "skipped" in sampled:
        print(f"  predictive mean over samples: {sampled['skipped']}")
    elif sampled:
        print(
            f"  predictive mean over {sampled['samples']} sampled trajectories: MSE {sampled['mse']:.4f}, "
            f"VPT median {sampled['vpt_median']:.0f}"
        )
    if "vpt_note" in p:
        print(f"note: {p['vpt_note']}")
    if "vpt_uninformative" in base:
        print(f"note: {base['vpt_uninformative']}")
    for flag in base["flags"]:
        print(f"warning: {flag}")
    for line in base.get("advice", []):
        print(f"try: {line}")
    for line in (
        describe_dynamics(m.get("dynamics", {}))
        + describe_trajectories(m.get("trajectories", {}))
        + describe_parameters(m.get("parameters", {}))
    ):
        print(line)


def _detect(args: argparse.Namespace) -> None:
    from .anomaly import DetectConfig, detect

    flags = {
        "split": args.split,
        "threshold_split": args.threshold_split,
        "quantile": args.quantile,
        "scores": _csv(args.scores),
        "max_sequences": args.max_sequences,
        "horizon": args.horizon,
        "samples": args.samples,
        "change_params": _csv(args.change_params),
        "change_factors": _floats(args.change_factors, "--change-factors"),
        "fuse": _csv(args.fuse),
    }
    cfg = DetectConfig(
        **{k: v for k, v in flags.items() if v is not None}
    )  # the rest: DetectConfig's defaults
    out = _folder(args.out or Path(args.run) / "detect")
    m = detect(args.run, args.data, out, cfg, not args.no_figures, args.allow_other_data)
    print(
        f"wrote {out}/metrics.json (threshold: the {cfg.quantile} quantile of normal {cfg.threshold_split})"
    )
    for score, r in m["scores"].items():
        aurocs = ", ".join(f"{k} {_num(v['auroc'])}" for k, v in r["kinds"].items())
        ahead = "" if m["causal"][score] else " (not causal: the posterior at t sees frames after t)"
        print(
            f"{score}: AUROC {aurocs}; false alarms {r['false_alarms']['frame_rate']:.3f} of normal frames{ahead}"
        )


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _synthesize(args: argparse.Namespace) -> None:
    import simulators

    from .run import Run
    from .synthesis import SynthesisConfig, synthesize, write_synthesis

    cfg = SynthesisConfig(args.quantity, args.via, list(args.values or []), args.steps, args.sequences)
    cfg.n_context, cfg.horizon, cfg.split = args.n_context, args.horizon, args.split
    run = Run(args.run)
    data = simulators.load_dataset(args.data or run.config.train.data)
    run.spec.check_data(data, str(run.path))
    out = _folder(args.out or Path(args.run) / "synthesis")
    result = synthesize(run.model, data, cfg)
    write_synthesis(result, out)
    s = result.summary
    print(
        f"{s['quantity']} via {s['via']} over {len(s['requested'])} values × {s['sequences']} sequences: "
        f"measured from the frames, Pearson r {s['pearson_r']:.3f}, slope {s['slope']:.2f}; wrote {out}"
    )


def _bench(args: argparse.Namespace) -> None:
    from .bench import load_suite, run_suite

    suite = load_suite(args.suite)
    out = _folder(args.out or Path("bench_out") / suite.name)
    from .bench.failed import CellsFailed

    if args.refresh_baselines:
        from .bench.refresh import refresh_suite
        from .bench.runner import report_suite

        added = refresh_suite(suite, out, jobs=args.jobs)
        report_suite(suite, out)
        print(f"refreshed {len(added)} records; wrote {out}/results.md")
        return
    try:
        run_suite(suite, out, jobs=args.jobs, device=args.device, cells=args.cells)
    except CellsFailed:
        if (out / "results.md").is_file():
            print((out / "results.md").read_text())
        raise
    print(f"wrote {out}/results.md, results.csv, results.json, comparison.png")
    print((out / "results.md").read_text())


def _dataset_summary(folder) -> str:
    """One line on what a dataset folder holds: splits, frames, look, Δt, states, parameters, references."""
    import simulators

    data = simulators.load_dataset(folder, verify=False)  # just written: its sizes are in meta.json
    m = data.meta
    h, w, c = m["frame_shape"]
    look = f"{h}×{w} {'grey' if c == 1 else 'RGB'}{', binarized' if m['binarized'] else ''}"
    splits = ", ".join(f"{s} {m['splits'][s]['n']}" for s in data.split_names)
    parts = [
        f"{splits} sequences of {m['n_frames']} frames, {look}, Δt {data.dt:g} s"
        + (" (uneven times)" if data.irregular_times else ""),
        f"states {', '.join(m['state_names']) or 'none'}",
        f"parameters {', '.join(m['param_names']) or 'none'}",
    ]
    if m["reference_names"]:
        parts.append(f"reference {', '.join(m['reference_names'])}")
    return "; ".join(parts)


def _import(args: argparse.Namespace) -> None:
    from .importer import ImportOptions, Source, import_video

    test = None
    if args.test_frames:
        test = Source(
            args.test_frames,
            args.test_states,
            args.test_params,
            args.test_times,
            args.test_inputs,
            args.test_reference,
        )
    else:
        given = [
            f"--test-{k}"
            for k in ("states", "params", "times", "inputs", "reference")
            if getattr(args, f"test_{k}")
        ]
        if given:
            raise ConfigError(f"{', '.join(given)} {'needs' if len(given) == 1 else 'need'} --test-frames")
    options = ImportOptions(
        dt=args.dt,
        size=args.size,
        square=args.square,
        binarize=args.binarize,
        state_offset=args.state_offset,
        test_fraction=args.test_fraction,
        val_fraction=args.val_fraction,
        seed=args.seed,
        clip=args.clip,
        frames_key=args.frames_key,
        states_key=args.states_key,
        times_key=args.times_key,
        inputs_key=args.inputs_key,
    )
    out = import_video(
        args.source,
        args.out,
        states=args.states,
        state_names=_csv(args.state_names),
        state_kinds=_csv(args.state_kinds),
        state_units=_csv(args.state_units),
        params=args.params,
        param_names=_csv(args.param_names),
        param_units=_csv(args.param_units),
        times=args.times,
        inputs=args.inputs,
        input_names=_csv(args.input_names),
        reference=args.reference,
        reference_names=_csv(args.reference_names),
        test=test,
        options=options,
        overwrite=args.overwrite,
    )
    print(f"wrote {out}: {_dataset_summary(out)}")


def _csv(text: str | None) -> list[str] | None:
    """'a,b,c' -> ['a', 'b', 'c']; None stays None."""
    return None if text is None else [x.strip() for x in text.split(",")]


def _floats(text: str | None, flag: str) -> list[float] | None:
    """'1.5,2' -> [1.5, 2.0]; None stays None; a ConfigError naming ``flag`` for what is not a number."""
    try:
        return None if text is None else [float(x) for x in _csv(text)]
    except ValueError:
        raise ConfigError(f"{flag} must be comma-separated numbers, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="physvae",
        description="Learn physical dynamics from video.",
        epilog="Exit codes: 0 done, 1 a failure (file system, divergence), 2 bad input; --debug shows tracebacks.",
    )
    p.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the Python traceback of an error",
    )
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser(
        "generate", parents=[common], help="simulate and render a video dataset with its true states"
    )
    g.add_argument("system", nargs="?", help="a system name (pendulum, balls, ...) with default settings")
    g.add_argument(
        "--preset", help="a named published setup (dvbf_pendulum16, kvae_box32, dm_pendulum32, ...)"
    )
    g.add_argument("--out", required=True, help="dataset folder to write")
    g.add_argument("--size", type=int, help="image side in pixels")
    g.add_argument("--frames", type=int, help="frames per sequence")
    g.add_argument("--seed", type=int, help="root seed")
    g.add_argument("--train", type=int, help="training sequences")
    g.add_argument("--val", type=int, help="validation sequences")
    g.add_argument("--test", type=int, help="test sequences")
    g.add_argument(
        "--ood", action="store_true", help="add a test_ood split drawn outside the training ranges"
    )
    g.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. params.n_balls=3 or render.channels=3",
    )
    g.add_argument("--jobs", type=int, default=1, help="worker processes")
    g.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=_generate)

    s = sub.add_parser(
        "show", parents=[common], help="write a GIF and a PNG strip of a few sequences with their states"
    )
    s.add_argument("data", help="dataset folder")
    s.add_argument("--split", help="split to show (default: the first)")
    s.add_argument("--n", type=int, default=4, help="sequences to show")
    s.add_argument("--out", help="output folder (default: DATA/preview)")
    s.set_defaults(func=_show)

    t = sub.add_parser(
        "train",
        parents=[common],
        help="train a temporal VAE on a dataset folder",
        epilog="Any config field can be set as --section.key=value, e.g. --model.transition=neural_ode",
    )
    t.add_argument("--config", help="a config.toml (default: the built-in defaults)")
    t.add_argument("--data", help="dataset folder (same as --train.data=...)")
    t.add_argument("--out", help="run folder to create")
    t.add_argument("--resume", metavar="RUN", help="continue a killed run from its last checkpoint")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train, extra=[])

    e = sub.add_parser(
        "evaluate",
        parents=[common],
        help="frame and physics metrics, latents and figures of a trained run",
        epilog="The protocol is the run's [eval] config; any field can be set as --eval.key=value",
    )
    e.add_argument("run", help="run folder")
    e.add_argument("--data", help="dataset folder (default: the training data; may hold longer sequences)")
    e.add_argument(
        "--predict-data",
        help="dataset folder of longer sequences of the same physics whose test split prediction, the rollout "
        "probes and the trajectory fit use (the suites' long test sets; default: --data)",
    )
    e.add_argument("--out", help="output folder (default: RUN/eval)")
    e.add_argument("--split", help="split to score (= --eval.test_split)")
    e.add_argument("--n-context", type=int, help="prediction: frames conditioned on (= --eval.n_context)")
    e.add_argument("--horizon", type=int, help="prediction: frames predicted, 0: the rest (= --eval.horizon)")
    e.add_argument("--max-sequences", type=int, help="sequences scored per split (= --eval.max_sequences)")
    e.add_argument("--no-poly", action="store_true", help="skip the polynomial Lasso probe")
    e.add_argument("--no-figures", action="store_true", help="metrics and latents only")
    e.add_argument(
        "--allow-other-data",
        action="store_true",
        help="evaluate on data of another system, state names or Δt than the run trained on",
    )
    e.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], help="default: where the run trained, if here"
    )
    e.set_defaults(func=_evaluate, extra=[])

    d = sub.add_parser(
        "detect",
        parents=[common],
        help="per-frame surprise of a trained run on labelled anomaly data: AUROC, AUPRC, delays, figure",
    )
    d.add_argument("run", help="run folder")
    d.add_argument("--data", required=True, help="dataset folder with event labels (params.events.share > 0)")
    d.add_argument("--out", help="output folder (default: RUN/detect)")
    d.add_argument("--split", help="split scored against its labels (default test)")
    d.add_argument("--threshold-split", help="split whose normal sequences set the threshold (default val)")
    d.add_argument(
        "--quantile", type=float, help="threshold: quantile of normal frames' scores (default 0.99)"
    )
    d.add_argument(
        "--scores",
        help="comma-separated: predictive, predictive_sampled, kl, multistep, param_change (a physics "
        "transition's), pixel_change, fused (default: predictive,kl,pixel_change)",
    )
    d.add_argument(
        "--change-params",
        help="param_change: comma-separated parameters to vary, e.g. g_over_l (default: every free one)",
    )
    d.add_argument(
        "--change-factors",
        help="param_change: comma-separated factors f, each tried as ×f and ×1/f (1.25,1.5,2)",
    )
    d.add_argument(
        "--fuse", help="fused: the comma-separated scores it joins (default predictive,param_change)"
    )
    d.add_argument("--max-sequences", type=int, help="sequences scored per split (default 1000)")
    d.add_argument("--horizon", type=int, help="frames ahead of the multistep score's prediction (default 5)")
    d.add_argument("--samples", type=int, help="draws per frame of the predictive_sampled score (default 16)")
    d.add_argument("--no-figures", action="store_true", help="metrics and scores only")
    d.add_argument(
        "--allow-other-data",
        action="store_true",
        help="accept data of another system, state names or Δt than the run trained on",
    )
    d.set_defaults(func=_detect)

    y = sub.add_parser(
        "synthesize",
        parents=[common],
        help="set a physical quantity in a run's latents, roll out, decode, and measure it in the frames",
    )
    y.add_argument("run", help="run folder")
    y.add_argument("--data", help="dataset folder (default: the training data)")
    y.add_argument(
        "--quantity", required=True, help="angle, angular_velocity, energy, speed, or a physics parameter"
    )
    y.add_argument(
        "--via", default="probe", help="probe (the linear probe's rows) or latent (the physics latent)"
    )
    y.add_argument(
        "--values", type=float, nargs="+", help="requested values (default: a sweep over the data)"
    )
    y.add_argument("--steps", type=int, default=9, help="values in the default sweep")
    y.add_argument("--sequences", type=int, default=8, help="test sequences edited")
    y.add_argument("--n-context", type=int, default=5, help="frames inferred from before the edit")
    y.add_argument("--horizon", type=int, default=20, help="frames rolled out after the edit")
    y.add_argument("--split", default="test", help="split whose sequences are edited")
    y.add_argument("--out", help="output folder (default: RUN/synthesis)")
    y.set_defaults(func=_synthesize)

    b = sub.add_parser(
        "bench", parents=[common], help="run a benchmark suite: data, training, evaluation, tables"
    )
    b.add_argument(
        "--suite",
        required=True,
        help="smoke, quick, targets, paper, physics, robustness, ..., or a suite .toml file",
    )
    b.add_argument("--out", help="output folder (default: bench_out/SUITE); rerunning skips finished cells")
    b.add_argument(
        "--jobs", type=int, default=1, help="worker processes (on a GPU they share the device; default 1)"
    )
    b.add_argument(
        "--cells",
        help="run only the cells whose id matches this glob (or one of several, comma-separated), e.g. "
        "'box__*__s0' or 'box__GRU__s0,pendulum__*'",
    )
    b.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    b.add_argument(
        "--refresh-baselines",
        action="store_true",
        help="train nothing: add to the finished cells' records the trivial predictions' figures they predate "
        "(from their data made again), then rewrite the report",
    )
    b.set_defaults(func=_bench)

    i = sub.add_parser("import", parents=[common], help="make a dataset folder from your own frames or video")
    i.add_argument(
        "source", help="a .npy/.npz of frames (N, T, H, W[, C]), a folder of image folders, or video(s)"
    )
    i.add_argument("--out", required=True, help="dataset folder to write")
    i.add_argument("--frames-key", help="the .npz array holding the frames (default: frames)")
    i.add_argument("--states", help="optional .npy/.npz of true states (N, T, D)")
    i.add_argument("--states-key", help="the .npz array holding the states (default: states)")
    i.add_argument(
        "--state-offset",
        type=int,
        default=0,
        metavar="K",
        help="pair frame t with state t-K (1: states saved after each step; may be negative); default 0",
    )
    i.add_argument("--state-names", help="comma-separated names of the D state columns")
    i.add_argument(
        "--state-kinds",
        help="comma-separated kind of each state column: angle, coordinate, velocity, derived, energy or other "
        "(default: coordinate; an angle is probed through its sin and cos)",
    )
    i.add_argument("--state-units", help="comma-separated units of the state columns")
    i.add_argument("--params", help="optional .npy of per-sequence parameters (N, P)")
    i.add_argument(
        "--param-names",
        help="comma-separated names of the P parameters (the fit of stated physics needs the pendulum's "
        "gravity,length,damping with states theta,omega; the spring's k,mass[,damping] with states q,v)",
    )
    i.add_argument("--param-units", help="comma-separated units of the P parameters")
    i.add_argument(
        "--inputs",
        help="optional .npy/.npz of control inputs (N, T, U): input t acts from frame t to the next",
    )
    i.add_argument("--inputs-key", help="the .npz array holding the inputs (default: inputs)")
    i.add_argument("--input-names", help="comma-separated names of the U inputs")
    i.add_argument(
        "--reference",
        help="optional .npy of reference dynamics, (N, R) per sequence or (R,) for all: the frequency (rad/s) and "
        "damping (1/s) the learned dynamics are compared with by `physvae evaluate`",
    )
    i.add_argument(
        "--reference-names",
        help="comma-separated names of the R reference columns, of natural_frequency, damping, frequency, decay "
        "(default: natural_frequency,damping: the ω₀ and γ of x'' = -ω₀² x - γ x')",
    )
    i.add_argument("--dt", type=float, help="seconds between frames (default: 1.0, with a warning)")
    i.add_argument(
        "--times",
        help="optional .npy of frame times in seconds, (N, T) or (T,), increasing (or a 'times' array in the "
        "source .npz); uneven times are stored: continuous-time transitions follow them, discrete ones refuse",
    )
    i.add_argument(
        "--times-key",
        help="the .npz array holding the frame times, in --times or else in the source .npz (default: times)",
    )
    i.add_argument("--size", type=int, help="resize frames to this side (16, 32 or 64; default: the nearest)")
    i.add_argument(
        "--square",
        choices=["crop", "pad"],
        help="non-square frames: keep the central square or pad with black",
    )
    i.add_argument(
        "--binarize",
        type=float,
        metavar="THRESHOLD",
        help="after resizing, frames become exactly 0/1: 1 where brightness (0..1) exceeds THRESHOLD",
    )
    i.add_argument("--test-frames", help="a separate source for the test split (instead of --test-fraction)")
    i.add_argument("--test-states", help="true states of --test-frames")
    i.add_argument("--test-params", help="per-sequence parameters of --test-frames")
    i.add_argument("--test-times", help="frame times of --test-frames")
    i.add_argument("--test-inputs", help="control inputs of --test-frames")
    i.add_argument("--test-reference", help="reference dynamics of --test-frames")
    i.add_argument("--test-fraction", type=float, help="share of sequences in the test split (default 0.2)")
    i.add_argument("--val-fraction", type=float, default=0.0, help="share of sequences in a val split")
    i.add_argument("--seed", type=int, help="shuffle the sequences with this seed before splitting")
    i.add_argument(
        "--clip",
        type=int,
        metavar="T",
        help="cut every sequence (one long video, say) into consecutive clips of T frames; states, times and "
        "inputs are cut alike, parameters repeated; splits keep each source sequence's clips together",
    )
    i.add_argument("--overwrite", action="store_true")
    i.set_defaults(func=_import)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code (0, 1 for a failure, 2 for bad input) and never raises, unless
    ``--debug`` asks for the traceback."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and args.command not in ("train", "evaluate"):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as e:  # argparse has printed its usage and message
        return e.code if isinstance(e.code, int) else BAD_INPUT
    args.extra = extra
    prefix = f"physvae {args.command}"
    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)
        warnings.showwarning = lambda message, *_, **__: print(
            f"{prefix}: warning: {message}", file=sys.stderr
        )
        try:
            args.func(args)
        except KeyboardInterrupt:
            print(f"{prefix}: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # the reader (| head) closed the pipe: what it wanted was printed
            _silence_stdout()
            return 0
        except Exception as e:
            if args.debug:
                raise
            message, code = describe(e)
            print(f"{prefix}: error: {message}", file=sys.stderr)
            return code
    return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's flush at exit does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test capture): nothing to flush
        pass


if __name__ == "__main__":
    sys.exit(main())
