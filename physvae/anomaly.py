"""``detect(run, data, out)``: flag the frames that break the learned dynamics, scored against labelled events.

Surprise scores, per frame t (nats; higher = more surprising; frame 0 has none):

- ``predictive``: −log p(x_t | x_<t), the negative log-likelihood of frame t under the model's one-step
  prediction: the posterior means of frames < t alone (``model.predict`` with t context frames), the
  transition's mean one step on, decoded. Causal: frame t and later never enter. (For a filtering model this
  is read off one pass, ``causal_sweep``; otherwise it costs T predictions per sequence.)
- ``kl``: KL(q(z_t | ·) ‖ p(z_t | z_{t−1})), the information frame t adds to the latent beyond the dynamics'
  prediction (summed over latent dimensions). Causal for a filtering inference network (``causal_posterior``);
  a smoother's q(z_t | ·) also sees the frames after t, and so does a filter's where the transition takes a
  velocity's evidence from the positions in frames t − 1, t, t + 1 (``Transition.looks_ahead``): then
  ``metrics.json``'s ``causal`` says false for it, and it may flag an event a frame early.
- ``predictive_sampled``: −log p(x_t | x_<t) with the model's own uncertainty: −log (1/S) Σ_s p(x_t | z_t⁽ˢ⁾),
  z_{t−1}⁽ˢ⁾ drawn from the posterior given frames < t and z_t⁽ˢ⁾ from the transition with its process noise
  (``samples`` = S draws; ``physvae.sampled_prediction``), where ``predictive`` scores frame t under the one
  mean trajectory alone. Where the model is unsure how the motion goes on (a bounce due between two frames), a
  normal frame that one of its draws explains is not surprising. Causal; T predictions per sequence.
- ``multistep``: −log p(x_t | x_<t−h+1), frame t under the h-step prediction (``horizon``, default 5) from the
  frames before t − h + 1: for lasting changes of the dynamics (a parameter), which bend one step little.
- ``param_change``: for a transition with stated parameters, how much better frame t is predicted with one
  parameter scaled by a factor than with the learned one (a likelihood ratio, maximized over the parameters
  ``change_params`` and the factors ``change_factors``; ``physvae.anomaly_change``): for changes of gravity or
  length, which bend one step too little for ``predictive`` to rank them above normal frames. Causal.
- ``pixel_change``: the mean |x_t − x_{t−1}| over pixels: a baseline without a model, to show what the
  dynamics add.
- ``fused``: the frame-wise maximum of the scores ``fuse`` names, each mapped so that its median on the normal
  frames of ``threshold_split`` is 0 and its ``quantile`` there 1: one score for events that different scores
  catch. Causal where they all are.

The threshold is the ``quantile`` of a score over the scored frames of the event-free sequences of
``threshold_split`` (e.g. val); AUROC, AUPRC, delays and false alarms are measured on ``split`` (see
``physvae.metrics.detection``). Frames before ``first_frame`` (default: the data's ``events.first_frame``, where
no event can fall and the filter is still settling) are not scored.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch

import simulators
from simulators import ConfigError, Dataset, Split, write_bytes_atomic, write_json_atomic

from . import gaussian
from .anomaly_change import DEFAULT_FACTORS, calibration, changeable, fuse, param_change
from .data import Batch, SequenceDataset
from .inference import FrameInference, InferenceRNN
from .metrics import detection
from .model import TemporalVAE
from .run import Run
from .sampled_prediction import sample_trajectories, supports_sampling
from .transitions import Transition


def predictive_nll(model, b: Batch, one_pass: bool | None = None) -> torch.Tensor:
    """−log p(x_t | x_<t) under the one-step prediction from frames < t: (B, T), NaN at t = 0.

    ``one_pass`` (default: where ``causal_sweep`` allows it): read every prediction off one filtering pass (the
    prior mean p(z_t | z_{t−1}) at the posterior means, decoded), instead of one ``predict`` per frame."""
    if one_pass if one_pass is not None else causal_sweep(model):
        post = model.infer(b.frames, None, b.inputs, sample=False, times=b.times)
        out = -model.likelihood.log_prob(b.frames, model.decode(post.p_mean))  # (B, T)
        out[:, 0] = float("nan")
        return out
    return multistep_nll(model, b, horizon=1)


def causal_posterior(model) -> bool:
    """Whether the posterior q(z_t | ·) depends on frames ≤ t only: a TemporalVAE with a forward (filtering) or
    per-frame inference network whose transition's evidence does not look ahead (``Transition.looks_ahead``)."""
    if not isinstance(model, TemporalVAE):
        return False
    rnn = getattr(model.inference, "rnn", None)
    forward = isinstance(model.inference, FrameInference) or (
        isinstance(model.inference, InferenceRNN) and not rnn.bidirectional
    )
    return forward and not model.transition.looks_ahead


def causal_sweep(model) -> bool:
    """Whether one inference pass over a whole sequence gives, at every t, the prediction ``predict`` makes from
    frames < t: a causal posterior (``causal_posterior``) and a transition that infers nothing per sequence from
    all the evidence (``init_state_from`` not overridden)."""
    return causal_posterior(model) and type(model.transition).init_state_from is Transition.init_state_from


def score_is_causal(model, score: str, parts: Sequence[str] = ()) -> bool:
    """Whether ``score`` at frame t depends on frames ≤ t only (``kl`` only where the posterior is causal;
    ``fused`` where each of its ``parts`` is)."""
    if score == FUSED:
        return all(score_is_causal(model, s) for s in parts)
    return causal_posterior(model) if score == "kl" else True


def multistep_nll(model, b: Batch, horizon: int = 5) -> torch.Tensor:
    """−log p(x_t | x_<t−h+1): the NLL of frame t under the ``horizon``-step prediction (h) from the frames before
    t − h + 1 alone; (B, T), NaN for t < h. A lasting change of the dynamics (a parameter) bends one step
    little and h steps about h² as much, while a good model's own error grows slowly: this score trades a few
    frames of lingering alarm after a one-frame event for that sensitivity."""
    b_size, t_len = b.frames.shape[:2]
    out = torch.full((b_size, t_len), float("nan"), device=b.frames.device)
    for t in range(horizon, t_len):
        c = t - horizon + 1
        mean, _ = model.predict(b.frames[:, :c], c, horizon, b.inputs, b.times)  # (B, c + h, C, H, W)
        emission = torch.logit(mean[:, -1], eps=1e-6)  # the decoder's output whose mean is ``mean``
        out[:, t] = -model.likelihood.log_prob(b.frames[:, t], emission)
    return out


def sampled_nll(model, b: Batch, samples: int = 16, seed: int = 0) -> torch.Tensor:
    """−log (1/S) Σ_s p(x_t | z_t⁽ˢ⁾) with z_t⁽ˢ⁾ sampled one step on from the posterior given frames < t (the
    transition's process noise included): (B, T), NaN at t = 0. The draws are seeded by ``seed`` per batch."""
    b_size, t_len = b.frames.shape[:2]
    out = torch.full((b_size, t_len), float("nan"), device=b.frames.device)
    g = torch.Generator(device=b.frames.device).manual_seed(seed)
    for t in range(1, t_len):
        d = sample_trajectories(model, b.frames[:, :t], t, 1, samples, b.inputs, b.times, g)
        emission = model.decode(d.future[:, :, 0], d.content)  # (B, S, C, H, W): one frame t per draw
        log_p = model.likelihood.log_prob(b.frames[:, t, None].expand_as(emission), emission)  # (B, S)
        out[:, t] = math.log(samples) - torch.logsumexp(log_p, dim=1)
    return out


def latent_kl(model, b: Batch) -> torch.Tensor:
    """KL(q(z_t | ·) ‖ p(z_t | z_{t−1})) summed over latent dimensions: (B, T), NaN at t = 0."""
    post = model.infer(b.frames, None, b.inputs, sample=False, times=b.times)
    kl = gaussian.kl(post.q_mean, post.q_std, post.p_mean, post.p_std).sum(-1)
    kl[:, 0] = float("nan")
    return kl


def pixel_change(model, b: Batch) -> torch.Tensor:
    """Mean |x_t − x_{t−1}| over pixels (no model): (B, T), NaN at t = 0."""
    diff = (b.frames[:, 1:] - b.frames[:, :-1]).abs().flatten(2).mean(-1)
    return torch.cat([torch.full_like(diff[:, :1], float("nan")), diff], dim=1)


SCORES: dict[str, Callable[[object, Batch], torch.Tensor]] = {
    "predictive": predictive_nll,
    "kl": latent_kl,
    "predictive_sampled": sampled_nll,
    "multistep": multistep_nll,
    "param_change": partial(param_change, nll=predictive_nll),
    "pixel_change": pixel_change,
}
FUSED = "fused"  # not a per-batch score: made in ``detect`` from the scores ``DetectConfig.fuse`` names


@dataclass
class DetectConfig:
    """The detection protocol."""

    split: str = "test"  # split scored against its labels
    threshold_split: str = "val"  # split whose event-free sequences set the threshold
    quantile: float = 0.99  # threshold: this quantile of the scores of normal frames of ``threshold_split``
    # scores measured; the first is the main one (``multistep`` on request: it costs T predictions a sequence)
    scores: list[str] = field(default_factory=lambda: ["predictive", "kl", "pixel_change"])
    first_frame: int = -1  # first scored frame (−1: the data's events.first_frame)
    max_sequences: int = 1000  # sequences scored per split (the first ones)
    horizon: int = 5  # frames ahead of the ``multistep`` score's prediction
    samples: int = 16  # draws of the ``predictive_sampled`` score per frame
    batch_size: int = 64  # sequences per batch

    # ``param_change``: the parameters varied (empty: every free one), each scaled by ×f and ×1/f for f here
    change_params: list[str] = field(default_factory=list)
    change_factors: list[float] = field(default_factory=lambda: list(DEFAULT_FACTORS))
    # the ``fused`` score's parts
    fuse: list[str] = field(default_factory=lambda: ["predictive", "param_change"])

    def validate(self) -> DetectConfig:
        if not 0.0 < self.quantile < 1.0:
            raise ConfigError(f"quantile must lie in (0, 1), got {self.quantile!r}")
        bad = [s for s in self.scores if s not in SCORES and s != FUSED]
        if bad or not self.scores:
            known = [*SCORES, FUSED]
            raise ConfigError(f"scores: unknown score {bad[0] if bad else None!r}; known: {known}")
        if FUSED in self.scores:
            parts = [s for s in self.fuse if s in SCORES]
            if len(parts) != len(self.fuse) or len(set(parts)) < 2:
                raise ConfigError(f"fuse must name at least two of {list(SCORES)}, got {self.fuse!r}")
        if not self.change_factors or any(not (f > 0 and f != 1) for f in self.change_factors):
            raise ConfigError(f"change_factors must be > 0 and ≠ 1, got {self.change_factors!r}")
        for name in ("max_sequences", "batch_size", "horizon", "samples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        return self


def surprise(
    model, split: Split, score: str, max_sequences: int, batch_size: int, horizon: int = 5, cfg=None
) -> np.ndarray:
    """One score on the first ``max_sequences`` sequences of a split: (N, T) float64, NaN where undefined.
    ``horizon``: the ``multistep`` score's; ``cfg`` (a DetectConfig): the ``param_change`` score's parameters
    and factors (default: every free parameter, ``DEFAULT_FACTORS``)."""
    ds, n = SequenceDataset(split), min(len(split), max_sequences)
    fn = SCORES[score]
    if score == "multistep":
        fn = partial(multistep_nll, horizon=horizon)
    elif score == "predictive_sampled" and cfg is not None:
        fn = partial(fn, samples=cfg.samples)
    elif score == "param_change" and cfg is not None:
        fn = partial(fn, names=cfg.change_params, factors=cfg.change_factors)
    rows = []
    with torch.no_grad():
        for s in range(0, n, batch_size):
            b = ds.batch(np.arange(s, min(n, s + batch_size))).to(model.device)
            rows.append(fn(model, b).double().cpu().numpy())
    return np.concatenate(rows)


def labels_of(data: Dataset, split: str, n: int) -> np.ndarray:
    """The per-frame event codes (n, T) of a split, or a ConfigError when the data holds no labels."""
    sp = data[split]
    if sp.events is None:
        raise ConfigError(
            f"dataset {data.path} has no anomaly labels (split {split!r} has no events.npy): generate it with "
            "events, e.g. --set params.events.share=0.3"
        )
    return np.asarray(sp.events[:n]).astype(np.int64)


def first_scored_frame(data: Dataset, cfg: DetectConfig) -> int:
    """cfg.first_frame, or the data's events.first_frame where it is −1."""
    if cfg.first_frame >= 0:
        return cfg.first_frame
    events = getattr(getattr(data.config, "params", None), "events", None)
    return int(events.first_frame) if events is not None else 1


def detect(
    run: Run | str | Path,
    data: str | Path,
    out: str | Path | None = None,
    cfg: DetectConfig | None = None,
    figures: bool = True,
    allow_other_data: bool = False,
) -> dict:
    """Score every frame of a labelled dataset and write ``metrics.json``, ``scores.npz`` and a figure to ``out``.

    Args:
        run: a Run or its folder.
        data: a dataset folder with event labels (``simulators/events.py``).
        out: output folder (default: RUN/detect).
        cfg: the protocol (default: DetectConfig()).
        figures: also draw ``scores.png`` (the main score over time, events and threshold marked).
        allow_other_data: accept data of another system, state names or Δt (as ``evaluate``).

    Returns:
        The metrics: per score, the threshold, per event kind AUROC, AUPRC and delays, and the false alarms.

    Raises:
        ConfigError: the data has no labels or breaks the run's contract (``DataSpec.check_data``), a split
            is missing, or ``param_change`` (alone or fused) is asked of a model without stated parameters;
            checked before anything is written.
    """
    run = run if isinstance(run, Run) else Run(run)
    cfg = (cfg or DetectConfig()).validate()
    dataset = simulators.load_dataset(data)
    run.spec.check_data(dataset, str(run.path), allow_other_data)
    n_test = min(len(dataset[cfg.split]), cfg.max_sequences)
    n_thr = min(len(dataset[cfg.threshold_split]), cfg.max_sequences)
    labels, thr_labels = labels_of(dataset, cfg.split, n_test), labels_of(dataset, cfg.threshold_split, n_thr)
    start = first_scored_frame(dataset, cfg)
    model = run.model
    parts = cfg.fuse if FUSED in cfg.scores else []
    wanted = [s for s in dict.fromkeys([*cfg.scores, *parts]) if s != FUSED]  # the per-batch scores measured
    if "param_change" in wanted:
        changeable(model, cfg.change_params)  # a model without stated parameters: refused before any work
    if "predictive_sampled" in wanted and not supports_sampling(model):
        raise ConfigError(
            f"score predictive_sampled draws from a transition; {type(model).__name__} predicts in closed form "
            "only (use predictive)"
        )
    names = dataset[cfg.split].event_names
    normal = thr_labels.max(axis=1) == 0
    arrays, normals = {"labels": labels}, {}
    for score in wanted:
        arrays[score] = surprise(
            model, dataset[cfg.split], score, cfg.max_sequences, cfg.batch_size, cfg.horizon, cfg
        )
        normals[score] = surprise(
            model, dataset[cfg.threshold_split], score, cfg.max_sequences, cfg.batch_size, cfg.horizon, cfg
        )[normal]
    if FUSED in cfg.scores:
        cal = [calibration(normals[s], detection.window(normals[s], start), cfg.quantile) for s in cfg.fuse]
        arrays[FUSED] = fuse([arrays[s] for s in cfg.fuse], cal)
        normals[FUSED] = fuse([normals[s] for s in cfg.fuse], cal)
    results = {}
    for score in cfg.scores:
        s, s_thr = arrays[score], normals[score]
        thr = detection.threshold(s_thr, detection.window(s_thr, start), cfg.quantile)
        results[score] = detection.report(s, labels, detection.window(s, start), thr, names)
    arrays = {k: v for k, v in arrays.items() if k == "labels" or k in cfg.scores}
    metrics = {
        "run": str(run.path),
        "data": str(dataset.path),
        "protocol": {**asdict(cfg), "first_frame": start},
        "main_score": cfg.scores[0],
        "causal": {score: score_is_causal(model, score, cfg.fuse) for score in cfg.scores},
        "event_names": names,
        "scores": results,
    }
    out = Path(out) if out else run.path / "detect"
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "metrics.json", metrics)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes_atomic(out / "scores.npz", buf.getvalue())
    if figures:
        from .viz.anomaly import score_figure

        main = cfg.scores[0]
        score_figure(arrays[main], labels, names, results[main]["threshold"], start, main, out / "scores.png")
    return metrics
