"""Numerical core of a Hamiltonian latent transition: a learned scalar H_θ(q, p) and its integrators.

Tensors are batch-major: q, p have shape (B, n) and H(q, p) has shape (B,). Equations of motion, with an
optional dissipation matrix D(q) ⪰ 0 and an optional generalized force F (e.g. a control term B(q) u):

    q̇ = ∂H/∂p,        ṗ = −∂H/∂q − D(q) ∂H/∂p + F.

Gradients of H come from ``torch.autograd.grad``. Where grad mode is on (training, or
``torch.autograd.functional.jacobian``) they are built with ``create_graph=True``, so a loss on a rollout
backpropagates through the integrator into the parameters of H (and into q, p if these require grad).
Under ``torch.no_grad()`` they are computed inside a local ``torch.enable_grad()`` and returned detached.
In grad mode the whole rollout graph is kept even if nothing requires grad: evaluate under ``no_grad``.
``torch.inference_mode()`` is not supported (autograd cannot run inside it).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

Dissipation = Callable[[Tensor], Tensor]  # q (B, n) -> D(q): (B, n, n) PSD matrix or (B, n) diagonal ≥ 0


def mlp(n_in: int, hidden: int = 64, depth: int = 2, activation: str = "tanh") -> nn.Sequential:
    """A smooth scalar MLP R^n_in -> R (output shape (B, 1)); ``activation`` is "tanh" or "softplus"."""
    acts = {"tanh": nn.Tanh, "softplus": nn.Softplus}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
    dims = [n_in] + [hidden] * depth
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), acts[activation]()]
    return nn.Sequential(*layers, nn.Linear(dims[-1], 1, bias=False))  # a constant offset of H is inert


def split_qp(z: Tensor) -> tuple[Tensor, Tensor]:
    """Split a latent z (B, 2n) into q (B, n) and p (B, n)."""
    if z.dim() != 2 or z.shape[-1] % 2:
        raise ValueError(f"z must have shape (B, 2n) with an even last dimension, got {tuple(z.shape)}")
    return z[:, : z.shape[-1] // 2], z[:, z.shape[-1] // 2 :]


def _scalar(out: Tensor) -> Tensor:
    return out.squeeze(-1) if out.dim() == 2 and out.shape[-1] == 1 else out


def _grad(fn: Callable[..., Tensor], *xs: Tensor) -> tuple[Tensor, ...]:
    """Gradients of Σ_b fn(*xs)_b w.r.t. each x (same shapes); differentiable iff grad mode is on."""
    outer = torch.is_grad_enabled()
    with torch.enable_grad():
        xs = tuple(x if outer and x.requires_grad else x.detach().requires_grad_(True) for x in xs)
        kw = {"create_graph": outer, "allow_unused": True, "materialize_grads": True}
        gs = torch.autograd.grad(fn(*xs).sum(), xs, **kw)
    return gs if outer else tuple(g.detach() for g in gs)


class SeparableHamiltonian(nn.Module):
    """H(q, p) = T(p) + V(q).

    kinetic: "quadratic" (T = ½ pᵀM⁻¹p with learned M⁻¹ = LLᵀ + eps·I, L lower-triangular, so M⁻¹ ≻ 0 and
    ∂T/∂p = M⁻¹p is analytic), "mlp" (T an MLP of p, no convexity guarantee) or a callable p (B, n) -> (B,).
    potential: None (V an MLP of q) or a callable / module q (B, n) -> (B,) or (B, 1).
    """

    def __init__(
        self, n: int, hidden=64, depth=2, activation="tanh", kinetic="quadratic", potential=None, eps=1e-3
    ):
        super().__init__()
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.n, self.eps = n, eps
        self.potential = mlp(n, hidden, depth, activation) if potential is None else potential
        self.mass_factor: nn.Parameter | None = None
        if kinetic == "quadratic":
            self.mass_factor = nn.Parameter(torch.eye(n))  # L (only its lower triangle is used)
            self.kinetic = None
        elif kinetic == "mlp":
            self.kinetic = mlp(n, hidden, depth, activation)
        elif callable(kinetic):
            self.kinetic = kinetic
        else:
            raise ValueError(f"kinetic must be 'quadratic', 'mlp' or a callable, got {kinetic!r}")

    @property
    def quadratic(self) -> bool:  # T = ½ pᵀM⁻¹p
        return self.mass_factor is not None

    def inv_mass(self) -> Tensor:
        """M⁻¹ = LLᵀ + eps·I, (n, n), symmetric positive definite (quadratic kinetic energy only)."""
        if self.mass_factor is None:
            raise ValueError("inv_mass: this Hamiltonian has no quadratic kinetic energy")
        L = torch.tril(self.mass_factor)
        return L @ L.T + self.eps * torch.eye(self.n, dtype=L.dtype, device=L.device)

    def kinetic_energy(self, p: Tensor) -> Tensor:
        """T(p), (B,)."""
        if self.mass_factor is not None:
            return 0.5 * ((p @ self.inv_mass()) * p).sum(-1)
        return _scalar(self.kinetic(p))

    def potential_energy(self, q: Tensor) -> Tensor:
        """V(q), (B,)."""
        return _scalar(self.potential(q))

    def energy(self, q: Tensor, p: Tensor) -> Tensor:
        """H(q, p) = T(p) + V(q), (B,)."""
        return self.kinetic_energy(p) + self.potential_energy(q)

    def dV(self, q: Tensor) -> Tensor:
        """∂V/∂q, (B, n)."""
        return _grad(self.potential_energy, q)[0]

    def dT(self, p: Tensor) -> Tensor:
        """∂T/∂p, (B, n) (= M⁻¹p, analytic, for the quadratic kinetic energy)."""
        return p @ self.inv_mass() if self.mass_factor is not None else _grad(self.kinetic_energy, p)[0]

    def grads(self, q: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:
        """(∂H/∂q, ∂H/∂p), each (B, n)."""
        return self.dV(q), self.dT(p)


class GeneralHamiltonian(nn.Module):
    """A non-separable H(q, p): an MLP of (q, p), or ``fn(q, p) -> (B,)`` if given."""

    def __init__(self, n: int, hidden: int = 64, depth: int = 2, activation: str = "tanh", fn=None):
        super().__init__()
        self.n = n
        self.net = mlp(2 * n, hidden, depth, activation) if fn is None else None
        self.fn = fn

    def energy(self, q: Tensor, p: Tensor) -> Tensor:
        """H(q, p), (B,)."""
        return _scalar(self.fn(q, p)) if self.fn is not None else self.net(torch.cat([q, p], -1)).squeeze(-1)

    def grads(self, q: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:
        """(∂H/∂q, ∂H/∂p), each (B, n)."""
        dq, dp = _grad(self.energy, q, p)
        return dq, dp


def _check(H, q: Tensor, p: Tensor, substeps: int, force=None, dissipation=None, separable=False) -> None:
    if separable and not hasattr(H, "dV"):
        raise TypeError("leapfrog needs a separable Hamiltonian (dV, dT); use explicit_step for a general H")
    if isinstance(substeps, bool) or not isinstance(substeps, int) or substeps < 1:
        raise ValueError(f"substeps must be a positive int, got {substeps!r}")
    if q.dim() != 2 or q.shape[-1] != getattr(H, "n", q.shape[-1]):
        raise ValueError(f"q must have shape (B, {getattr(H, 'n', 'n')}), got {tuple(q.shape)}")
    if p.shape != q.shape:
        raise ValueError(f"p must have the shape of q {tuple(q.shape)}, got {tuple(p.shape)}")
    if force is not None and force.shape != q.shape:
        raise ValueError(f"force must have the shape of q {tuple(q.shape)}, got {tuple(force.shape)}")
    if separable and dissipation is not None and not H.quadratic:
        raise ValueError("dissipation requires a quadratic kinetic energy (kinetic='quadratic')")


def _eval_D(dissipation: Dissipation, q: Tensor) -> Tensor:
    D = dissipation(q)
    if D.shape != q.shape and D.shape != (*q.shape, q.shape[-1]):
        raise ValueError(f"dissipation must return (B, n) or (B, n, n), got {tuple(D.shape)}")
    return D


def damp(H: SeparableHamiltonian, q: Tensor, p: Tensor, h: float | Tensor, D: Tensor) -> Tensor:
    """The dissipative sub-flow ṗ = −D ∂T/∂p = −D M⁻¹p over time h at fixed q, by implicit midpoint:

        p' = p − h D M⁻¹ (p + p')/2,   i.e.  (I + h/2 D M⁻¹) p' = (I − h/2 D M⁻¹) p.

    For the quadratic T this can never increase H (for any h ≥ 0, any D with vᵀDv ≥ 0): q and V are fixed and
    T(p') − T(p) = ½(p' + p)ᵀM⁻¹(p' − p) = −h v̄ᵀ D v̄ ≤ 0 with v̄ = M⁻¹(p + p')/2. It is second order, so the
    Strang splitting in ``leapfrog`` stays second order. D: (B, n, n) or (B, n) diagonal; h a float or (B, 1).
    Returns p' (B, n).
    """
    minv = H.inv_mass()
    h = h.unsqueeze(-1) if isinstance(h, Tensor) else h  # one h per sequence: (B, 1) -> (B, 1, 1)
    A = 0.5 * h * (D.unsqueeze(-1) * minv if D.dim() == 2 else D @ minv)  # (B, n, n)
    rhs = p - (A @ p.unsqueeze(-1)).squeeze(-1)  # I + A is invertible: its eigenvalues have real part ≥ 1
    return torch.linalg.solve_ex(torch.eye(p.shape[-1], dtype=p.dtype, device=p.device) + A, rhs)[0]


def _leapfrog(H, q, p, dt, substeps, dissipation, force, cache):
    h = dt / substeps
    g, D = cache if cache is not None else (H.dV(q), None if dissipation is None else _eval_D(dissipation, q))
    for _ in range(substeps):
        if D is not None:
            p = damp(H, q, p, 0.5 * h, D)
        p = p - 0.5 * h * (g if force is None else g - force)
        q = q + h * H.dT(p)
        g = H.dV(q)
        p = p - 0.5 * h * (g if force is None else g - force)
        if dissipation is not None:
            D = _eval_D(dissipation, q)
            p = damp(H, q, p, 0.5 * h, D)
    return q, p, (g, D)


def leapfrog(
    H, q: Tensor, p: Tensor, dt: float, substeps=1, dissipation=None, force=None
) -> tuple[Tensor, Tensor]:
    """One step dt of Störmer–Verlet (kick-drift-kick), ``substeps`` sub-steps of h = dt/substeps each.

    q, p: (B, n). force: (B, n) generalized force held constant over dt (added to ṗ in the kicks).
    Without dissipation the map is symplectic, time-reversible (dt -> −dt inverts it) and second order;
    H is not conserved exactly but oscillates within O(h²) without drift. dissipation: callable q -> D(q),
    applied as the Strang splitting damp(h/2) ∘ KDK(h) ∘ damp(h/2) per sub-step (needs a quadratic T).
    Each damping sub-flow provably never increases H (see ``damp``); the conservative KDK part keeps its
    O(h²) energy oscillation, so where damping is weak a whole step can still raise H by up to that amount.
    D ≡ 0 reproduces the conservative step bit for bit. Returns (q, p) after dt, each (B, n).
    """
    _check(H, q, p, substeps, force, dissipation, separable=True)
    return _leapfrog(H, q, p, dt, substeps, dissipation, force, None)[:2]


def explicit_step(
    H, q: Tensor, p: Tensor, dt: float, substeps: int = 1, method: str = "rk4", dissipation=None, force=None
) -> tuple[Tensor, Tensor]:
    """One step dt of an explicit Runge–Kutta method ("rk4" or "euler") for any H with ``grads(q, p)``.

    NOT symplectic: energy drifts over long horizons (explicit Euler gains energy on conservative systems),
    and dissipation (added to ṗ as −D ∂H/∂p) comes with no energy guarantee. Same shapes and conventions as
    ``leapfrog``. Returns (q, p), each (B, n).
    """
    if method not in ("rk4", "euler"):
        raise ValueError(f"method must be 'rk4' or 'euler', got {method!r}")
    _check(H, q, p, substeps, force)
    h = dt / substeps

    def f(q: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:
        dHq, dHp = H.grads(q, p)
        if dissipation is not None:
            D = _eval_D(dissipation, q)
            dHq = dHq + (D * dHp if D.dim() == 2 else (D @ dHp.unsqueeze(-1)).squeeze(-1))
        return dHp, -dHq if force is None else force - dHq

    for _ in range(substeps):
        k1 = f(q, p)
        if method == "euler":
            q, p = q + h * k1[0], p + h * k1[1]
            continue
        k2 = f(q + 0.5 * h * k1[0], p + 0.5 * h * k1[1])
        k3 = f(q + 0.5 * h * k2[0], p + 0.5 * h * k2[1])
        k4 = f(q + h * k3[0], p + h * k3[1])
        q, p = (x + h / 6 * (a + 2 * b + 2 * c + d) for x, a, b, c, d in zip((q, p), k1, k2, k3, k4))
    return q, p


def rollout(
    H,
    q0: Tensor,
    p0: Tensor,
    dt: float,
    n_steps: int,
    substeps=1,
    method="leapfrog",
    dissipation=None,
    force=None,
) -> tuple[Tensor, Tensor]:
    """Integrate n_steps steps of dt from (q0, p0), each (B, n), with "leapfrog", "rk4" or "euler".

    force: None, (B, n) constant, or (B, n_steps, n) held constant over step t (zero-order hold).
    Returns q, p trajectories of shape (B, n_steps, n): the states after steps 1..n_steps (q0, p0 excluded).
    No host synchronization per step; a leapfrog rollout evaluates ∂V/∂q once per sub-step.
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int, got {n_steps!r}")
    if method not in ("leapfrog", "rk4", "euler"):
        raise ValueError(f"method must be 'leapfrog', 'rk4' or 'euler', got {method!r}")
    if force is not None and force.dim() == 3 and force.shape != (q0.shape[0], n_steps, q0.shape[-1]):
        raise ValueError(f"force must be (B, n) or (B, n_steps, n), got {tuple(force.shape)}")
    qs: list[Tensor] = []
    ps: list[Tensor] = []
    cache, q, p = None, q0, p0
    for t in range(n_steps):
        f = force[:, t] if force is not None and force.dim() == 3 else force
        if method != "leapfrog":
            q, p = explicit_step(H, q, p, dt, substeps, method, dissipation, f)
        else:  # checked once; each step reuses ∂V/∂q and D(q) from the end of the previous one
            if t == 0:
                _check(H, q, p, substeps, f, dissipation, separable=True)
            q, p, cache = _leapfrog(H, q, p, dt, substeps, dissipation, f, cache)
        qs.append(q)
        ps.append(p)
    return torch.stack(qs, 1), torch.stack(ps, 1)
