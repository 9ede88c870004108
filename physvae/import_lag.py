"""Are the imported states aligned with the frames? A cheap check before anyone trains on a shifted pairing.

A ridge-regularized linear probe from the frames' leading principal components to the states is fit with frame t
paired with state t − lag for lag −1, 0 and +1, on a subset of sequences, and scored (R²) on held-out ones. When a
shifted pairing reads the states clearly better, the states were probably saved a step early or late (a simulator
that stores the state after each step), which ``--state-offset`` fixes.

Only what one frame shows is compared (positions and angles; every target where the states have neither): a
velocity read from a single frame is noise whose R² moves the other way and hides the shift. "Clearly better" is
judged on what the probe leaves unexplained, 1 − R², whose floor is the probe's own error: a shifted pairing must
gain at least ``MIN_GAIN`` of R² over the given one and leave at most half the unexplained variance of the pairing
shifted the other way. Aligned states give a symmetric curve (lags −1 and +1 both worse, alike); states one step
off give a lopsided one (an outside renderer's pendulum saved after each step, ``benchmarks.outside_pendulum``:
1 − R² 0.024, 0.057, 0.156 at lags +1, 0, −1; on another subset of its sequences 0.050, 0.079, 0.166, where a ratio
to the given pairing alone, 0.64, would have missed it).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .metrics.probe import probe_targets, target_kinds

LAGS = (-1, 0, 1)
MAX_SAMPLES = 4000  # frames fed to the probe per lag
MIN_GAIN = 0.01  # R² a shifted pairing must gain over the given one to be reported
RESIDUAL_RATIO = 0.5  # ... leaving at most this share of the opposite shift's unexplained variance
MIN_R2 = 0.3  # ... and reach, so that noise fits are never reported
SHOWN = ("angle", "coordinate")  # target kinds one frame shows


def _pixels(frames: np.ndarray) -> np.ndarray:
    """(N, T, S, S, C) uint8 -> (N, T, P) grey levels, block-averaged to at most 16 × 16."""
    grey = frames.mean(axis=-1, dtype=np.float32) / 255
    n, t, s, _ = grey.shape
    k = max(1, s // 16)
    grey = grey[:, :, : s // k * k, : s // k * k].reshape(n, t, s // k, k, s // k, k).mean(axis=(3, 5))
    return grey.reshape(n, t, -1)


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, T, K) -> fit and held-out rows: every 4th sequence held out, or with fewer than 4 sequences the last
    third of each."""
    if len(a) >= 4:
        test = np.arange(len(a)) % 4 == 3
        fit, held = a[~test], a[test]
    else:
        cut = a.shape[1] * 2 // 3
        fit, held = a[:, :cut], a[:, cut:]
    return fit.reshape(-1, a.shape[-1]), held.reshape(-1, a.shape[-1])


def lag_r2(frames: np.ndarray, targets: np.ndarray, seed: int = 0) -> dict[int, np.ndarray] | None:
    """Held-out R² of the probe per lag and target, {lag: (K,)}: frames (N, T, S, S, C) uint8, targets
    (N, T, K); None when the data is too small to tell (fewer than 4 frames per sequence or 40 frames to fit
    on)."""
    n, t = frames.shape[:2]
    if t < 4 or targets.shape[-1] == 0:
        return None
    order = np.random.default_rng(seed).permutation(n)[: max(2, MAX_SAMPLES // (t - 2))]
    keep = np.sort(order)
    x, y = _pixels(frames[keep]), targets[keep]
    inner = slice(1, t - 1)  # frames whose states at every lag exist
    x_tr, x_te = _split(x[:, inner])
    if len(x_tr) < 40 or len(x_te) < 10:
        return None
    if not x_tr.std(axis=0).any():
        return None  # the frames do not change: nothing to read the states from
    scores = {}
    k = min(50, x_tr.shape[1], len(x_tr) - 1)
    with (
        warnings.catch_warnings()
    ):  # a heuristic: its numerical warnings on odd data are not the user's concern
        warnings.simplefilter("ignore")
        for lag in LAGS:
            y_tr, y_te = _split(y[:, 1 - lag : t - 1 - lag])  # frame τ with state τ − lag
            probe = make_pipeline(
                PCA(n_components=k, random_state=seed), StandardScaler(), Ridge(alpha=1.0)
            ).fit(x_tr, y_tr)
            scores[lag] = np.atleast_1d(r2_score(y_te, probe.predict(x_te), multioutput="raw_values"))
    return scores


def lag_warning(frames, states, names, kinds, offset: int, label: str) -> str | None:
    """A warning when the states fit the frames clearly better at another offset, else None.

    Args:
        frames: (N, T, S, S, C) uint8; states: (N, T, D) as paired now; names, kinds: the state columns.
        offset: the ``--state-offset`` that made this pairing; label: where the states came from.
    """
    targets = probe_targets(states, names, kinds)[0]
    shown = np.isin(target_kinds(names, kinds), SHOWN)
    per_target = lag_r2(frames, targets[..., shown] if shown.any() else targets)
    if per_target is None:
        return None
    scores = {lag: float(r.mean()) for lag, r in per_target.items()}
    best = max(scores, key=scores.get)
    if best == 0 or not _clearly_better(scores[best], scores[0], scores[-best]):
        return None
    return (
        f"{label}: the states fit the frames better at --state-offset {offset + best} than at {offset}: held-out "
        f"R² of a linear probe from the frames {scores[best]:.2f} against {scores[0]:.2f} (frame t paired with "
        f"state t − {offset + best} instead of t − {offset}); states saved after each simulation step need "
        "--state-offset 1"
    )


def _clearly_better(shifted: float, given: float, opposite: float) -> bool:
    """Whether a shifted pairing's mean R² beats the given one's by the module's rule; ``opposite``: the mean R²
    of the pairing shifted the other way."""
    return (
        shifted >= MIN_R2 and shifted - given >= MIN_GAIN and (1 - shifted) <= RESIDUAL_RATIO * (1 - opposite)
    )
