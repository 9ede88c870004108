"""The KL weight β of each training step: the configured warm-up, and a re-warm when training is found collapsed.

A collapsed model (``physvae.collapse``: the latents carry nothing, the decoder draws the mean frame) sits where
the KL term pulls every posterior onto the prior; once there, the reconstruction's gradient through the latents is
too weak to leave. Lowering β lets the reconstruction win again: a KL warm-up from step 0 rescued the one collapse
measured (the robustness suite's box drawn as a bar, LocallyLinear, seed 1: R² 0.00 → x 0.987, vx 0.861 with
``train.kl_warmup=500``). The re-warm does the same without knowing in advance: from the step where collapse is
judged (a logged step, a quarter of the steps on, ``collapse.spread_judged``), β restarts its rise from 0 at the
next step and is back at 1 after ``train.collapse_rewarm`` × the steps. A run that never collapses never
re-warms, so its β and every figure are those of a run without it.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import collapse
from .config import TrainConfig


def rewarm_steps(cfg: TrainConfig) -> int:
    """Steps over which β rises from 0 back to 1 after a re-warm: ``collapse_rewarm`` × ``steps``, at least 1."""
    return max(1, round(cfg.collapse_rewarm * cfg.steps))


def beta_at(cfg: TrainConfig, step: int, rewarms: Sequence[int] = ()) -> float:
    """β at ``step`` (1-based), in [0, 1].

    Args:
        cfg: the run's training settings (``kl_warmup``, ``collapse_rewarm``, ``steps``).
        step: the optimizer step.
        rewarms: the steps after which β was re-warmed (collapse judged there), in order.

    Returns:
        the warm-up's ``step / kl_warmup`` (1 without one), held under ``(step − r) / rewarm_steps`` for the latest
        re-warm ``r``: step r itself trains at the β it had, step r + 1 at 1 / rewarm_steps.
    """
    beta = 1.0 if cfg.kl_warmup == 0 else min(1.0, step / cfg.kl_warmup)
    if rewarms:
        beta = min(beta, max(0.0, (step - rewarms[-1]) / rewarm_steps(cfg)))
    return beta


def rewarm_due(cfg: TrainConfig, step: int, collapsed: bool, rewarms: Sequence[int]) -> bool:
    """Whether training re-warms β after ``step``.

    Args:
        cfg: the run's training settings.
        step: a logged step (collapse is judged only there, so a re-warm starts on a multiple of ``log_every``).
        collapsed: whether ``step`` was judged collapsed (``collapse.collapsed``).
        rewarms: the re-warms so far.

    Returns:
        True when re-warms are on (``collapse_rewarm`` > 0), ``step`` counts for collapse
        (``collapse.spread_judged``), β is back at 1 (no warm-up or re-warm under way) and the re-warm would end
        by the last step.
    """
    if not (cfg.collapse_rewarm > 0 and collapsed and collapse.spread_judged(step, cfg.steps)):
        return False
    return beta_at(cfg, step, rewarms) >= 1.0 and step + rewarm_steps(cfg) <= cfg.steps
