"""State recovery: how well the true physical state can be read off the latents (R² per state variable).

Protocols:
    linear — ordinary least squares from all latent dimensions to each state variable, fit on the training split,
        scored on the test split (DVBF, Karl et al. 2017).
    poly — SyMetric-style (Botev et al. 2021): drop latents whose mean posterior variance ≥ 0.5, standardize,
        Lasso on polynomial features of rising degree (1..5) until R² > 0.9, alpha by 2-fold CV over
        logspace(−4, −0.5, 10); fit on train, scored on test.
    curved — ridge on the standardized degree-3 polynomial features of the latents' top 8 principal components
        (fit on train, scored on test): not a published protocol but a diagnosis beside the linear one; a state
        held through a curved chart (an angle whose cosine is its square) reads here and not linearly, a state
        lost reads in neither.
Targets come from the dataset's declared state kinds (``probe_targets``): a column of kind "angle" is probed
through its sin and cos (the raw wrapped angle jumps at ±π); every other column is probed as it is, so no state
column is ever dropped.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from math import comb

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoCV, LinearRegression, Ridge
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler


def _target_columns(names: list[str], kinds: list[str] | None):
    """(source column, function or None, target name, kind) of every probe target, in order (see
    ``probe_targets``)."""
    kinds = list(kinds or ["coordinate"] * len(names))
    if len(kinds) != len(names):
        raise ValueError(f"{len(names)} state names and {len(kinds)} kinds")
    for i, (name, kind) in enumerate(zip(names, kinds)):
        if kind != "angle":
            yield i, None, name, kind
            continue
        for f, label in ((np.sin, f"sin_{name}"), (np.cos, f"cos_{name}")):
            if label not in names:
                yield i, f, label, "angle"


def probe_targets(states: np.ndarray, names: list[str], kinds: list[str] | None = None):
    """What a probe reads from latents: states (..., S) -> targets (..., K) and their K names.

    An "angle" column becomes ``sin_<name>`` and ``cos_<name>``, unless the data already holds columns of those
    names (the same quantities, then probed in their own place); every other column is kept as it is.
    Without kinds every column is a plain coordinate.
    """
    if states.shape[-1] != len(names) or (kinds is not None and len(kinds) != len(names)):
        n_kinds = len(names) if kinds is None else len(kinds)
        raise ValueError(f"{len(names)} state names and {n_kinds} kinds for {states.shape[-1]} state columns")
    cols, out = [], []
    for i, f, label, _ in _target_columns(names, kinds):
        cols.append(states[..., i] if f is None else f(states[..., i])), out.append(label)
    return np.stack(cols, axis=-1) if cols else states[..., :0], out


def target_kinds(names: list[str], kinds: list[str] | None = None) -> list[str]:
    """The state kind of each target ``probe_targets`` makes from columns ``names`` of ``kinds``: an angle's
    ``sin_``/``cos_`` targets are of kind "angle", every kept column keeps its own kind."""
    return [kind for *_, kind in _target_columns(names, kinds)]


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


POSITION_KINDS = ("coordinate", "angle", "derived")  # what one frame shows (simulators.STATE_KINDS)


def position_window(targets: np.ndarray, kinds: list[str], half: int = 1) -> np.ndarray | None:
    """The true positions around each frame, as a reference latent: targets (N, T, K) of ``kinds`` ->
    (N, T, P·(2·half+1)), the P targets of kind coordinate, angle or derived at frames t−half … t+half (the first and
    last frames repeated at the sequence's ends). None when no target is a position.

    A linear probe from it is what a latent that holds every position exactly, read out linearly with its
    neighbours (a finite difference), gives for velocities: where motion turns within a frame interval (bounces)
    that read-out errs, so a model's velocity R² is judged beside it, not against 1.
    """
    if targets.ndim != 3 or targets.shape[-1] != len(kinds):
        raise ValueError(f"targets must be (N, T, {len(kinds)}) for {len(kinds)} kinds, got {targets.shape}")
    pos = targets[..., [k in POSITION_KINDS for k in kinds]]
    if pos.shape[-1] == 0:
        return None
    t = np.arange(targets.shape[1])
    shifted = [pos[:, np.clip(t + d, 0, len(t) - 1)] for d in range(-half, half + 1)]
    return np.concatenate(shifted, axis=-1)


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[-1])


def linear_reader(z_train, y_train):
    """The OLS read-out ``linear_probe`` scores, fit on latents (N, T, D) and targets (N, T, K): returns a
    function z (..., D) -> targets (..., K)."""
    reg = LinearRegression().fit(_flat(z_train), _flat(y_train))
    return lambda z: reg.predict(_flat(z)).reshape(*z.shape[:-1], -1)


def linear_probe(z_train, y_train, z_test, y_test, names: list[str]) -> ProbeResult:
    """OLS from latents (N, T, D) to targets (N, T, K) (see ``probe_targets``), fit on train, R² on test per
    target."""
    r2 = r2_per_target(linear_reader(z_train, y_train)(z_test), y_test, names)
    return ProbeResult(r2=r2, protocol="linear", kept_latents=z_train.shape[-1])


def r2_per_target(read: np.ndarray, truth: np.ndarray, names: list[str]) -> dict[str, float]:
    """R² per target of ``read`` against the true targets ``truth`` (..., K); ``read`` broadcasts to truth's shape
    (e.g. (N, 1, K): one value per sequence held over the frames)."""
    read = np.broadcast_to(read, truth.shape)
    flat_read, flat_true = _flat(read), _flat(truth)
    return {n: float(r2_score(flat_true[:, j], flat_read[:, j])) for j, n in enumerate(names)}


CURVED_COMPONENTS, CURVED_DEGREE = 8, 3
RIDGE_ALPHA = 1e-3  # on standardized features: a guard against collinear monomials, not a prior


def pca_poly_probe(
    z_train, y_train, z_test, y_test, names, components: int = CURVED_COMPONENTS, degree: int = CURVED_DEGREE
) -> ProbeResult:
    """Ridge from the standardized polynomial features (up to ``degree``) of the latents' top ``components``
    principal components (fit on the training latents) to each target: latents (N, T, D), targets (N, T, K), fit on
    train, R² on test per target. ``kept_latents`` reports the components used (at most D, and at most the number
    of training latents)."""
    x = _flat(z_train)
    pca = PCA(min(components, *x.shape)).fit(x)
    ridge = Ridge(RIDGE_ALPHA, solver="svd")  # exact on ill-conditioned features (short runs, few sequences)
    model = make_pipeline(PolynomialFeatures(degree, include_bias=False), StandardScaler(), ridge)
    model.fit(pca.transform(x), _flat(y_train))
    read = model.predict(pca.transform(_flat(z_test))).reshape(*z_test.shape[:-1], -1)
    r2 = r2_per_target(read, y_test, names)
    return ProbeResult(r2=r2, protocol="pca_poly_ridge", degree=degree, kept_latents=pca.n_components_)


def poly_probe(
    z_train,
    y_train,
    z_test,
    y_test,
    names,
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
    x_tr, x_te = _flat(z_train)[:, keep], _flat(z_test)[:, keep]
    y_tr, y_te = _flat(y_train), _flat(y_test)
    y_mean, y_std = y_tr.mean(0), y_tr.std(0) + 1e-12
    best = None
    for degree in range(1, max_degree + 1):
        if degree > 1 and comb(x_tr.shape[1] + degree, degree) - 1 > max_features:
            break
        pred = (
            np.stack(
                [_lasso(degree, x_tr, (y_tr[:, j] - y_mean[j]) / y_std[j], x_te) for j in range(len(names))],
                axis=1,
            )
            * y_std
            + y_mean
        )
        r2 = r2_per_target(pred, y_te, names)
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
