"""Training: ``fit(config, run_dir)`` — the one function the CLI and notebooks call.

Reproducibility: step s draws its batch from ``np.random.default_rng([seed, s])`` and its noise after
``torch.manual_seed(seed · 1_000_003 + s)``, so a run resumed from its checkpoint at step k continues exactly as
the uninterrupted run would (on the CPU, bit for bit).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import simulators
from simulators import ConfigError, remove_stale, write_json_atomic, write_text_atomic

from . import checkpoint, collapse
from .build import auto_likelihood
from .config import RunConfig
from .cost import CostEstimate
from .data import SequenceDataset
from .devices import resolve_device
from .kl_weight import beta_at, rewarm_due, rewarm_steps
from .model import DataSpec, TemporalVAE
from .noise_floor import ClippedNoise, clipped_noise
from .provenance import code_source
from .run import Run, load_weights, read_metrics, seeded_model
from .transitions import TRANSITIONS


class TrainingDiverged(RuntimeError):
    """The loss or the gradient became NaN or infinite; the last good checkpoint is kept."""


def lr_at(cfg, step: int) -> float:
    """Cosine decay from lr to lr · lr_final over the run."""
    f = 0.5 * (1 + math.cos(math.pi * min(step, cfg.steps) / cfg.steps))
    return cfg.lr * (cfg.lr_final + (1 - cfg.lr_final) * f)


def predict_weight_at(cfg, spread: float) -> float:
    """λ of the prediction term at a step: the larger of ``predict_weight`` and ``predict_weight_start`` ×
    (1 − min(1, s / ``predict_weight_release``)), s the decoded frames' spread over the data's at the step before
    (``collapse.spread_ratio`` of the training batch, clipped to [0, 1]; 0 before the first step). While the decoder
    draws one frame whatever the latents (s near 0: at the start of every run, and in a collapse) λ holds at the
    start weight, whose pull through the rolled-out transition makes the latents carry the state; once the decoded
    frames vary by the release's share of the data's spread, λ is ``predict_weight``."""
    released = min(max(spread, 0.0) / cfg.predict_weight_release, 1.0)
    return max(cfg.predict_weight, cfg.predict_weight_start * (1.0 - released))


def _prepare(
    config: RunConfig, run_dir: Path, resume: bool
) -> tuple[RunConfig, Run, SequenceDataset, torch.device, torch.nn.Module]:
    """Check everything that can be checked (config, data, device, the model that config and data make), then
    create the run folder (or open it to resume): a start that fails leaves nothing behind that blocks the
    corrected retry. Returns the model at its initial weights, on the device."""
    if resume:
        if not (run_dir / "config.toml").is_file():
            raise ConfigError(f"cannot resume: {run_dir} is not a run folder (no config.toml)")
        run = Run(run_dir)
        config = run.config
    elif (run_dir / "config.toml").exists() and (run_dir / "spec.json").exists():
        raise ConfigError(
            f"run folder {run_dir} already holds a run; resume it with --resume or choose another"
        )
    config.validate()
    data = simulators.load_dataset(config.train.data)
    check_time_grid(data, config.model.transition)
    split = data[config.train.train_split]
    noise = clipped_noise(split.frames)  # read once: the spec keeps it, the warning explains it
    spec = replace(DataSpec.from_dataset(data), clipped_noise=noise is not None)
    config.train.check_length(split.frames.shape[1], f"split {split.name!r} of {data.path}")
    if resume:
        run.spec.check_data(data, str(run_dir))
    train = SequenceDataset(split, window=config.train.window or None)
    device = resolve_device(config.train.device)
    if config.train.precision == "bf16" and device.type != "cuda":
        warnings.warn(f"train.precision=bf16 needs CUDA; training on {device} in fp32", stacklevel=3)
    if config.model.likelihood == "bernoulli" and not spec.binarized:
        warnings.warn(
            f"model.likelihood=bernoulli on grey-level data ({data.path} is not binarized): pixels are scored as "
            f"probabilities of being lit; 'auto' would choose {AUTO_NAMES[auto_likelihood(spec)]}",
            stacklevel=3,
        )
    _warn_clipped_noise(config.model.likelihood, spec, noise, f"split {split.name!r} of {data.path}")
    model = seeded_model(config, run.spec if resume else spec, device)  # the transition checks the data here
    for folder in (run_dir, run_dir / "checkpoints"):  # temporaries of a killed session
        remove_stale(folder)
    return config, run if resume else Run.create(run_dir, config, spec), train, device, model


AUTO_NAMES = {  # what model.likelihood=auto takes, as a warning says it
    "bernoulli": "the Bernoulli",
    "gaussian": "a Gaussian",
    "censored": "the censored Gaussian (the frames show clipped sensor noise)",
}


def _warn_clipped_noise(likelihood: str, spec: DataSpec, noise: ClippedNoise | None, source: str) -> None:
    """Say which likelihood the clipped sensor noise in the training frames meets: the censored one chosen by
    ``auto``, or a Gaussian asked for."""
    if noise is None or likelihood not in ("auto", "gaussian") or (likelihood == "auto" and spec.binarized):
        return
    warnings.warn(noise.advice(source, chosen=likelihood == "auto"), stacklevel=4)


def check_time_grid(data: simulators.Dataset, transition: str) -> None:
    """Refuse unevenly spaced frames (training and evaluation) for a transition that steps by one fixed Δt; a
    continuous-time one integrates over each sequence's own intervals."""
    if not data.irregular_times or _continuous(transition):
        return
    raise ConfigError(
        f"dataset {data.path} has unevenly spaced frames (its splits' times.npy); the {transition!r} transition "
        "cannot model them: it is a discrete-time model that steps by one fixed Δt. Use a continuous-time "
        "transition (neural_ode, physics or hamiltonian), or resample the video to even times and import it again"
    )


def _continuous(transition: str) -> bool:
    """Whether a registered transition has a vector field (a continuous-time model)."""
    cls = TRANSITIONS.get(transition)
    return cls is not None and cls.continuous_time()


def _mask(b: int, t: int, p: float, rng: np.random.Generator) -> torch.Tensor | None:
    if p <= 0:
        return None
    m = (rng.random((b, t)) >= p).astype(np.float32)
    m[:, 0] = 1.0
    return torch.from_numpy(m)


def fit(
    config: RunConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    callback: Callable[[int, dict], None] | None = None,
) -> Run:
    """Train a temporal VAE and return its run.

    Args:
        config: the run's configuration (ignored when resuming: the run's own config.toml is used).
        run_dir: the run folder to create (or to resume).
        resume: continue from ``run_dir/checkpoints/last.pt``.
        progress: show a progress bar.
        callback: called after every step with (step, metrics); an exception there stops training.

    Raises:
        TrainingDiverged: a non-finite loss or gradient, naming the step; the last checkpoint stays intact.
    """
    run_dir = Path(run_dir)
    code_source()  # the code this process trains with, taken now: edits and commits made meanwhile do not count
    config, run, train, device, model = _prepare(config, run_dir, resume)
    cfg = config.train
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run.device = device
    optim = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    start, before = 0, 0.0  # steps and training seconds already in the checkpoint
    # the steps after which β was re-warmed, training having been judged collapsed (physvae.kl_weight)
    rewarms: list[int] = []
    spread = 0.0  # the decoded frames' spread over the data's at the last step (predict_weight_at)
    if resume and run.checkpoint_path.is_file():
        state = checkpoint.load(run.checkpoint_path, device)
        load_weights(model, state["model"], run.checkpoint_path)
        try:
            optim.load_state_dict(state["optimizer"])
        except ValueError as e:  # the parameters changed shape or number since the checkpoint was written
            raise ConfigError(
                f"cannot resume {run_dir}: its checkpoint's optimizer state does not fit this physvae's model "
                f"({e}); evaluate the run as it is, or train it again"
            ) from e
        start, before = state["step"], state.get("train_seconds", 0.0)
        rewarms = list(state.get("rewarms", []))
        spread = state.get("spread", 0.0)
    _trim_metrics(run_dir / "metrics.jsonl", start)
    amp = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if cfg.precision == "bf16" and device.type == "cuda"
        else None
    )
    if not resume and getattr(model.decoder, "compose", None) == "over":
        model.decoder.init_background(train.frames)  # a painted background starts from the data's
    if not resume and getattr(model.encoder, "centered", False):
        model.encoder.init_input(train.frames)  # the input's centre and contrast: the training frames'
    mean_frame = collapse.mean_frame(train.frames, device)
    t0, seen = time.perf_counter(), 0
    bar = tqdm(
        range(start + 1, cfg.steps + 1),
        initial=start,
        total=cfg.steps,
        disable=not progress,
        desc=f"train {config.model.transition}",
    )
    model.train()
    estimate = CostEstimate(cfg.steps - start, device.type, torch.get_num_threads())
    for step in bar:
        beta = beta_at(cfg, step, rewarms)
        weight = predict_weight_at(cfg, spread)
        metrics = _step(model, optim, train, cfg, step, device, amp, mean_frame, beta, weight)
        if metrics.get("decoded_spread") is not None:
            spread = metrics["decoded_spread"]
        for line in estimate.tick() if progress else []:
            tqdm.write(line)
        if rewarm_due(cfg, step, metrics.get("collapsed", False), rewarms):
            rewarms.append(step)
            metrics["rewarm"] = True
        seen += cfg.batch_size
        metrics["seq_per_s"] = seen / (time.perf_counter() - t0)
        if _logged(cfg, step):
            _log(run_dir / "metrics.jsonl", metrics)
            bar.set_postfix(
                loss=f"{metrics['loss']:.2f}",
                kl=f"{metrics['kl']:.2f}",
                seq_s=f"{metrics['seq_per_s']:.0f}",
                **_warning(metrics, step, cfg),
            )
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            elapsed = before + time.perf_counter() - t0
            state = {
                "model": model.state_dict(),
                "optimizer": optim.state_dict(),
                "step": step,
                "rewarms": rewarms,
                "spread": spread,
            }
            checkpoint.save_atomic({**state, "train_seconds": elapsed}, run.checkpoint_path)
        if callback:
            callback(step, metrics)
    bar.close()
    checkpoint.save_atomic({"model": model.state_dict()}, run_dir / "model.pt")
    _write_summary(run, model, cfg, device, time.perf_counter() - t0, before, start)
    return Run(run_dir, device)


def _step(
    model: TemporalVAE,
    optim,
    train: SequenceDataset,
    cfg,
    step: int,
    device,
    amp,
    mean_frame,
    beta: float,
    weight: float,
) -> dict:
    rng = np.random.default_rng([cfg.seed, step])
    torch.manual_seed(cfg.seed * 1_000_003 + step)
    batch = train.sample(cfg.batch_size, rng).to(device)
    mask = _mask(*batch.frames.shape[:2], cfg.mask_prob, rng)
    for group in optim.param_groups:
        group["lr"] = lr_at(cfg, step)
    with amp or nullcontext():
        out = model.elbo(
            batch.frames,
            batch.inputs,
            mask,
            beta=beta,
            free_bits=cfg.free_bits,
            predict_weight=weight,
            predict_context=_predict_context(cfg, rng, batch.frames.shape[1]),
            times=batch.times,
            predict_latent_weight=cfg.predict_latent_weight,
        )
    loss = out["loss"]
    if not torch.isfinite(loss):
        raise TrainingDiverged(f"loss is {loss.item()} at step {step}; the last good checkpoint is kept")
    optim.zero_grad(set_to_none=True)
    loss.backward()
    for p in model.held_parameters(step):
        p.grad = None  # the optimizer leaves a parameter without a gradient as it is
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or float("inf"))
    if not torch.isfinite(norm):
        raise TrainingDiverged(
            f"gradient norm is {norm.item()} at step {step}; the last good checkpoint is kept"
        )
    optim.step()
    nfe = model.transition.nfe
    model.transition.reset_nfe()
    kl = out["kl"].item()
    metrics = {
        "step": step,
        "loss": loss.item(),
        "elbo": out["elbo"].item(),
        "recon": out["recon"].item(),
        "kl": kl,
        "predict": out["predict"].item(),
        "regularizer": out["regularizer"].item(),
        "beta": beta,
        "predict_weight": weight,
        "lr": lr_at(cfg, step),
        "nfe": nfe,
    }
    logged = _logged(cfg, step)
    if not (logged or cfg.predict_weight_start > cfg.predict_weight):
        return metrics
    with torch.no_grad():
        frames = batch.frames.float()
        decoded = model.likelihood.mean(out["emission"].float())
        spread = collapse.spread_ratio(decoded, frames)
    metrics["decoded_spread"] = spread  # every step where it steers λ (predict_weight_at), else where logged
    if logged:  # the collapse check: the reconstruction against drawing the mean frame
        with torch.no_grad():
            recon_mse = (decoded - frames).pow(2).mean().item()
            mean_mse = (mean_frame - frames).pow(2).mean().item()
        judged = spread if spread is not None and collapse.spread_judged(step, cfg.steps) else None
        metrics.update(
            recon_mse=recon_mse,
            mean_frame_mse=mean_mse,
            collapsed=collapse.collapsed(kl, recon_mse, mean_mse, judged),
        )
    return metrics


def _warning(metrics: dict, step: int, cfg) -> dict:
    """The progress bar's warning, if any: collapse at any step (and the re-warm it started); from a quarter of the
    steps on, a reconstruction no better than the mean frame (earlier, every model is still learning the frame)."""
    if metrics.get("rewarm"):
        return {"warning": f"COLLAPSED: β re-warmed from 0 over {rewarm_steps(cfg)} steps"}
    if metrics["collapsed"]:
        return {"warning": "COLLAPSED (latents unused, mean frame)"}
    if step >= cfg.steps / 4 and collapse.no_better(metrics["recon_mse"], metrics["mean_frame_mse"]):
        return {"warning": "recon no better than the mean frame"}
    return {}


def _logged(cfg, step: int) -> bool:
    """Whether step's metrics go to metrics.jsonl and the progress bar."""
    return step % cfg.log_every == 0 or step == cfg.steps


def _predict_context(cfg, rng: np.random.Generator, length: int) -> int:
    """The prediction term's context length this step for windows of ``length`` frames: uniform in
    [predict_context, min(predict_context_max, length − 1)], drawn from the step's generator (a resumed run draws
    the same); predict_context itself when that range is empty or predict_context_max is 0 (``check_length``
    has made sure predict_context < length)."""
    high = min(cfg.predict_context_max, length - 1)
    if high <= cfg.predict_context:
        return cfg.predict_context
    return int(rng.integers(cfg.predict_context, high + 1))


def _log(path: Path, metrics: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(metrics) + "\n")


def _trim_metrics(path: Path, last_step: int) -> None:
    """Drop lines logged after the checkpoint a resumed run restarts from (they will be logged again)."""
    if not path.is_file():
        return
    keep = [m for m in read_metrics(path) if m["step"] <= last_step]
    write_text_atomic(path, "".join(json.dumps(m) + "\n" for m in keep))


def _write_summary(run: Run, model, cfg, device, seconds: float, before: float, start: int) -> None:
    """summary.json: ``train_seconds`` is the training time of every session summed (the checkpoint carries it;
    steps redone after a kill count once), ``train_seconds_this_session`` this session's alone."""
    last = run.metrics()[-1] if run.metrics() else {}
    summary = {
        "steps": cfg.steps,
        "resumed_from": start,
        "train_seconds": before + seconds,
        "train_seconds_this_session": seconds,
        "device": str(device),
        "torch": torch.__version__,
        "source": code_source(),  # the git commit of the code that trained (None outside a checkout)
        "final": last,
        "collapse": collapse.summarize(run.metrics()),
        "mean_frame": collapse.against_mean_frame(run.metrics()),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    write_json_atomic(run.path / "summary.json", summary)
