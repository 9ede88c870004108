"""Where a second-order latent keeps its state: free coordinates, or a stated system's configuration space.

Free: z = (q, p) (a ``hamiltonian``; HGN) or (q, v) (a second-order ``neural_ode``; ODE2VAE), n = latent_dim / 2
each; every coordinate is a real number, so a pendulum's angle must be drawn by the decoder from a curve the
latent q traces.

A system's (``coordinates = "pendulum"``, or any ``physvae.physics`` system whose state is positions and their
velocities): the latent holds that system's state as the ``physics`` transition does — its first E dimensions
are ``KnownPhysics.embed`` of y = (positions, velocities), angles as (cos, sin) — then constant extra dimensions.
The transition still learns the dynamics (a Hamiltonian's V, M, D and B; a neural ODE's acceleration field): only
the coordinates are stated, as in SymODEN's angle-aware design. A Hamiltonian's momenta are p = M q̇ on the way in
and its velocities q̇ = M⁻¹p on the way out (without a mass, p is q̇ itself); networks of the positions read an
angle through (cos, sin), so what they learn is periodic in it. What the system states also lets the ``render``
decoder draw the bodies and the velocity evidence differentiate the positions, as for the ``physics`` transition.
"""

from __future__ import annotations

import torch
from torch import nn

from simulators import ConfigError

from ..physics import PHYSICS, KnownPhysics


def stated_system(name: str, where: str = "hamiltonian.coordinates") -> KnownPhysics:
    """The system whose configuration space a second-order latent takes: a ConfigError naming the field where it is
    not a built-in one, steps by its own flow (walls: no smooth energy), or has a state column that is neither a
    position nor the velocity of one."""
    if name not in PHYSICS:
        raise ConfigError(f"{where} must be '' (free q, p) or one of {sorted(PHYSICS)}, got {name!r}")
    ph = PHYSICS[name]
    if ph.flow is not None:
        raise ConfigError(
            f"{where}={name!r} moves by its own flow (walls), which no smooth energy H(q, p) gives"
        )
    positions = sorted(set(ph.velocities.values()))
    if sorted(positions + list(ph.velocities)) != list(range(ph.state_dim)):
        raise ConfigError(
            f"{where}={name!r}: its state {ph.state_names} is not positions and their velocities "
            f"(velocities {ph.velocities})"
        )
    return ph


def check_latent_size(name: str, latent_dim: int, field: str) -> None:
    """A ConfigError naming ``field`` (set to system ``name``) where ``latent_dim`` cannot hold its state."""
    need = stated_system(name, field).embed_dim
    if latent_dim < need:
        raise ConfigError(
            f"{field}={name!r} needs latent_dim ≥ {need} (its state, angles as cos and sin), got {latent_dim}"
        )


def check_states(physics: KnownPhysics | None, spec, field: str) -> None:
    """A ConfigError naming ``field`` where data (a DataSpec) declares states that do not include the stated
    system's (free coordinates, or video without true states, are not checked)."""
    names = [] if physics is None else physics.state_names
    if names and spec.state_names and not set(names) <= set(spec.state_names):
        raise ConfigError(
            f"{field} {physics.name!r} holds the states {names}, but the data's states are {spec.state_names}: "
            "choose the system the video shows, or '' for free coordinates"
        )


class Coordinates:
    """Maps between a latent z (B, D) and (q, p, extras), and the features networks of q read."""

    def __init__(self, latent_dim: int, physics: KnownPhysics | None):
        self.physics, self.latent_dim = physics, latent_dim
        if physics is None:
            self.n, self.embed_dim = latent_dim // 2, latent_dim
            self.positions: list[int] = list(range(self.n))
            self.velocities: list[int] = []
            return
        by_position = {pos: vel for vel, pos in physics.velocities.items()}
        self.positions = sorted(by_position)
        self.velocities = [by_position[i] for i in self.positions]
        self.n, self.embed_dim = len(self.positions), physics.embed_dim

    @property
    def feature_dim(self) -> int:
        """Inputs of a network of q: one per coordinate, two per angle."""
        if self.physics is None:
            return self.n
        return self.n + sum(1 for i in self.positions if i in self.physics.angles)

    def features(self, q: torch.Tensor) -> torch.Tensor:
        """q (B, n) -> (B, feature_dim): an angle as (cos, sin), so what reads it is periodic in it."""
        if self.physics is None:
            return q
        cols = []
        for k, i in enumerate(self.positions):
            cols += [q[:, k].cos(), q[:, k].sin()] if i in self.physics.angles else [q[:, k]]
        return torch.stack(cols, -1)

    def to_qp(
        self, z: torch.Tensor, mass: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """z (B, D) -> q (B, n), p (B, n) and the extra dimensions (B, D − E); ``mass`` M (n, n) turns a stated
        system's velocities into momenta p = M q̇ (None: p is q̇; unused for free coordinates)."""
        if self.physics is None:
            return z[:, : self.n], z[:, self.n :], z[:, self.latent_dim :]
        y = self.physics.chart(z[:, : self.embed_dim])
        qdot = y[:, self.velocities]
        return y[:, self.positions], qdot if mass is None else qdot @ mass, z[:, self.embed_dim :]

    def from_qp(
        self, q: torch.Tensor, p: torch.Tensor, extras: torch.Tensor, inv_mass: torch.Tensor | None
    ) -> torch.Tensor:
        """(q, p) (..., n) each and the extras (..., D − E) -> z (..., D); velocities q̇ = M⁻¹p (``inv_mass``
        None: p is q̇)."""
        if self.physics is None:
            return torch.cat([q, p], -1)
        qdot = p if inv_mass is None else p @ inv_mass
        return torch.cat([self.physics.embed(self._state(q, qdot)), extras], -1)

    def _state(self, q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        """The system's state y (..., S) with its positions q and velocities q̇ (..., n) each in their columns."""
        cols: list[torch.Tensor | None] = [None] * self.physics.state_dim
        for k, (i, v) in enumerate(zip(self.positions, self.velocities)):
            cols[i], cols[v] = q[..., k], qdot[..., k]
        return torch.stack(cols, -1)

    def tangent(self, q: torch.Tensor, qdot: torch.Tensor, qddot: torch.Tensor) -> torch.Tensor:
        """dz/dt (B, E) of the embedded state moving with q̇ and q̈ (B, n each) at (q, q̇)."""
        y, dy = self._state(q, qdot), self._state(qdot, qddot)
        cols = []
        for i in range(self.physics.state_dim):  # d/dt (cos y, sin y) = (−sin y, cos y) ẏ for an angle
            yi, di = y[..., i], dy[..., i]
            cols += [-yi.sin() * di, yi.cos() * di] if i in self.physics.angles else [di]
        return torch.stack(cols, -1)

    def position_dims(self) -> tuple[int, ...]:
        """The latent dimensions that hold positions: q, or the stated positions' (cos, sin) pairs and columns."""
        if self.physics is None:
            return tuple(range(self.n))
        dims, k = [], 0
        for i in range(self.physics.state_dim):
            width = 2 if i in self.physics.angles else 1
            if i in self.positions:
                dims += range(k, k + width)
            k += width
        return tuple(dims)


class OfFeatures(nn.Module):
    """A network of q through ``Coordinates.features``: module(features(q))."""

    def __init__(self, coords: Coordinates, module: nn.Module):
        super().__init__()
        self.features, self.module = coords.features, module

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        return self.module(self.features(q))
