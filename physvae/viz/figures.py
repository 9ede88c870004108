"""Evaluation figures: PNGs (matplotlib) and a truth | reconstruction | prediction GIF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression

from ..data import SequenceDataset
from ..metrics.probe import probe_targets
from .preview import figure, frames_to_rgb, save_figure, side_by_side, write_gif


def video(model, split, cfg, path: Path, n: int = 4) -> Path:
    """GIF: for n sequences of ``split`` (the one prediction is scored on: its sequences must be longer than
    n_context), truth | reconstruction | prediction (after n_context frames) side by side."""
    b = SequenceDataset(split).batch(np.arange(min(n, len(split)))).to(model.device)
    with torch.no_grad():
        rec, _ = model.reconstruct(b.frames, None, b.inputs, b.times)
        pred, _ = model.predict(b.frames, cfg.n_context, b.frames.shape[1] - cfg.n_context, b.inputs, b.times)
    to_u8 = lambda x: (x.clamp(0, 1) * 255).byte().permute(0, 1, 3, 4, 2).cpu().numpy()  # noqa: E731
    scale = max(1, 64 // split.frames.shape[2])
    rows = [
        side_by_side(frames_to_rgb(np.stack([to_u8(v)[i] for v in (b.frames, rec, pred)]), scale))
        for i in range(b.frames.shape[0])
    ]
    gap = np.full((rows[0].shape[0], 4, rows[0].shape[2], 3), 255, np.uint8)
    return write_gif(path, np.concatenate([x for r in rows for x in (r, gap)][:-1], axis=1), fps=8)


def state_scatter(lat, split, r2: dict, path: Path) -> Path:
    """True state vs its linear read-out from the latents, one panel per probe target, R² in the title."""
    y, names = probe_targets(lat.states, split.state_names, split.state_kinds)
    z, y = lat.z.reshape(-1, lat.z.shape[-1]), y.reshape(-1, y.shape[-1])
    pred = LinearRegression().fit(z, y).predict(z)
    fig, axes = figure(1, len(names), (2.6 * len(names), 2.6))
    for j, name in enumerate(names):
        ax = axes[0, j]
        ax.scatter(y[:, j], pred[:, j], s=2, alpha=0.3)
        ax.set_title(f"{name}  R²={r2.get(name, float('nan')):.3f}", fontsize=8)
        ax.set_xlabel("true", fontsize=7), ax.set_ylabel("from latents", fontsize=7)
    return save_figure(fig, path)


def prediction_curves(pred: dict, path: Path) -> Path:
    """MSE, PSNR and SSIM against the prediction step."""
    fig, axes = figure(1, 3, (9, 2.6))
    axes = axes[0]
    for ax, key in zip(axes, ("mse_curve", "psnr_curve", "ssim_curve")):
        ax.plot(np.arange(1, len(pred[key]) + 1), pred[key])
        ax.set_xlabel("frames after the context"), ax.set_title(key.replace("_curve", "").upper())
    axes[0].axvline(pred["vpt_median"], color="r", ls="--", label="median VPT")
    axes[0].legend(fontsize=7)
    return save_figure(fig, path)


def position_curve(physics: dict, path: Path) -> Path | None:
    """The position the predicted frames show at each frame of the horizon (mean R² of the position targets over
    the sequences, read by the pixel reader with no model) beside the true frames' (the reader's ceiling), the held
    last context frame's and the mean training frame's (the axis clipped at −1); the valid frames marked. None
    where the evaluation has no such curve (no positions, or one test sequence)."""
    curves = physics.get("position_r2_curve")
    if curves is None:
        return None
    fig, axes = figure(1, 1, (4.5, 3.0))
    ax = axes[0, 0]
    steps = np.arange(1, len(curves["predicted"]) + 1)
    for key, label, style in (
        ("predicted", "predicted frames", "-"),
        ("truth", "true frames (ceiling)", ":"),
        ("held", "held last context frame", "--"),
        ("mean_frame", "mean training frame", "-."),
    ):
        ax.plot(steps, curves[key], style, label=label)
    if "position_valid_frames" in physics:
        ax.axvline(physics["position_valid_frames"] + 0.5, color="r", lw=0.8, label="position valid until")
    values = np.concatenate([np.asarray(c, dtype=float) for c in curves.values()])
    finite = values[np.isfinite(values)]  # a diverged rollout reads NaN
    ax.set_ylim(max(-1.0, float(finite.min()) - 0.05) if finite.size else -1.0, 1.02)
    ax.set_xlabel("frames after the context"), ax.set_ylabel("position R² (pixel reader)")
    ax.legend(fontsize=6)
    return save_figure(fig, path)


def phase_portrait(model, lat, split, path: Path) -> Path:
    """Latent trajectories in their two leading principal components, coloured by a true state variable (the
    first velocity the data declares, else its first column); for a continuous-time transition, its vector field
    (with zero control) projected on the same plane."""
    z = lat.z.reshape(-1, lat.z.shape[-1])
    pca = PCA(n_components=min(2, z.shape[1])).fit(z)
    kinds = split.state_kinds or []
    colour = kinds.index("velocity") if "velocity" in kinds else 0
    c = lat.states[..., colour]
    fig, axes = figure(figsize=(4.5, 4))
    ax = axes[0, 0]
    for i in range(min(len(lat.z), 40)):
        p = pca.transform(lat.z[i])
        ax.plot(p[:, 0], p[:, 1] if p.shape[1] > 1 else 0 * p[:, 0], color="0.8", lw=0.5, zorder=0)
    pts = pca.transform(z)
    sc = ax.scatter(
        pts[:, 0], pts[:, 1] if pts.shape[1] > 1 else 0 * pts[:, 0], c=c.reshape(-1), s=3, cmap="viridis"
    )
    fig.colorbar(sc, ax=ax, label=split.state_names[colour])
    if pts.shape[1] > 1:
        _quiver(ax, model, pca, pts)
    ax.set_xlabel("PC 1"), ax.set_ylabel("PC 2")
    return save_figure(fig, path)


def _quiver(ax, model, pca: PCA, pts: np.ndarray) -> None:
    lo, hi = pts.min(0), pts.max(0)
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], 15), np.linspace(lo[1], hi[1], 15))
    grid = pca.inverse_transform(np.stack([g1.ravel(), g2.ravel()], -1))
    with torch.no_grad():
        v = model.transition.vector_field(torch.from_numpy(grid).float().to(model.device))
    if v is None:  # a discrete-time transition has no field to draw
        return
    dv = v.cpu().numpy() @ pca.components_.T
    ax.quiver(
        g1, g2, dv[:, 0].reshape(g1.shape), dv[:, 1].reshape(g1.shape), color="k", alpha=0.5, width=0.003
    )


def eigenvalues(dynamics: dict, path: Path) -> Path | None:
    """Eigenvalues of the mean (locally) linear map and of each regime, on the unit circle."""
    if "mean_map" not in dynamics:
        return None
    fig, axes = figure(figsize=(4, 4))
    ax = axes[0, 0]
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(t), np.sin(t), color="0.7", lw=0.8)
    for regime in dynamics.get("regimes", []):
        lam = np.array([complex(*e) for e in regime["eigenvalues"]])
        ax.scatter(lam.real, lam.imag, s=8, color="0.5")
    lam = np.array([complex(*m["eigenvalue"]) for m in dynamics["mean_map"]["modes"]])
    ax.scatter(lam.real, lam.imag, s=30, color="r", label="mean map")
    ax.set_aspect("equal"), ax.legend(fontsize=7), ax.set_title("eigenvalues (grey: regimes)", fontsize=9)
    return save_figure(fig, path)


def traversals(model, lat, path: Path, steps: int = 7) -> Path:
    """Decode the mean latent moved along each dimension from −2σ to +2σ of the test latents (of the per-frame
    codes for a model that decodes those, the Kalman VAE's a_t)."""
    z = lat.z if lat.codes is None else lat.codes
    z = z.reshape(-1, z.shape[-1])
    mean, std = z.mean(0), z.std(0)
    d = z.shape[1]
    grid = np.repeat(mean[None, None], d, 0).repeat(steps, 1)  # (D, steps, D)
    for i in range(d):
        grid[i, :, i] = mean[i] + np.linspace(-2, 2, steps) * std[i]
    with torch.no_grad():
        out = model.decode(torch.from_numpy(grid).float().to(model.device))
        img = model.likelihood.mean(out).permute(0, 1, 3, 4, 2).cpu().numpy()
    fig, axes = figure(d, steps, (steps * 0.9, d * 0.9))
    for i in range(d):
        for j in range(steps):
            axes[i, j].imshow(
                img[i, j].squeeze(-1) if img.shape[-1] == 1 else img[i, j], cmap="gray", vmin=0, vmax=1
            )
            axes[i, j].axis("off")
    return save_figure(fig, path)


def draw_all(model, split, lat, metrics: dict, out: Path, cfg, predict_split=None) -> list[Path]:
    """Every figure of an evaluation: the video from ``predict_split`` (the longer test sequences prediction is
    scored on; default ``split``, whose sequences may be no longer than the context), the rest from ``split``."""
    names = split.state_names
    paths = [
        video(model, split if predict_split is None else predict_split, cfg, out / "video.gif"),
        prediction_curves(metrics["prediction"], out / "prediction_curves.png"),
        traversals(model, lat, out / "traversals.png"),
        eigenvalues(metrics["dynamics"], out / "eigenvalues.png"),
    ]
    if names:  # figures against the true state
        paths += [
            state_scatter(lat, split, metrics["physics"]["linear"]["r2"], out / "state_scatter.png"),
            phase_portrait(model, lat, split, out / "phase_portrait.png"),
            position_curve(metrics["physics"], out / "position_curve.png"),
        ]
    return [p for p in paths if p is not None]
