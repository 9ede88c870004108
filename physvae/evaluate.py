"""``evaluate(run, data, out)``: every figure of merit of a trained model, with the protocol that made it.

One ``EvalContext`` (the model on its device, latents and predictions computed once) feeds every registered
section of ``physvae.evaluation.SECTIONS`` in order; their results, the protocol and the run's identity go to
``metrics.json``, the test latents to ``latents.npz``, and the figures beside them.
"""

from __future__ import annotations

import io
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

import simulators
from simulators import remove_stale, write_bytes_atomic, write_json_atomic

from .devices import resolve_device
from .evaluation import SECTIONS, EvalConfig
from .evaluation.context import EvalContext, Latents
from .run import Run
from .train import check_time_grid

__all__ = ["EvalConfig", "Latents", "evaluate", "resolve_eval_device"]


def resolve_eval_device(run: Run, device: str | None) -> torch.device:
    """``device`` if given; else CUDA when the run trained there and this machine has it, else the CPU."""
    if device is None:
        trained = str(run.summary().get("device", "cpu"))
        device = "auto" if trained.startswith("cuda") else "cpu"
    return resolve_device(device)


def evaluate(
    run: Run | str | Path,
    data: str | Path | None = None,
    out: str | Path | None = None,
    cfg: EvalConfig | None = None,
    figures: bool = True,
    predict_data: str | Path | None = None,
    device: str | None = None,
    allow_other_data: bool = False,
) -> dict:
    """Evaluate a run on a dataset folder and write ``metrics.json``, ``latents.npz`` and figures into ``out``.

    Args:
        run: a Run or its folder.
        data: dataset folder (default: the one the run trained on). Its sequences may be longer than training's.
        out: output folder (default: RUN/eval).
        cfg: the protocol (default: the run's own ``[eval]`` config).
        figures: also draw the PNG figures and the GIF.
        predict_data: a dataset folder of longer sequences (same physics) whose test split the prediction and
            the rollout probe use; default: ``data``.
        device: where the model runs ("cpu", "cuda"); default: the device the run trained on if this machine
            has it, else the CPU. The run's model is moved there.
        allow_other_data: evaluate on data of another system, other state names or another Δt than the run's
            (frames and inputs must still be the ones the model reads).

    Raises:
        ConfigError: the data breaks the run's contract (``DataSpec.check_data``) or its sequences are too short
            for the protocol; checked before anything is computed or written.
    """
    run = run if isinstance(run, Run) else Run(run)
    cfg = (cfg or run.config.eval).validate()
    data = simulators.load_dataset(data or run.config.train.data)
    longer = simulators.load_dataset(predict_data) if predict_data else None
    for d in (data, longer):
        if d is not None:
            check_time_grid(d, run.config.model.transition)
            run.spec.check_data(d, str(run.path), allow_other_data)
    data[cfg.train_split], data[cfg.test_split]  # noqa: B018 (a missing split: DatasetError naming those there are)
    test = (longer or data)[cfg.test_split]
    cfg.prediction_horizon(test.frames.shape[1], f"split {cfg.test_split!r} of {(longer or data).path}")
    # a damaged or edited run fails here, before anything is written
    model = run.model.to(resolve_eval_device(run, device))
    out = Path(out) if out else run.path / "eval"
    out.mkdir(parents=True, exist_ok=True)
    remove_stale(out)
    ctx = EvalContext(model, data, cfg, longer)
    metrics = {
        "run": str(run.path),
        "data": str(data.path),
        "protocol": asdict(cfg),
        "transition": run.config.model.transition,
        "likelihood": model.likelihood.name,  # what model.likelihood (auto: chosen from the data) built
        "device": str(ctx.device),
    }
    for name, section in SECTIONS.items():
        metrics[name] = ctx.results[name] = section().run(ctx)
    write_json_atomic(out / "metrics.json", metrics)
    _save_latents(out / "latents.npz", ctx)
    if figures:
        from .viz.figures import draw_all

        draw_all(model, ctx.test, ctx.test_latents, metrics, out, cfg, predict_split=ctx.predict_split)
    return metrics


def _save_latents(path: Path, ctx: EvalContext) -> Path:
    lat, buf = ctx.test_latents, io.BytesIO()
    np.savez(
        buf,
        z=lat.z,
        var=lat.var,
        states=lat.states,
        state_names=np.array(ctx.test.state_names),
        state_kinds=np.array(ctx.test.state_kinds),
        pred_z=ctx.predictions.z,
        n_context=ctx.cfg.n_context,
        **({} if lat.codes is None else {"codes": lat.codes}),
    )
    return write_bytes_atomic(path, buf.getvalue())
