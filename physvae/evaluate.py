"""``evaluate(run, data, out)``: every figure of merit of a trained model, with the protocol that made it.

Frames: reconstruction, prediction over a horizon (curves and averages), valid prediction time, imputation.
Physics: state recovery from posterior latents (linear and polynomial probes) and from predicted latents; for
locally linear models the eigen-analysis of the learned maps beside the data's true frequency and damping.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

import simulators
from simulators import Split
from simulators.storage import write_bytes_atomic, write_json_atomic

from .data import SequenceDataset
from .metrics import frames as fm
from .metrics.dynamics import modes, oscillation
from .metrics.intrinsic import pca_dimension, two_nn
from .metrics.probe import linear_probe, poly_probe
from .model import TemporalVAE
from .run import Run
from .transitions import LocallyLinear

DVBF_LL = {"sin_theta": 0.961, "cos_theta": 0.982, "omega": 0.916}  # Karl et al. 2017, Table 1


@dataclass
class EvalConfig:
    """Evaluation protocol."""

    train_split: str = "train"  # probes are fit here
    test_split: str = "test"  # everything is scored here
    n_context: int = 5  # prediction: frames the model conditions on
    horizon: int = 0  # prediction: frames predicted after the context (0: the rest of each sequence)
    max_sequences: int = 1000  # at most this many sequences per split (the first ones)
    drop_probs: list[float] = field(default_factory=lambda: [0.1, 0.3, 0.5, 0.7, 0.9])  # imputation (a)
    gaps: list[int] = field(default_factory=lambda: [1, 3, 5, 7])  # imputation (b): hidden block lengths
    imputation_first: int = 4  # frames always observed before hidden ones (KVAE)
    poly_probe: bool = True  # also fit the SyMetric-style polynomial probe (slower)
    batch_size: int = 256  # sequences per forward pass
    seed: int = 0  # imputation masks


@dataclass
class Latents:
    """Posterior latents of a split: means z and variances var (N, T, D), true states (N, T, S)."""

    z: np.ndarray
    var: np.ndarray
    states: np.ndarray


def _batches(ds: SequenceDataset, n: int, size: int):
    for s in range(0, n, size):
        yield ds.batch(np.arange(s, min(n, s + size)))


def latents(model: TemporalVAE, split: Split, cfg: EvalConfig) -> Latents:
    """Posterior means and variances of q(z_t | x_1:T) for the first ``max_sequences`` sequences."""
    ds = SequenceDataset(split)
    n = min(len(ds), cfg.max_sequences)
    zs, vs, ss = [], [], []
    with torch.no_grad():
        for b in _batches(ds, n, cfg.batch_size):
            post = model.infer(b.frames, None, b.inputs, sample=False)
            zs.append(post.q_mean.numpy()), vs.append(post.q_std.pow(2).numpy()), ss.append(b.states.numpy())
    return Latents(np.concatenate(zs), np.concatenate(vs), np.concatenate(ss))


def reconstruction(model: TemporalVAE, split: Split, cfg: EvalConfig) -> dict:
    """Posterior reconstruction of the test frames: MSE, PSNR, SSIM averages."""
    ds = SequenceDataset(split)
    rows = []
    with torch.no_grad():
        for b in _batches(ds, min(len(ds), cfg.max_sequences), cfg.batch_size):
            rec, _ = model.reconstruct(b.frames, None, b.inputs)
            rows.append(
                torch.stack([fm.mse(rec, b.frames), fm.psnr(rec, b.frames), fm.ssim(rec, b.frames)], -1)
            )
    m = torch.cat(rows).mean((0, 1))
    return {"mse": float(m[0]), "psnr": float(m[1]), "ssim": float(m[2])}


def prediction(model: TemporalVAE, split: Split, cfg: EvalConfig) -> tuple[dict, np.ndarray]:
    """Condition on n_context frames, predict the horizon; per-step curves, averages and VPT.

    Returns the metrics and the predicted latents (N, horizon, D) for the rollout probe.
    """
    ds = SequenceDataset(split)
    t_len = ds.n_frames
    horizon = cfg.horizon or t_len - cfg.n_context
    if cfg.n_context < 1 or cfg.n_context + horizon > t_len:
        raise ValueError(f"n_context {cfg.n_context} + horizon {horizon} exceeds the {t_len}-frame sequences")
    curves, zs = [], []
    with torch.no_grad():
        for b in _batches(ds, min(len(ds), cfg.max_sequences), cfg.batch_size):
            pred, z = model.predict(b.frames, cfg.n_context, horizon, b.inputs)
            p, t = pred[:, cfg.n_context :], b.frames[:, cfg.n_context : cfg.n_context + horizon]
            curves.append(
                torch.stack([fm.mse(p, t), fm.psnr(p, t), fm.ssim(p, t), fm.normalized_error(p, t)], -1)
            )
            zs.append(z[:, cfg.n_context :].numpy())
    c = torch.cat(curves).numpy()  # (N, H, 4)
    vpt = fm.valid_prediction_time(c[..., 3])
    out = {
        "n_context": cfg.n_context,
        "horizon": horizon,
        "mse": float(c[..., 0].mean()),
        "psnr": float(c[..., 1].mean()),
        "ssim": float(c[..., 2].mean()),
        "mse_curve": c[..., 0].mean(0).tolist(),
        "psnr_curve": c[..., 1].mean(0).tolist(),
        "ssim_curve": c[..., 2].mean(0).tolist(),
        "vpt_median": float(np.median(vpt)),
        "vpt_fraction": float(np.median(vpt) / horizon),
        "vpt_threshold": fm.VPT_THRESHOLD,
    }
    return out, np.concatenate(zs)


def imputation(model: TemporalVAE, split: Split, cfg: EvalConfig, binarized: bool) -> dict:
    """KVAE's two protocols on the test split; Hamming distance for binarized frames, MSE otherwise."""
    ds = SequenceDataset(split)
    n = min(len(ds), cfg.max_sequences)
    rng = np.random.default_rng(cfg.seed)
    metric = fm.hamming if binarized else fm.mse
    first = cfg.imputation_first

    def score(make_mask) -> float:
        total, count = 0.0, 0
        with torch.no_grad():
            for b in _batches(ds, n, cfg.batch_size):
                mask = make_mask(b.frames.shape[0], b.frames.shape[1])
                rec, _ = model.reconstruct(b.frames, mask, b.inputs)
                hidden = mask == 0
                total += float(metric(rec, b.frames)[hidden].sum())
                count += int(hidden.sum())
        return total / max(count, 1)

    def random_mask(p):
        def make(bs, t):
            m = torch.from_numpy((rng.random((bs, t)) >= p).astype(np.float32))
            m[:, :first] = 1
            return m

        return make

    def gap_mask(g):
        def make(bs, t):
            m = torch.ones(bs, t)
            m[:, first : first + g] = 0
            return m

        return make

    t_len = ds.n_frames
    truth = ds.batch(np.arange(n)).frames
    out = {
        "metric": "hamming" if binarized else "mse",
        "first_observed": first,
        "drop": {str(p): score(random_mask(p)) for p in cfg.drop_probs},
        "gap": {str(g): score(gap_mask(g)) for g in cfg.gaps if first + g < t_len},
    }
    if binarized:
        out["baseline_consecutive_hamming"] = fm.consecutive_hamming_baseline(truth)
    return out


def _future_states(split: Split, cfg: EvalConfig, n: int) -> np.ndarray:
    return np.asarray(split.states[:n], dtype=np.float32)


def physics(
    train: Latents,
    test: Latents,
    state_names: list[str],
    pred_z: np.ndarray,
    n_context: int,
    cfg: EvalConfig,
    pred_states: np.ndarray,
) -> dict:
    """State recovery R² (linear and polynomial probes), and from the predicted latents after the context.

    ``pred_states`` (N, T, S) are the true states of the sequences ``pred_z`` (N, H, D) was predicted for.
    """
    if not state_names:
        return {
            "skipped": "the dataset has no true states (imported video without states): no physics metrics"
        }
    lin = linear_probe(train.z, train.states, test.z, test.states, state_names)
    out = {"linear": lin.to_dict()}
    if cfg.poly_probe:
        out["poly"] = poly_probe(train.z, train.states, test.z, test.states, state_names, train.var).to_dict()
    horizon = pred_z.shape[1]
    future = pred_states[:, n_context : n_context + horizon]
    out["rollout_linear"] = linear_probe(train.z, train.states, pred_z, future, state_names).to_dict()
    if "omega" in state_names:
        out["dvbf_ll_published"] = DVBF_LL
    return out


def learned_dynamics(model: TemporalVAE, test: Latents, split: Split) -> dict:
    """Eigen-analysis of LocallyLinear maps beside the data's small-angle frequency √(g/l) and damping γ."""
    tr, dt = model.transition, split.dt
    out: dict = {"transition": type(tr).__name__, "dt": dt}
    if "gravity" in split.param_names and "length" in split.param_names:
        p = np.asarray(split.params)
        g, l = p[:, split.param_names.index("gravity")], p[:, split.param_names.index("length")]
        out["true_small_angle_frequency"] = float(np.mean(np.sqrt(g / l)))
        out["true_damping"] = float(np.mean(p[:, split.param_names.index("damping")]))
    if isinstance(tr, LocallyLinear):
        with torch.no_grad():
            z = torch.from_numpy(test.z.reshape(-1, test.z.shape[-1])).float()
            mean_map = tr.matrices(z).mean(0).numpy()
            usage = tr.weights(z).mean(0).numpy()
        out["mean_map"] = {
            "oscillation": oscillation(mean_map, dt),
            "modes": [m.to_dict() for m in modes(mean_map, dt)],
        }
        out["regimes"] = [
            {"usage": float(u), "oscillation": oscillation(A, dt)}
            for u, A in zip(usage, tr.maps().detach().numpy())
        ]
    return out


def evaluate(
    run: Run | str | Path,
    data: str | Path | None = None,
    out: str | Path | None = None,
    cfg: EvalConfig | None = None,
    figures: bool = True,
    predict_data: str | Path | None = None,
) -> dict:
    """Evaluate a run on a dataset folder and write ``metrics.json``, ``latents.npz`` and figures into ``out``.

    Args:
        run: a Run or its folder.
        data: dataset folder (default: the one the run trained on). Its sequences may be longer than training's.
        out: output folder (default: RUN/eval).
        cfg: the protocol.
        figures: also draw the PNG figures and the GIF.
        predict_data: a dataset folder of longer sequences (same physics) whose test split the prediction and
            the rollout probe use; default: ``data``.

    The run's model moves to the CPU (a run trained on a GPU included); ``cfg.max_sequences`` bounds the cost.
    """
    run = run if isinstance(run, Run) else Run(run)
    cfg = cfg or EvalConfig()
    data = simulators.load_dataset(data or run.config.train.data)
    out = Path(out) if out else run.path / "eval"
    out.mkdir(parents=True, exist_ok=True)
    model = run.model.cpu()  # the probes, curves and figures are numpy: evaluation runs on the CPU
    test = data[cfg.test_split]
    lat_train, lat_test = latents(model, data[cfg.train_split], cfg), latents(model, test, cfg)
    pred_split = simulators.load_dataset(predict_data)[cfg.test_split] if predict_data else test
    pred, pred_z = prediction(model, pred_split, cfg)
    pred["data"] = str(predict_data or data.path)
    metrics = {
        "run": str(run.path),
        "data": str(data.path),
        "protocol": asdict(cfg),
        "transition": run.config.model.transition,
        "reconstruction": reconstruction(model, test, cfg),
        "prediction": pred,
        "imputation": imputation(model, test, cfg, bool(data.meta.get("binarized"))),
        "physics": physics(
            lat_train,
            lat_test,
            data.state_names,
            pred_z,
            cfg.n_context,
            cfg,
            _future_states(pred_split, cfg, len(pred_z)),
        ),
        "dynamics": learned_dynamics(model, lat_test, test),
        "intrinsic_dimension": {
            "two_nn": two_nn(lat_test.z.reshape(-1, lat_test.z.shape[-1])[:5000]),
            "pca_95": pca_dimension(lat_test.z.reshape(-1, lat_test.z.shape[-1])),
        },
    }
    write_json_atomic(out / "metrics.json", metrics)
    npz = io.BytesIO()
    np.savez(
        npz,
        z=lat_test.z,
        var=lat_test.var,
        states=lat_test.states,
        state_names=np.array(data.state_names),
        pred_z=pred_z,
        n_context=cfg.n_context,
    )
    write_bytes_atomic(out / "latents.npz", npz.getvalue())
    if figures:
        from .viz.figures import draw_all

        draw_all(model, test, lat_test, metrics, out, cfg)
    return metrics
