"""Kalman filter / RTS smoother against independent truths: closed-form scalar recursions and brute-force
Gaussian conditioning of the stacked joint distribution of all states and observations (numpy/scipy)."""

import numpy as np
import pytest
import torch
from scipy.linalg import block_diag
from scipy.stats import multivariate_normal

from physvae.kalman import (
    KalmanInputError,
    NotPositiveDefiniteError,
    kalman_filter,
    kalman_filter_online,
    log_joint,
    rts_smoother,
    sample_smoothed,
    smoothed_log_prob,
)

F64 = torch.float64
INDEFINITE = torch.diag(torch.tensor([1.0, -1.0]))


def make_problem(n=2, m=1, T=5, k=1, seed=0):
    """One random sequence with time-varying A_t, C_t and inputs (numpy, float64)."""
    rng = np.random.default_rng(seed)
    A = np.stack([0.9 * np.eye(n) + 0.3 * rng.standard_normal((n, n)) for _ in range(T)])
    C = rng.standard_normal((T, m, n))
    Lq, Lr, Ls = (rng.standard_normal((d, d)) for d in (n, m, n))
    Q, R, S0 = Lq @ Lq.T + 0.1 * np.eye(n), Lr @ Lr.T + 0.2 * np.eye(m), Ls @ Ls.T + 0.5 * np.eye(n)
    Bm, u = rng.standard_normal((T, n, k)), rng.standard_normal((T, k))
    p = dict(A=A, C=C, Q=Q, R=R, mu0=rng.standard_normal(n), Sigma0=S0, B=Bm, u=u)
    p["a"] = sample_observations(p, rng)
    return p


def sample_observations(p, rng):
    z, out = rng.multivariate_normal(p["mu0"], p["Sigma0"]), []
    for t in range(len(p["A"])):
        if t > 0:
            z = p["A"][t] @ z + p["B"][t] @ p["u"][t - 1] + rng.multivariate_normal(0 * z, p["Q"])
        out.append(p["C"][t] @ z + rng.multivariate_normal(np.zeros(len(p["R"])), p["R"]))
    return np.stack(out)


def joint(p):
    """Mean and covariance of the stacked z = (z_0..z_{T-1}) and a = (a_0..a_{T-1}), built explicitly."""
    A, C = p["A"], p["C"]
    T, n = A.shape[:2]
    # z = mz + G eta with eta = (z_0 - mu0, w_1, ..., w_{T-1}) ~ N(0, blockdiag(Sigma0, Q, ..., Q)).
    G, mz = np.zeros((T * n, T * n)), np.zeros(T * n)
    for t in range(T):
        r, prev = slice(t * n, (t + 1) * n), slice((t - 1) * n, t * n)
        if t == 0:
            mz[r] = p["mu0"]
        else:
            G[r] = A[t] @ G[prev]
            mz[r] = A[t] @ mz[prev] + p["B"][t] @ p["u"][t - 1]
        G[r, r] += np.eye(n)
    Szz = G @ block_diag(p["Sigma0"], *[p["Q"]] * (T - 1)) @ G.T
    Cb = block_diag(*C)
    return mz, Szz, Cb @ mz, Cb @ Szz @ Cb.T + block_diag(*[p["R"]] * T), Szz @ Cb.T


def condition(p, times):
    """Posterior mean (T, n) and covariance (T*n, T*n) of all states given a_t for t in ``times``."""
    mz, Szz, ma, Saa, Sza = joint(p)
    T, n = p["A"].shape[:2]
    m = p["C"].shape[1]
    idx = [t * m + j for t in times for j in range(m)]
    a = p["a"].reshape(-1)
    gain = np.linalg.solve(Saa[np.ix_(idx, idx)], Sza[:, idx].T).T
    mean = mz + gain @ (a[idx] - ma[idx])
    return mean.reshape(T, n), Szz - gain @ Sza[:, idx].T


def block(S, t, s, n):
    return S[t * n : (t + 1) * n, s * n : (s + 1) * n]


def torch_args(p, mask=None):
    """The problem as batch-of-one torch float64 arguments."""
    kw = {k: torch.tensor(v, dtype=F64) for k, v in p.items()}
    for k in ("a", "A", "C", "B", "u"):
        kw[k] = kw[k][None]
    if mask is not None:
        kw["mask"] = torch.tensor(mask)[None]
    return kw


def run(kw):
    f = kalman_filter(**kw)
    return f, rts_smoother(f, kw["A"])


def test_scalar_random_walk_matches_closed_form():
    q, r, T = 0.3, 0.5, 12
    a = np.random.default_rng(1).standard_normal(T).cumsum()
    f = kalman_filter(torch.tensor(a)[None, :, None], [[1.0]], [[1.0]], [q], [r], [0.2], [[2.0]])
    mean, var, ll = 0.2, 2.0, 0.0
    for t in range(T):
        if t > 0:
            var += q
        s = var + r
        ll += -0.5 * (np.log(2 * np.pi * s) + (a[t] - mean) ** 2 / s)
        gain = var / s
        mean, var = mean + gain * (a[t] - mean), (1 - gain) * var
        assert f.filtered_means[0, t, 0].item() == pytest.approx(mean, rel=1e-12)
        assert f.filtered_covs[0, t, 0, 0].item() == pytest.approx(var, rel=1e-12)
    assert f.log_likelihood.item() == pytest.approx(ll, rel=1e-12)


@pytest.mark.parametrize(("n", "m"), [(2, 1), (3, 2)])
@pytest.mark.parametrize("missing", [(), (0, 3), (1, 4)])
def test_filter_smoother_loglik_match_brute_force_conditioning(n, m, missing):
    T = 5
    p = make_problem(n, m, T, seed=n + 10 * m)
    mask = [t not in missing for t in range(T)]
    kw = torch_args(p, mask)
    times = [t for t in range(T) if mask[t]]
    # Missing values must be ignored, not imputed: put garbage there.
    kw["a"][0, list(missing)] = float("nan")
    f, s = run(kw)
    mean, cov = condition(p, times)
    np.testing.assert_allclose(s.means[0].numpy(), mean, atol=1e-10)
    pred = f.predicted_means, f.predicted_covs
    for t in range(T):
        np.testing.assert_allclose(s.covs[0, t].numpy(), block(cov, t, t, n), atol=1e-10)
        if t < T - 1:
            np.testing.assert_allclose(s.cross_covs[0, t].numpy(), block(cov, t + 1, t, n), atol=1e-10)
        # Filtered = conditioned on observed steps <= t; predicted = on observed steps < t.
        for end, fm, fc in [(t + 1, f.filtered_means, f.filtered_covs), (t, *pred)]:
            mean_t, cov_t = condition(p, [s for s in times if s < end])
            np.testing.assert_allclose(fm[0, t].numpy(), mean_t[t], atol=1e-10)
            np.testing.assert_allclose(fc[0, t].numpy(), block(cov_t, t, t, n), atol=1e-10)
    _, _, ma, Saa, _ = joint(p)
    idx = [t * m + j for t in times for j in range(m)]
    expected = multivariate_normal(ma[idx], Saa[np.ix_(idx, idx)]).logpdf(p["a"].reshape(-1)[idx])
    assert f.log_likelihood.item() == pytest.approx(expected, rel=1e-10)


def test_fully_missing_sequence_and_single_step():
    p = make_problem(T=3)
    f, s = run(torch_args(p, [False] * 3))
    assert f.log_likelihood.item() == 0.0
    mean, cov = condition(p, [])
    np.testing.assert_allclose(s.means[0].numpy(), mean, atol=1e-10)
    p1 = {k: (v[:1] if k in ("a", "A", "C", "B", "u") else v) for k, v in p.items()}
    f1, s1 = run(torch_args(p1))
    assert s1.means.shape == (1, 1, 2) and s1.cross_covs.shape == (1, 0, 2, 2)
    assert sample_smoothed(s1).shape == (1, 1, 2)
    torch.testing.assert_close(s1.means, f1.filtered_means)


def test_gradcheck_filter_smoother_and_sample():
    torch.manual_seed(0)
    bs, T, n, m = 2, 3, 2, 1
    A = (0.8 * torch.eye(n) + 0.2 * torch.randn(bs, T, n, n)).to(F64).requires_grad_()
    C = torch.randn(bs, T, m, n, dtype=F64, requires_grad=True)
    Lq = torch.randn(n, n, dtype=F64, requires_grad=True)
    a = torch.randn(bs, T, m, dtype=F64, requires_grad=True)
    mask = torch.tensor([[1, 0, 1], [1, 1, 1]])

    def fs(A, C, Lq, a):
        Q = Lq @ Lq.mT + 0.1 * torch.eye(n, dtype=F64)
        f = kalman_filter(a, A, C, Q, [0.3], torch.zeros(n), torch.eye(n), mask=mask)
        return f, rts_smoother(f, A)

    def sample(*args):
        return sample_smoothed(fs(*args)[1], torch.Generator().manual_seed(3))

    inputs = (A, C, Lq, a)
    assert torch.autograd.gradcheck(lambda *x: fs(*x)[0].log_likelihood, inputs)
    assert torch.autograd.gradcheck(lambda *x: fs(*x)[1].means, inputs)
    assert torch.autograd.gradcheck(lambda A, C, Lq: fs(A, C, Lq, a)[1].covs, inputs[:3])
    assert torch.autograd.gradcheck(sample, inputs)


def test_nan_at_missing_steps_gives_finite_gradients():
    p = make_problem(T=4)
    kw = torch_args(p, [True, False, True, True])
    kw["a"][0, 1] = float("nan")
    kw["A"].requires_grad_()
    kw["a"].requires_grad_()
    f, s = run(kw)
    (f.log_likelihood.sum() + s.means.sum()).backward()
    assert torch.isfinite(kw["A"].grad).all() and torch.isfinite(kw["a"].grad).all()
    assert (kw["a"].grad[0, 1] == 0).all()


def test_backward_sampling_draws_the_joint_posterior():
    p = make_problem(n=2, m=1, T=4, seed=5)
    kw = torch_args(p, [True, True, False, True])
    N = 20000
    for k in ("a", "A", "C", "B", "u", "mask"):
        kw[k] = kw[k].expand(N, *kw[k].shape[1:])
    z = sample_smoothed(run(kw)[1], torch.Generator().manual_seed(0)).reshape(N, -1).numpy()
    mean, cov = condition(p, [0, 1, 3])
    scale = np.sqrt(np.diag(cov))
    np.testing.assert_allclose((z.mean(0) - mean.reshape(-1)) / scale, 0, atol=0.04)
    # Off-diagonal blocks check the joint (not merely marginal) correlation between time steps.
    np.testing.assert_allclose(np.cov(z.T) / np.outer(scale, scale), cov / np.outer(scale, scale), atol=0.04)


def test_batch_equals_single_runs_and_broadcasting():
    ps = [make_problem(n=2, m=2, T=6, seed=s) for s in range(3)]
    for p in ps[1:]:  # Q and R are shared by the batch; mu0 and Sigma0 may differ per sequence
        p.update(Q=ps[0]["Q"], R=ps[0]["R"])
    masks = [[1, 1, 0, 1, 1, 1], [1] * 6, [0, 1, 1, 1, 0, 0]]
    singles = [run(torch_args(p, mk)) for p, mk in zip(ps, masks)]
    kw = torch_args(ps[0], masks[0])
    for k in ("a", "A", "C", "B", "u", "mask"):
        kw[k] = torch.cat([torch_args(p, mk)[k] for p, mk in zip(ps, masks)])
    kw["mu0"] = torch.stack([torch.tensor(p["mu0"]) for p in ps])
    kw["Sigma0"] = torch.stack([torch.tensor(p["Sigma0"]) for p in ps])
    f, s = run(kw)
    for i, (fi, si) in enumerate(singles):
        torch.testing.assert_close(f.log_likelihood[i : i + 1], fi.log_likelihood)
        torch.testing.assert_close(f.filtered_covs[i : i + 1], fi.filtered_covs)
        torch.testing.assert_close(s.means[i : i + 1], si.means)
        torch.testing.assert_close(s.covs[i : i + 1], si.covs)
        torch.testing.assert_close(s.cross_covs[i : i + 1], si.cross_covs)
    # Un-batched A/C and diagonal noise vectors broadcast like the equivalent full tensors.
    kw2 = dict(kw, A=kw["A"][0, 1], C=kw["C"][0, 0], Q=torch.tensor([0.5, 0.2], dtype=F64), R=torch.ones(2))
    full = dict(kw2, A=kw2["A"].expand(3, 6, 2, 2), C=kw2["C"].expand(3, 6, 2, 2), Q=torch.diag(kw2["Q"]))
    full["R"] = torch.eye(2, dtype=F64)
    torch.testing.assert_close(run(kw2)[1].means, run(full)[1].means)


def test_float32_follows_dtype_and_stays_stable():
    p = make_problem(n=2, m=1, T=5, seed=2)
    kw64 = torch_args(p, [1, 0, 1, 1, 1])
    kw32 = {k: v.float() if v.is_floating_point() else v for k, v in kw64.items()}
    f32, s32 = run(kw32)
    assert s32.means.dtype == f32.log_likelihood.dtype == torch.float32
    torch.testing.assert_close(s32.covs.double(), run(kw64)[1].covs, rtol=1e-4, atol=1e-5)
    # A long, nearly deterministic, poorly scaled system: covariances must stay symmetric PSD in float32.
    T, th = 300, 0.05
    rot = torch.tensor([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]], dtype=torch.float32)
    a = torch.randn(2, T, 1, generator=torch.Generator().manual_seed(0))
    f = kalman_filter(a, 1.01 * rot, [[1.0, 1e-3]], [1e-6, 1e-6], [1e-4], [0.0, 0.0], [1e3, 1e3])
    s = rts_smoother(f, 1.01 * rot)
    for P in (f.filtered_covs, s.covs):
        torch.testing.assert_close(P, P.mT)
        assert (torch.linalg.eigvalsh(P) > -1e-6 * P.abs().amax()).all()
    assert torch.isfinite(sample_smoothed(s)).all() and torch.isfinite(f.log_likelihood).all()


def _base():
    return dict(
        a=torch.zeros(2, 4, 1), A=torch.eye(2), C=torch.ones(1, 2), Q=torch.eye(2), R=torch.eye(1),
        mu0=torch.zeros(2), Sigma0=torch.eye(2), mask=torch.ones(2, 4),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("override", "error", "match"),
    [
        (dict(Q=INDEFINITE), NotPositiveDefiniteError, "^Q is not positive definite"),
        (dict(Q=torch.tensor([1.0, 0.0])), NotPositiveDefiniteError, "^Q given as variances"),
        (dict(Q=torch.tensor([[1.0, 0.5], [0.0, 1.0]])), NotPositiveDefiniteError, "^Q is not symmetric"),
        (dict(R=torch.zeros(1, 1)), NotPositiveDefiniteError, "^R is not positive definite"),
        (dict(Sigma0=torch.ones(2, 2)), NotPositiveDefiniteError, "^Sigma0 is not positive definite"),
        (dict(Sigma0=torch.eye(3)), KalmanInputError, r"^Sigma0 must have shape .*\(2, 2\)"),
        (dict(Q=torch.eye(3)), KalmanInputError, r"^Q must have shape \(2,\) or \(2, 2\)"),
        (dict(R=torch.eye(2)), KalmanInputError, r"^R must have shape"),
        (dict(A=torch.eye(3)), KalmanInputError, r"^A must have shape \(2, 2\) or \(2, 4, 2, 2\)"),
        (dict(A=torch.eye(2).expand(2, 5, 2, 2)), KalmanInputError, r"^A must have shape"),
        (dict(C=torch.ones(2, 2)), KalmanInputError, r"^C must have shape \(1, 2\)"),
        (dict(mask=torch.ones(2, 5)), KalmanInputError, r"^mask must have shape \(B, T\) = \(2, 4\)"),
        (dict(mask=torch.full((2, 4), 0.5)), KalmanInputError, "^mask must contain only 0/1"),
        (dict(a=torch.zeros(2, 4)), KalmanInputError, r"^a must have shape \(B, T, m\)"),
        (dict(mu0=torch.zeros(3, 2)), KalmanInputError, r"^mu0 must have shape"),
        (dict(u=torch.zeros(2, 4, 1)), KalmanInputError, "^u and B must be given together"),
        (dict(u=torch.zeros(2, 3, 1), B=torch.ones(2, 1)), KalmanInputError, r"^u must have shape \(B, T, k"),
        (dict(u=torch.zeros(2, 4, 1), B=torch.ones(2, 2)), KalmanInputError, r"^B must have shape \(2, 1\)"),
    ],
)
def test_bad_input_names_the_argument(override, error, match):
    with pytest.raises(error, match=match):
        kalman_filter(**{**_base(), **override})
    assert issubclass(error, ValueError)


def test_smoother_checks_A_shape():
    f = kalman_filter(**_base())
    with pytest.raises(KalmanInputError, match="^A must have shape"):
        rts_smoother(f, torch.eye(3))


def test_online_filter_with_the_same_matrices_is_the_filter_and_fills_missing_codes_by_prediction():
    p = make_problem(n=3, m=2, T=6)
    kw = torch_args(p, mask=[1, 0, 1, 0, 0, 1])
    f = kalman_filter(**kw)
    fed = []

    def matrices(t, previous):
        fed.append(previous)
        return kw["A"][:, t], kw["C"][:, t], kw["B"][:, t]

    g = kalman_filter_online(
        kw["a"], matrices, kw["Q"], kw["R"], kw["mu0"], kw["Sigma0"], kw["mask"], kw["u"]
    )
    for name in ("filtered_means", "filtered_covs", "predicted_means", "log_likelihood", "codes", "A", "C"):
        torch.testing.assert_close(getattr(g, name), getattr(f, name), msg=name)
    assert fed[0] is None
    torch.testing.assert_close(fed[1], kw["a"][:, 0])  # observed: the code itself
    predicted = (kw["C"][:, 1] @ f.predicted_means[:, 1, :, None])[..., 0]
    torch.testing.assert_close(fed[2], predicted)  # missing: its predicted mean C_t m_t|t-1


@pytest.mark.parametrize("mask", [None, [1, 1, 0, 0, 1]])
def test_log_joint_minus_smoothed_log_prob_is_the_marginal_likelihood_for_any_trajectory(mask):
    """Bayes: log p(a, z) − log p(z | a) = log p(a) for every z, so the KVAE ELBO's sampled terms are exact."""
    p = make_problem(n=2, m=1, T=5)
    kw = torch_args(p, mask=mask)
    f, s = run(kw)
    for seed in range(3):
        z = sample_smoothed(s, torch.Generator().manual_seed(seed)) + 3.0 * seed  # far from the posterior too
        joint_lp = log_joint(z, f, kw["R"], kw["mu0"], kw["Sigma0"], kw.get("mask"), kw["u"], kw["B"])
        torch.testing.assert_close(joint_lp - smoothed_log_prob(s, z), f.log_likelihood)
