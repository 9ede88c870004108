"""State recovery: how well the true physical state can be read off the latents (R² per state variable).

Protocols:
    linear — ordinary least squares from all latent dimensions to each state variable, fit on the training split,
        scored on the test split (DVBF, Karl et al. 2017).
    poly — SyMetric-style (Botev et al. 2021): drop latents whose mean posterior variance ≥ 0.5, standardize,
        Lasso on polynomial features of rising degree (1..5) until R² > 0.9, alpha by 2-fold CV over
        logspace(−4, −0.5, 10); fit on train, scored on test.
Angles are probed as sin and cos (the raw wrapped angle is discontinuous); ``probe_columns`` picks the columns.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from math import comb

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoCV, LinearRegression
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

SKIPPED_PREFIX = "theta"  # wrapped angles (theta, theta1, ...): probed through sin and cos columns


def probe_columns(state_names: list[str]) -> list[int]:
    """Indices of the state columns a probe scores."""
    return [i for i, n in enumerate(state_names) if not n.startswith(SKIPPED_PREFIX)]


@dataclass
class ProbeResult:
    """R² on the test split per state variable, and the protocol that produced it."""

    r2: dict[str, float]
    protocol: str
    degree: int = 1
    kept_latents: int = 0

    def to_dict(self) -> dict:
        return {
            "r2": self.r2,
            "protocol": self.protocol,
            "degree": self.degree,
            "kept_latents": self.kept_latents,
        }


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[-1])


def linear_probe(z_train, s_train, z_test, s_test, state_names: list[str]) -> ProbeResult:
    """OLS from latents (N, T, D) to states (N, T, S), fit on train, R² on test per column of ``probe_columns``."""
    cols = probe_columns(state_names)
    reg = LinearRegression().fit(_flat(z_train), _flat(s_train)[:, cols])
    pred = reg.predict(_flat(z_test))
    truth = _flat(s_test)[:, cols]
    r2 = {state_names[c]: float(r2_score(truth[:, j], pred[:, j])) for j, c in enumerate(cols)}
    return ProbeResult(r2=r2, protocol="linear", kept_latents=z_train.shape[-1])


def poly_probe(
    z_train,
    s_train,
    z_test,
    s_test,
    state_names,
    var_train=None,
    max_degree: int = 5,
    max_features: int = 2000,
) -> ProbeResult:
    """SyMetric-style polynomial Lasso probe; ``var_train`` (N, T, D) posterior variances select the latents.

    The degree stops rising before the polynomial features would exceed ``max_features`` (with wide latents a
    degree-5 expansion has hundreds of thousands of terms); ``degree`` reports the degree actually used.
    """
    keep = np.ones(z_train.shape[-1], dtype=bool)
    if var_train is not None:
        keep = _flat(var_train).mean(0) < 0.5
        if not keep.any():
            keep[:] = True
    cols = probe_columns(state_names)
    x_tr, x_te = _flat(z_train)[:, keep], _flat(z_test)[:, keep]
    y_tr, y_te = _flat(s_train)[:, cols], _flat(s_test)[:, cols]
    y_mean, y_std = y_tr.mean(0), y_tr.std(0) + 1e-12
    best = None
    for degree in range(1, max_degree + 1):
        if degree > 1 and comb(x_tr.shape[1] + degree, degree) - 1 > max_features:
            break
        pred = (
            np.stack(
                [_lasso(degree, x_tr, (y_tr[:, j] - y_mean[j]) / y_std[j], x_te) for j in range(len(cols))],
                axis=1,
            )
            * y_std
            + y_mean
        )
        r2 = {state_names[c]: float(r2_score(y_te[:, j], pred[:, j])) for j, c in enumerate(cols)}
        best = ProbeResult(r2=r2, protocol="poly_lasso", degree=degree, kept_latents=int(keep.sum()))
        if min(r2.values()) > 0.9:
            break
    return best


def _lasso(degree: int, x_tr, y_tr, x_te) -> np.ndarray:
    model = make_pipeline(
        StandardScaler(),
        PolynomialFeatures(degree, include_bias=False),
        StandardScaler(),
        LassoCV(alphas=np.logspace(-4, -0.5, 10), cv=2, max_iter=5000),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x_tr, y_tr).predict(x_te)
