"""Evidence about drifting parameters from the motion: the stated physics fitted to a window around each frame.

A drifting parameter (``model.physics.drift``) is a slow latent the frames do not draw. An inference network
would have to learn, from the prediction error alone, how a frequency shows in a run of frames; measured on a
pendulum whose gravity drifts (16×16, 800 steps) it did not (R² 0.00). The stated physics already says how: for
each frame t, the window of W frames around it (shifted inwards at the ends) is fitted by a shooting fit
(``physvae.physics.shooting``: initial state and the drifting parameters, the others held at their global
values) to the inference network's evidence about the state, and the drifting parameters' offsets from their
global values become that frame's evidence, with the fit's Gauss–Newton standard error as its std. The posterior
fuses them with the random walk of the drift dimensions, so a run of frames that shows a parameter poorly (a
pendulum resting at the bottom) moves it little.

The fit runs in float64 on the CPU without gradients (a small problem per window, bound by Python's overhead
rather than arithmetic): the evidence about the state enters it detached (as in
``physvae.physics.sequence_fit``), the offsets are an observation of the drift, not a path for the encoder.
"""

from __future__ import annotations

import torch

from .shooting import shooting_fit

START_FACTORS = (0.5, 1.0, 2.0)  # each drifting parameter's fit starts from its global value times these
MIN_SEEN = (
    4  # a window with fewer seen frames than this, or than half its width, gives no evidence (std BLIND)
)
BLIND = 1e3  # std of "no evidence"
MIN_STD = 0.01  # the fit's standard error is floored here: the random walk, not the fit, decides below it
MAX_OFFSET = 3.0  # |offset| bound, latent units: a factor e³ for a positive parameter
VELOCITY_WEIGHT = 0.1  # weight of a velocity column against its position's (velocity evidence is noisier)
ITERATIONS = (
    6  # Levenberg–Marquardt steps per start (10 gained little: R² 0.945 against 0.936, 1.6× the time)
)


def windows(t_len: int, width: int) -> torch.Tensor:
    """(T, W') frame indices of the window around each frame, W' = min(width, T): centred on it, shifted to lie
    within 0 … T − 1 near the ends."""
    w = min(width, t_len)
    start = (torch.arange(t_len) - w // 2).clamp(0, t_len - w)
    return start[:, None] + torch.arange(w)[None]


def fit_drift(transition, mean: torch.Tensor, mask: torch.Tensor, dt: float, width: int):
    """The drifting parameters' evidence at every frame.

    Args:
        transition: a ``Physics`` transition with ``drift`` parameters.
        mean: (B, T, D) the evidence means (the state in the first E dimensions).
        mask: (B, T) 1 where a frame is seen (hidden frames weigh nothing in a fit).
        dt: the frame interval, seconds.
        width: W, frames per window.

    Returns:
        (offsets, std), each (B, T, K): the fitted offsets from the global values in latent units (log units
        for a positive parameter) and their standard errors; std ``BLIND`` (offset 0) where a window sees fewer
        than 4 frames or than half of ``width`` (a few frames of a swing pin a frequency poorly, and their
        standard error, which treats the evidence's errors as independent, says so too weakly).
    """
    ph, cfg = transition.physics, transition.cfg
    b, t_len = mean.shape[:2]
    idx = windows(t_len, width)  # (T, W)
    with torch.no_grad():
        y = ph.chart(mean[..., : transition.embed_dim].detach().cpu().double())  # (B, T, S), on the CPU
        seen = mask.detach().cpu().double()
        obs = y[:, idx].flatten(0, 1)  # (B·T, W, S)
        weight = _column_weights(ph).double()[None, None] * seen[:, idx].flatten(0, 1)[..., None]
        theta = transition.global_params().detach().cpu().double()
        names = ph.param_names
        fixed = {n: float(theta[i]) for i, n in enumerate(names) if n not in cfg.drift}
        position = {n: i for i, n in enumerate(names)}
        drifting = [position[n] for n in cfg.drift]  # in the drift dimensions' order
        starts = [_start(theta, drifting, f) for f in START_FACTORS]
        fit = shooting_fit(
            ph,
            obs,
            weight,
            dt,
            starts,
            fixed=fixed,
            iterations=ITERATIONS,
            substeps=cfg.substeps,
            first_frames=idx.shape[1],
            standard_errors=True,
        )
        base = theta[drifting]
        fitted = fit.params[:, drifting]
        positive = transition.positive[drifting].cpu()
        offsets = torch.where(positive, fitted.clamp(min=1e-300).log() - base.log(), fitted - base)
        std = fit.w_std[:, drifting].nan_to_num(BLIND).clamp(MIN_STD, BLIND)
        few = seen[:, idx].flatten(0, 1).gt(0).sum(1) < max(MIN_SEEN, (width + 1) // 2)  # (B·T,)
        std = torch.where(few[:, None], torch.full_like(std, BLIND), std)
        offsets = torch.where(few[:, None], torch.zeros_like(offsets), offsets.clamp(-MAX_OFFSET, MAX_OFFSET))
    shape = (b, t_len, len(drifting))
    offsets, std = (x.view(shape).to(device=mean.device, dtype=mean.dtype) for x in (offsets, std))
    return offsets, std


def _column_weights(ph) -> torch.Tensor:
    """(S,) 1 for each state column, ``VELOCITY_WEIGHT`` for a velocity (the pendulum's ω)."""
    w = torch.ones(ph.state_dim)
    for v in ph.velocities:
        w[v] = VELOCITY_WEIGHT
    return w


def _start(theta: torch.Tensor, drifting: list[int], factor: float) -> list[float]:
    """A starting parameter vector: the drifting parameters' global values times ``factor``; 1 for the others,
    which the fit holds at their values (a start must be > 0 where a parameter is positive)."""
    start = torch.ones_like(theta)
    start[drifting] = theta[drifting] * factor
    return start.tolist()
