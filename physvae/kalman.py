"""Exact linear-Gaussian state-space model (LGSSM): batched Kalman filter, RTS smoother, posterior sampling.

Model, per batch element and t = 0..T-1 (a Kalman VAE, Fraccaro et al. 2017, passes its mixed A_t, C_t):

    z_0 ~ N(mu0, Sigma0),   z_t = A_t z_{t-1} + B_t u_{t-1} + w_t,   w_t ~ N(0, Q)   (t >= 1)
    a_t = C_t z_t + v_t,    v_t ~ N(0, R)                             (only where mask[:, t] != 0)

Time-indexed arguments carry all T steps so that callers can build them with one stacked op; hence A[:, 0],
B[:, 0] and u[:, T-1] are never read. Every argument is converted to the dtype and device of ``a``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

LOG_2PI = math.log(2 * math.pi)


class KalmanInputError(ValueError):
    """An argument of the Kalman functions has the wrong shape or value."""


class NotPositiveDefiniteError(KalmanInputError):
    """A covariance (Q, R, Sigma0, or one the recursions built from them) is not symmetric positive definite."""


@dataclass
class FilterResult:
    """Output of :func:`kalman_filter`; B sequences, T steps, n state dimensions.

    Attributes:
        filtered_means: (B, T, n), E[z_t | observed a_0..a_t].
        filtered_covs: (B, T, n, n).
        predicted_means: (B, T, n), E[z_t | observed a_0..a_{t-1}]; index 0 is mu0.
        predicted_covs: (B, T, n, n); index 0 is Sigma0.
        log_likelihood: (B,), log p(observed a): sum over observed t of log N(a_t; C_t m_t|t-1, S_t).
        Q: (n, n), the full process-noise covariance (needed by the backward sampler).
        A: (B, T, n, n), the transition matrices used (A[:, 0] unused).
        C: (B, T, m, n), the emission matrices used.
        codes: (B, T, m), the observations, with each missing one replaced by its predicted mean C_t m_t|t-1.
    """

    filtered_means: torch.Tensor
    filtered_covs: torch.Tensor
    predicted_means: torch.Tensor
    predicted_covs: torch.Tensor
    log_likelihood: torch.Tensor
    Q: torch.Tensor
    A: torch.Tensor
    C: torch.Tensor
    codes: torch.Tensor


@dataclass
class SmootherResult:
    """Output of :func:`rts_smoother`.

    Attributes:
        means: (B, T, n), E[z_t | all observed a].
        covs: (B, T, n, n), Cov[z_t | all observed a].
        cross_covs: (B, T-1, n, n), Cov[z_{t+1}, z_t | all observed a] (so E[z_{t+1} z_t^T] = this + m_{t+1} m_t^T).
        gains: (B, T-1, n, n), smoother gains J_t = P_t|t A_{t+1}^T P_{t+1|t}^{-1}.
        backward_covs: (B, T-1, n, n), Cov[z_t | z_{t+1}, a_0..a_t] used by backward sampling.
        filter: the :class:`FilterResult` this was computed from.
    """

    means: torch.Tensor
    covs: torch.Tensor
    cross_covs: torch.Tensor
    gains: torch.Tensor
    backward_covs: torch.Tensor
    filter: FilterResult


def _mv(M: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (M @ v.unsqueeze(-1)).squeeze(-1)


def _sym(P: torch.Tensor) -> torch.Tensor:
    # Rounding makes products like A P A^T slightly asymmetric; the asymmetry compounds over time if left alone.
    return 0.5 * (P + P.mT)


def _as(x, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


def _per_step(x: torch.Tensor, name: str, bs: int, T: int, tail: tuple[int, ...]) -> torch.Tensor:
    """Accept ``tail`` or (B|1, T|1, *tail) and return a broadcast (B, T, *tail) view."""
    k = len(tail)
    ok = tuple(x.shape[-k:]) == tail and (
        x.ndim == k or (x.ndim == k + 2 and x.shape[0] in (1, bs) and x.shape[1] in (1, T))
    )
    if not ok:
        raise KalmanInputError(f"{name} must have shape {tail} or {(bs, T, *tail)}, got {tuple(x.shape)}")
    return x.expand(bs, T, *tail)


def _cov(x: torch.Tensor, name: str, d: int, lead: tuple[int, ...] = ()) -> torch.Tensor:
    """Accept a (d,) vector of variances, a (d, d) or (*lead, d, d) SPD matrix; return the checked full matrix."""
    if tuple(x.shape) == (d,):
        if not bool((x > 0).all()):
            raise NotPositiveDefiniteError(f"{name} given as variances (a vector) must be > 0: {x.tolist()}")
        return torch.diag_embed(x)
    if tuple(x.shape) not in ((d, d), (*lead, d, d)):
        shapes = " or ".join(str(s) for s in dict.fromkeys([(d,), (d, d), (*lead, d, d)]))
        raise KalmanInputError(f"{name} must have shape {shapes}, got {tuple(x.shape)}")
    if bool((x - x.mT).abs().amax() > 1e-5 * x.abs().amax()):
        raise NotPositiveDefiniteError(f"{name} is not symmetric")
    x = _sym(x)
    if bool((torch.linalg.cholesky_ex(x).info != 0).any()):
        raise NotPositiveDefiniteError(f"{name} is not positive definite (its Cholesky factorization failed)")
    return x


def _update(m, P, y, C, R):
    """One measurement update. Returns the posterior mean/cov, log N(y; C m, S) and Cholesky-failure flags."""
    S = _sym(C @ P @ C.mT + R)
    L, info = torch.linalg.cholesky_ex(S)
    # K = P C^T S^{-1}; S and P are symmetric, so K^T = S^{-1} (C P) is a Cholesky solve, no explicit inverse.
    K = torch.cholesky_solve(C @ P, L).mT
    I_KC = torch.eye(P.shape[-1], dtype=P.dtype, device=P.device) - K @ C
    # Joseph form: a sum of PSD terms, so P stays PSD even when rounding makes K slightly suboptimal.
    P_new = _sym(I_KC @ P @ I_KC.mT + K @ R @ K.mT)
    e = y - _mv(C, m)
    w = torch.linalg.solve_triangular(L, e.unsqueeze(-1), upper=False).squeeze(-1)
    log_det = 2 * L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    ll = -0.5 * (w.pow(2).sum(-1) + log_det + y.shape[-1] * LOG_2PI)
    return m + _mv(K, e), P_new, ll, info != 0


def kalman_filter(a, A, C, Q, R, mu0, Sigma0, mask=None, u=None, B=None) -> FilterResult:
    """Exact Kalman filter with per-step matrices and missing observations.

    Args:
        a: (B, T, m) observations; values at missing steps are ignored (they may be NaN).
        A: (n, n) or (B, T, n, n) transition matrices; A[:, t] maps z_{t-1} to z_t (A[:, 0] is unused).
        C: (m, n) or (B, T, m, n) emission matrices.
        Q: (n, n) process-noise covariance, or (n,) its diagonal.
        R: (m, m) observation-noise covariance, or (m,) its diagonal.
        mu0: (n,) or (B, n) mean of z_0.
        Sigma0: (n, n), (B, n, n), or (n,) diagonal covariance of z_0.
        mask: optional (B, T), 1/True = observed, 0/False = missing (the update is skipped exactly).
        u: optional (B, T, k) inputs; u[:, t-1] drives the step to z_t (u[:, T-1] is unused).
        B: (n, k) or (B, T, n, k) input matrices, required iff ``u`` is given.

    Returns:
        A :class:`FilterResult`, in the dtype and device of ``a``.

    Raises:
        KalmanInputError: on a wrong shape (the message names the argument and the expected shape).
        NotPositiveDefiniteError: if Q, R or Sigma0 is not SPD, or an innovation covariance lost definiteness.
    """
    a = torch.as_tensor(a)
    a = a if a.is_floating_point() else a.to(torch.get_default_dtype())
    if a.ndim != 3 or a.shape[1] == 0:
        raise KalmanInputError(f"a must have shape (B, T, m) with T >= 1, got {tuple(a.shape)}")
    bs, T, m = a.shape
    mu0 = _as(mu0, a)
    if mu0.ndim not in (1, 2) or (mu0.ndim == 2 and mu0.shape[0] not in (1, bs)):
        raise KalmanInputError(f"mu0 must have shape (n,) or (B, n) with B={bs}, got {tuple(mu0.shape)}")
    n = mu0.shape[-1]
    A = _per_step(_as(A, a), "A", bs, T, (n, n))
    C = _per_step(_as(C, a), "C", bs, T, (m, n))
    Q, R = _cov(_as(Q, a), "Q", n), _cov(_as(R, a), "R", m)
    P = _cov(_as(Sigma0, a), "Sigma0", n, (bs,)).expand(bs, n, n)
    if (u is None) != (B is None):
        raise KalmanInputError("u and B must be given together (or both left None)")
    if u is not None:
        u = _as(u, a)
        if u.ndim != 3 or tuple(u.shape[:2]) != (bs, T):
            raise KalmanInputError(f"u must have shape (B, T, k) = ({bs}, {T}, k), got {tuple(u.shape)}")
        B = _per_step(_as(B, a), "B", bs, T, (n, u.shape[-1]))
    obs = _observed(mask, bs, T, a.device)
    # Zero the missing values instead of letting NaNs in: the unused branch of torch.where still gets
    # (zero) gradients, and 0 * NaN would poison them.
    a = torch.where(obs.unsqueeze(-1), a, torch.zeros((), dtype=a.dtype, device=a.device))

    def matrices(t, previous):
        return A[:, t], C[:, t], (B[:, t] if u is not None else None)

    return _filter_loop(a, obs, mu0.expand(bs, n), P, Q, R, u, matrices)


def kalman_filter_online(a, matrices, Q, R, mu0, Sigma0, mask=None, u=None) -> FilterResult:
    """Exact Kalman filter whose step-t matrices may depend on the observations before t (a Kalman VAE's
    α_t = softmax(LSTM(a_<t)) mixing A_t, B_t, C_t).

    Args:
        a: (B, T, m) observations; values at missing steps are ignored.
        matrices: ``matrices(t, previous)`` -> (A_t (B, n, n), C_t (B, m, n), B_t (B, n, k) or None), where
            ``previous`` (B, m) is a_{t-1} where it was observed and its predicted mean C_{t-1} m_{t-1|t-2}
            where it was missing (None at t = 0). Called once per step, in order, so it may carry a recurrent state.
        Q, R, mu0, Sigma0, mask, u: as in :func:`kalman_filter` (``B_t`` must be returned iff u is given).

    Returns:
        A :class:`FilterResult` whose ``A``, ``C`` and ``codes`` hold the matrices used and the observations with
        missing steps filled by their predicted means (what ``matrices`` was fed).
    """
    a = torch.as_tensor(a)
    if a.ndim != 3 or a.shape[1] == 0:
        raise KalmanInputError(f"a must have shape (B, T, m) with T >= 1, got {tuple(a.shape)}")
    bs, T, m = a.shape
    mu0 = _as(mu0, a)
    n = mu0.shape[-1]
    Q, R = _cov(_as(Q, a), "Q", n), _cov(_as(R, a), "R", m)
    P = _cov(_as(Sigma0, a), "Sigma0", n, (bs,)).expand(bs, n, n)
    obs = _observed(mask, bs, T, a.device)
    a = torch.where(obs.unsqueeze(-1), a, torch.zeros((), dtype=a.dtype, device=a.device))
    return _filter_loop(a, obs, mu0.expand(bs, n), P, Q, R, None if u is None else _as(u, a), matrices)


def _observed(mask, bs: int, T: int, device) -> torch.Tensor:
    """The mask as booleans (B, T), checked; all True when None."""
    if mask is None:
        return torch.ones(bs, T, dtype=torch.bool, device=device)
    mask = torch.as_tensor(mask, device=device)
    if tuple(mask.shape) != (bs, T):
        raise KalmanInputError(f"mask must have shape (B, T) = {(bs, T)}, got {tuple(mask.shape)}")
    if mask.dtype != torch.bool and not bool(((mask == 0) | (mask == 1)).all()):
        raise KalmanInputError("mask must contain only 0/1 (or be boolean)")
    return mask != 0


def _filter_loop(a, obs, mean, P, Q, R, u, matrices) -> FilterResult:
    """The forward recursion shared by both filters; ``matrices(t, previous)`` gives step t's A_t, C_t, B_t."""
    bs = a.shape[0]
    ll = a.new_zeros(bs)
    bad = torch.zeros(bs, dtype=torch.bool, device=a.device)
    fm, fP, pm, pP, As, Cs, codes = [], [], [], [], [], [], []
    for t in range(a.shape[1]):
        A_t, C_t, B_t = matrices(t, codes[-1] if codes else None)
        if t > 0:
            mean = _mv(A_t, mean) + (_mv(B_t, u[:, t - 1]) if u is not None else 0)
            P = _sym(A_t @ P @ A_t.mT + Q)
        pm.append(mean)
        pP.append(P)
        m_new, P_new, ll_t, fail = _update(mean, P, a[:, t], C_t, R)
        o = obs[:, t]
        codes.append(torch.where(o[:, None], a[:, t], _mv(C_t, mean)))
        # A missing step is skipped exactly (filtered = predicted) by selection, never by imputing a value.
        mean = torch.where(o[:, None], m_new, mean)
        P = torch.where(o[:, None, None], P_new, P)
        ll = ll + torch.where(o, ll_t, torch.zeros_like(ll_t))
        bad = bad | (fail & o)
        fm.append(mean)
        fP.append(P)
        As.append(A_t.expand(bs, *A_t.shape[-2:]))
        Cs.append(C_t.expand(bs, *C_t.shape[-2:]))
    if bool(bad.any()):  # checked once after the loop to keep the loop free of host syncs
        raise NotPositiveDefiniteError(
            f"innovation covariance C P C^T + R lost positive definiteness in sequences "
            f"{bad.nonzero().flatten().tolist()}; rescale the model or use float64"
        )
    st = torch.stack
    return FilterResult(st(fm, 1), st(fP, 1), st(pm, 1), st(pP, 1), ll, Q, st(As, 1), st(Cs, 1), st(codes, 1))


def rts_smoother(filt: FilterResult, A=None) -> SmootherResult:
    """Rauch–Tung–Striebel smoother for the output of :func:`kalman_filter`.

    Args:
        filt: the filter result.
        A: the transition matrices given to the filter, (n, n) or (B, T, n, n) (default: ``filt.A``).

    Returns:
        A :class:`SmootherResult` with smoothed means (B, T, n), covariances (B, T, n, n) and lag-one cross
        covariances (B, T-1, n, n).
    """
    ref = filt.filtered_means
    bs, T, n = ref.shape
    A = _per_step(_as(filt.A if A is None else A, ref), "A", bs, T, (n, n))[:, 1:]
    mf, Pf = filt.filtered_means, filt.filtered_covs
    mp, Pp = filt.predicted_means[:, 1:], filt.predicted_covs[:, 1:]
    # The gains depend on filter quantities only, so all T-1 of them come from one batched solve.
    Lp, info = torch.linalg.cholesky_ex(Pp)
    if bool((info != 0).any()):
        raise NotPositiveDefiniteError("a predicted covariance A P A^T + Q is not positive definite")
    J = torch.cholesky_solve(A @ Pf[:, :-1], Lp).mT
    # Cov[z_t | z_{t+1}, a_0..t] is a Kalman update of z_t by "observation" z_{t+1} = A z_t + w: Joseph form
    # keeps it PSD, and writing P_t|T = this + J P_t+1|T J^T (a PSD sum) avoids P_t|t - J(...)J^T cancellation.
    I_JA = torch.eye(n, dtype=ref.dtype, device=ref.device) - J @ A
    back = _sym(I_JA @ Pf[:, :-1] @ I_JA.mT + J @ filt.Q @ J.mT)
    ms, Ps = [mf[:, -1]], [Pf[:, -1]]
    for t in range(T - 2, -1, -1):
        ms.append(mf[:, t] + _mv(J[:, t], ms[-1] - mp[:, t]))
        Ps.append(_sym(back[:, t] + J[:, t] @ Ps[-1] @ J[:, t].mT))
    ms, Ps = torch.stack(ms[::-1], 1), torch.stack(Ps[::-1], 1)
    return SmootherResult(ms, Ps, Ps[:, 1:] @ J.mT, J, back, filt)


def sample_smoothed(result: SmootherResult, generator: torch.Generator | None = None) -> torch.Tensor:
    """One joint sample of z_0..z_{T-1} from p(z | all observed a), by backward sampling (FFBS).

    Draws z_{T-1} ~ N(m_T-1|T, P_T-1|T), then z_t ~ p(z_t | z_{t+1}, a_0..a_t) backwards, so consecutive
    states have the correct posterior correlation (not just the per-step marginals). Reparameterized:
    gradients flow to every model parameter.

    Args:
        result: the smoother result.
        generator: optional torch.Generator (on the result's device) for the standard-normal noise.

    Returns:
        (B, T, n) sample.
    """
    filt = result.filter
    mf, mp, J = filt.filtered_means, filt.predicted_means, result.gains
    eps = torch.randn(mf.shape, generator=generator, dtype=mf.dtype, device=mf.device)
    L_back = torch.linalg.cholesky(result.backward_covs)  # all steps at once, outside the loop
    z = result.means[:, -1] + _mv(torch.linalg.cholesky(result.covs[:, -1]), eps[:, -1])
    zs = [z]
    for t in range(mf.shape[1] - 2, -1, -1):
        z = mf[:, t] + _mv(J[:, t], z - mp[:, t + 1]) + _mv(L_back[:, t], eps[:, t])
        zs.append(z)
    return torch.stack(zs[::-1], 1)


def _log_normal(x: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, cov) over the last dimension, batched."""
    L = torch.linalg.cholesky(cov)
    w = torch.linalg.solve_triangular(L, (x - mean).unsqueeze(-1), upper=False).squeeze(-1)
    log_det = 2 * L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    return -0.5 * (w.pow(2).sum(-1) + log_det + x.shape[-1] * LOG_2PI)


def log_joint(z, filt: FilterResult, R, mu0, Sigma0, mask=None, u=None, B=None) -> torch.Tensor:
    """log p(a, z) = log p(z_0) + Σ_t log p(z_t | z_{t-1}) + Σ_{observed t} log p(a_t | z_t), per sequence (B,).

    Args:
        z: (B, T, n) a state trajectory.
        filt: the filter result of the observations (its ``codes``, ``A``, ``C`` and ``Q`` are read).
        R, mu0, Sigma0, mask: as given to the filter.
        u, B: inputs (B, T, k) and their matrices (B, T, n, k) or (n, k), or None.
    """
    bs, T, n = z.shape
    obs = _observed(mask, bs, T, z.device)
    R = _cov(_as(R, z), "R", filt.codes.shape[-1])
    mean = _mv(filt.A[:, 1:], z[:, :-1])
    if u is not None:
        mean = mean + _mv(_per_step(_as(B, z), "B", bs, T, (n, u.shape[-1]))[:, 1:], u[:, :-1])
    Sigma0 = _cov(_as(Sigma0, z), "Sigma0", n, (bs,))
    prior = _log_normal(z[:, 0], _as(mu0, z).expand(bs, n), Sigma0.expand(bs, n, n))
    steps = _log_normal(z[:, 1:], mean, filt.Q).sum(-1) if T > 1 else 0
    emit = _log_normal(filt.codes, _mv(filt.C, z), R)
    return prior + steps + torch.where(obs, emit, torch.zeros_like(emit)).sum(-1)


def smoothed_log_prob(result: SmootherResult, z: torch.Tensor) -> torch.Tensor:
    """log p(z | all observed a) of a trajectory z (B, T, n), per sequence (B,), by the backward factorization
    p(z_{T-1} | a) Π_t p(z_t | z_{t+1}, a_0..a_t) that :func:`sample_smoothed` draws from."""
    filt = result.filter
    mf, mp, J = filt.filtered_means, filt.predicted_means, result.gains
    last = _log_normal(z[:, -1], result.means[:, -1], result.covs[:, -1])
    if z.shape[1] == 1:
        return last
    back = mf[:, :-1] + _mv(J, z[:, 1:] - mp[:, 1:])
    return last + _log_normal(z[:, :-1], back, result.backward_covs).sum(-1)
