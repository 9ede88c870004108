"""Per-frame anomaly detection scores against per-frame labels: AUROC, AUPRC, a threshold, delays, false alarms.

Everything works on arrays of N sequences of T frames: ``scores`` (N, T) float (higher = more surprising; NaN
where a frame has no score), ``labels`` (N, T) int codes (0 normal; see ``simulators/events.py``) and ``scored``
(N, T) bool, the frames that count (the evaluation window). No point adjustment: every frame counts once, and a
segment of labelled frames is not marked found when one of its frames is.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def window(scores: np.ndarray, first_frame: int) -> np.ndarray:
    """The frames that count: from ``first_frame`` on, where the score is finite. (N, T) -> (N, T) bool."""
    keep = np.isfinite(scores)
    keep[:, :first_frame] = False
    return keep


def ranking(scores: np.ndarray, labels: np.ndarray, scored: np.ndarray, code: int | None) -> dict:
    """AUROC and AUPRC of the frames labelled ``code`` (None: any event) against the normal frames (label 0).

    Frames of other event kinds are left out. Returns auroc, auprc (None when either class is empty), the
    positive and negative frame counts, and the positives' share (the AUPRC of a random score).
    """
    pos = scored & ((labels > 0) if code is None else (labels == code))
    neg = scored & (labels == 0)
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    out = {"positives": n_pos, "negatives": n_neg, "prevalence": n_pos / max(n_pos + n_neg, 1)}
    if n_pos == 0 or n_neg == 0:
        return {**out, "auroc": None, "auprc": None}
    y = np.concatenate([np.ones(n_pos), np.zeros(n_neg)])
    s = np.concatenate([scores[pos], scores[neg]])
    return {**out, "auroc": float(roc_auc_score(y, s)), "auprc": float(average_precision_score(y, s))}


def threshold(normal_scores: np.ndarray, scored: np.ndarray, quantile: float) -> float:
    """The ``quantile`` of the scores of normal frames (all of ``normal_scores`` (M, T) are of normal sequences)."""
    values = normal_scores[scored]
    if values.size == 0:
        raise ValueError("no scored frames of normal sequences to choose a threshold from")
    return float(np.quantile(values, quantile))


def delays(scores: np.ndarray, labels: np.ndarray, scored: np.ndarray, thr: float) -> np.ndarray:
    """Frames from each event's onset (its first labelled frame) to the first scored frame at or after it whose
    score exceeds ``thr``: (N,) float, NaN where the sequence holds no event or no alarm follows its onset."""
    out = np.full(len(scores), np.nan)
    alarm = scored & (scores > thr)
    for i in np.flatnonzero((labels > 0).any(axis=1)):
        onset = int(np.argmax(labels[i] > 0))
        hits = np.flatnonzero(alarm[i, onset:])
        if len(hits):
            out[i] = hits[0]
    return out


def false_alarms(scores: np.ndarray, scored: np.ndarray, thr: float) -> dict:
    """Alarms on normal sequences (all of ``scores`` (M, T) are normal): the share of scored frames above
    ``thr`` and the share of sequences with at least one."""
    alarm = scored & (scores > thr)
    return {
        "frame_rate": float(alarm.sum() / max(scored.sum(), 1)),
        "sequence_rate": float(alarm.any(axis=1).mean()) if len(scores) else 0.0,
    }


def delay_summary(d: np.ndarray) -> dict:
    """Detected share, mean and median delay (frames) of per-event delays d (NaN: missed)."""
    found = d[np.isfinite(d)]
    return {
        "events": int(d.size),
        "detected": float(found.size / d.size) if d.size else None,
        "mean_delay": float(found.mean()) if found.size else None,
        "median_delay": float(np.median(found)) if found.size else None,
    }


def report(
    scores: np.ndarray,
    labels: np.ndarray,
    scored: np.ndarray,
    thr: float,
    names: list[str],
) -> dict:
    """Every number of one score on a labelled split: per event kind (and "any") the ranking and the delays at
    ``thr``, and the false alarms on the split's normal sequences. ``names``: the kind of each label code."""
    kinds = [c for c in range(1, len(names)) if (labels == c).any()]
    d = delays(scores, labels, scored, thr)
    seq_kind = labels.max(axis=1)
    per_kind = {
        names[c]: {**ranking(scores, labels, scored, c), **delay_summary(d[seq_kind == c])} for c in kinds
    }
    per_kind["any"] = {**ranking(scores, labels, scored, None), **delay_summary(d[seq_kind > 0])}
    normal = seq_kind == 0
    return {
        "threshold": thr,
        "kinds": per_kind,
        "false_alarms": false_alarms(scores[normal], scored[normal], thr),
    }
