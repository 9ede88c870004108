"""What every evaluation section reads: the model on its device, each split wrapped once, and the latents and
predictions computed once and shared."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from simulators import Dataset, Split

from .. import collapse
from ..data import Batch, SequenceDataset, frames_tensor
from ..metrics import frames as fm
from ..metrics.probe import probe_targets
from ..sampled_prediction import predictive_mean, sample_trajectories
from .pixel_reader import PixelReader, pixels
from .protocol import EvalConfig


@dataclass
class Latents:
    """Posterior latents of a split: means z and variances var (N, T, D), true states (N, T, S), and the model's
    per-frame codes (N, T, m) where it has them (the Kalman VAE's a_t; else None)."""

    z: np.ndarray
    var: np.ndarray
    states: np.ndarray
    codes: np.ndarray | None = None


@dataclass
class Predictions:
    """Rollouts after ``n_context`` frames: per-frame scores (N, H, 4) of MSE, PSNR, SSIM and the normalized error
    of VPT, the predicted latents z (N, H, D), the true states of those frames (N, H, S), and ``z_frames``
    (N, H, D): the posterior means of the predicted *frames*, re-encoded by the model's own inference over the
    decoded sequence (context and prediction; no true frame after the context), which show what the rendered
    prediction holds where the predicted latents may have left the region a probe was fitted on.
    ``clean_scores`` (N, H, 2): MSE and normalized error against the frames before sensor noise, where the data
    has them (None otherwise): noise no prediction can foresee puts even a perfect one above VPT's threshold.
    ``last_states`` (N, S): the true states of the last context frame, the state of the trivial prediction that
    holds it. ``reads``: what the frames show read with no model (``pixel_reader``), where the data has states."""

    n_context: int
    horizon: int
    scores: np.ndarray
    z: np.ndarray
    states: np.ndarray
    z_frames: np.ndarray
    last_states: np.ndarray
    clean_scores: np.ndarray | None = None
    reads: FrameReads | None = None


@dataclass
class FrameReads:
    """Targets read by the pixel reader (fit on the training frames) from the predicted frames (N, H, K), the true
    frames of the horizon (N, H, K: the reader's ceiling), the last context frame (N, K: the held prediction) and
    the mean training frame (K: the mean-frame prediction, drawn at every step)."""

    predicted: np.ndarray
    truth: np.ndarray
    held: np.ndarray
    mean_frame: np.ndarray


class EvalContext:
    """One evaluation pass over a model and a dataset.

    Args:
        model: a trained TemporalVAE (left on its device; batches go there, results come back as numpy).
        data: the dataset scored.
        cfg: the protocol.
        predict_data: a dataset whose ``cfg.test_split`` prediction and the rollout probe use (default:
            ``data``), e.g. longer sequences of the same physics.
        device: where the batches go when ``model`` is None (the data alone: the trivial predictions, see
            ``trivial.py``; nothing that reads the model may be asked of such a context).
    """

    def __init__(
        self, model, data: Dataset, cfg: EvalConfig, predict_data: Dataset | None = None, device: str = "cpu"
    ):
        self.model, self.data, self.cfg = model, data, cfg
        self.device = model.device if model is not None else torch.device(device)
        self.train, self.test = data[cfg.train_split], data[cfg.test_split]
        self.predict_data = (predict_data or data).path
        self.predict_split = predict_data[cfg.test_split] if predict_data else self.test
        self._wrapped: dict[int, SequenceDataset] = {}
        self.results: dict[str, dict] = {}  # each section's output, filled in as the pass goes

    def dataset(self, split: Split) -> SequenceDataset:
        """The split as a SequenceDataset, wrapped once per pass."""
        if id(split) not in self._wrapped:
            self._wrapped[id(split)] = SequenceDataset(split)
        return self._wrapped[id(split)]

    def count(self, split: Split) -> int:
        """Sequences scored in ``split``: the first ``max_sequences``."""
        return min(len(split), self.cfg.max_sequences)

    def batches(self, split: Split):
        """The scored sequences of ``split`` in batches of ``cfg.batch_size``, on the model's device."""
        ds, n = self.dataset(split), self.count(split)
        for s in range(0, n, self.cfg.batch_size):
            yield ds.batch(np.arange(s, min(n, s + self.cfg.batch_size))).to(self.device)

    def targets(self, states: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Probe targets of true states (..., S) by the dataset's declared kinds (see ``probe_targets``)."""
        return probe_targets(states, self.test.state_names, self.test.state_kinds)

    @cached_property
    def train_latents(self) -> Latents:
        return self._latents(self.train)

    @cached_property
    def test_latents(self) -> Latents:
        return self._latents(self.test)

    @cached_property
    def predict_latents(self) -> Latents:
        """Posterior latents of the prediction split, every frame seen (the model shown what it predicts)."""
        return self.test_latents if self.predict_split is self.test else self._latents(self.predict_split)

    def _latents(self, split: Split) -> Latents:
        zs, vs, ss, cs = [], [], [], []
        with torch.no_grad():
            for b in self.batches(split):
                post = self.model.infer(b.frames, None, b.inputs, sample=False, times=b.times)
                zs.append(post.q_mean.cpu().numpy()), vs.append(post.q_std.pow(2).cpu().numpy())
                ss.append(b.states.cpu().numpy())
                if post.codes is not None:
                    cs.append(post.codes.cpu().numpy())
        codes = np.concatenate(cs) if cs else None
        return Latents(np.concatenate(zs), np.concatenate(vs), np.concatenate(ss), codes)

    @cached_property
    def predictions(self) -> Predictions:
        cfg, split = self.cfg, self.predict_split
        t_len = split.frames.shape[1]
        horizon = cfg.prediction_horizon(t_len, f"split {split.name!r}")
        scores, zs, states, reread, last, clean = [], [], [], [], [], []
        reader = self.pixel_reader if self.test.state_names else None
        reads: list[tuple[np.ndarray, ...]] = []
        start = 0  # the first sequence of the batch: batches come in order
        with torch.no_grad():
            for b in self.batches(split):
                p = self._predict(b, horizon, zs, reread)
                t = b.frames[:, cfg.n_context : cfg.n_context + horizon]
                if reader is not None:
                    reads.append(
                        (reader.read(p), reader.read(t), reader.read(b.frames[:, cfg.n_context - 1]))
                    )
                scores.append(_scores(p, t, fm.mse, fm.psnr, fm.ssim, fm.normalized_error))
                if split.frames_clean is not None:
                    t = self._clean_frames(split, start, len(p))[:, cfg.n_context : cfg.n_context + horizon]
                    clean.append(_scores(p, t, fm.mse, fm.normalized_error))
                start += len(p)
                states.append(b.states[:, cfg.n_context : cfg.n_context + horizon].cpu().numpy())
                last.append(b.states[:, cfg.n_context - 1].cpu().numpy())
        return Predictions(
            cfg.n_context,
            horizon,
            np.concatenate(scores),
            np.concatenate(zs),
            np.concatenate(states),
            np.concatenate(reread),
            np.concatenate(last),
            np.concatenate(clean) if clean else None,
            FrameReads(*(np.concatenate(r) for r in zip(*reads)), reader.read(self.mean_frame))
            if reads
            else None,
        )

    @cached_property
    def mean_frame(self) -> torch.Tensor:
        """The mean of the scored training sequences' frames: (C, H, W) in [0, 1], on the model's device."""
        return collapse.mean_frame(self.train.frames, self.device, self.count(self.train))

    @cached_property
    def pixel_reader(self) -> PixelReader:
        """The pixel reader fit on the scored training sequences' true frames and their targets."""
        xs, ys = [], []
        with torch.no_grad():
            for b in self.batches(self.train):
                xs.append(pixels(b.frames)), ys.append(self.targets(b.states.cpu().numpy())[0])
        x, y = np.concatenate(xs), np.concatenate(ys)
        return PixelReader().fit(x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1]))

    @cached_property
    def sampled_scores(self) -> np.ndarray:
        """Per-frame scores (N, H, 4) (MSE, PSNR, SSIM, VPT's normalized error) of the predictive mean over
        ``cfg.prediction_samples`` sampled trajectories (``physvae.sampled_prediction``), same frames as
        ``predictions``; the draws are seeded by ``cfg.seed``."""
        cfg, split = self.cfg, self.predict_split
        horizon = cfg.prediction_horizon(split.frames.shape[1], f"split {split.name!r}")
        generator = torch.Generator(device=self.device).manual_seed(cfg.seed)
        c, scores = cfg.n_context, []
        with torch.no_grad():
            for b in self.batches(split):
                n = cfg.prediction_samples
                draws = sample_trajectories(self.model, b.frames, c, horizon, n, b.inputs, b.times, generator)
                p = predictive_mean(self.model, draws)
                t = b.frames[:, c : c + horizon]
                scores.append(_scores(p[:, c:], t, fm.mse, fm.psnr, fm.ssim, fm.normalized_error))
        return np.concatenate(scores)

    def _predict(self, b: Batch, horizon: int, zs: list, reread: list) -> torch.Tensor:
        """The predicted mean frames (B, horizon, C, H, W) after the context; appends their latents to ``zs`` and
        their re-encoded posterior means to ``reread``."""
        c = self.cfg.n_context
        pred, z = self.model.predict(b.frames, c, horizon, b.inputs, b.times)
        zs.append(z[:, c:].cpu().numpy())
        reread.append(self._reread(pred, b)[:, c:].cpu().numpy())
        return pred[:, c:]

    def _clean_frames(self, split: Split, start: int, n: int) -> torch.Tensor:
        """Sequences start..start+n−1 of ``split`` before sensor noise: (n, T, C, H, W) float in [0, 1]."""
        x = np.array(split.frames_clean[start : start + n])  # a copy: the memory map is read-only
        return frames_tensor(x).to(self.device)

    def _reread(self, pred: torch.Tensor, b: Batch) -> torch.Tensor:
        """Posterior means (B, n, D) of the predicted mean frames pred (B, n, C, H, W) under the model's own
        inference: the decoded sequence read as if it were video."""
        n = pred.shape[1]
        inputs = None if b.inputs is None else b.inputs[:, :n]
        times = None if b.times is None else b.times[:, :n]
        return self.model.infer(pred, None, inputs, sample=False, times=times).q_mean


def _scores(pred: torch.Tensor, truth: torch.Tensor, *metrics) -> np.ndarray:
    """Per-frame ``metrics`` of pred against truth (B, H, C, H, W): (B, H, len(metrics))."""
    return torch.stack([m(pred, truth) for m in metrics], -1).cpu().numpy()
