"""The interface every latent transition p(z_t | z_{t−1}, u_{t−1}) implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn


@dataclass
class LinearMaps:
    """What a (locally) linear transition does around a set of latents, for the dynamics read-out.

    Attributes:
        mean_map: (D, D) the usage-weighted one-step map.
        maps: (K, D, D) the maps it mixes (K = 1 for a single linear map).
        usage: (K,) how much each is used over the latents, summing to 1.
    """

    mean_map: torch.Tensor
    maps: torch.Tensor
    usage: torch.Tensor


def velocity_look_ahead(section: str, evidence: str) -> str:
    """The look-ahead reason of velocity evidence ``evidence`` set in ``model.<section>``; "" for "network"."""
    if evidence == "network":
        return ""
    return (
        f"model.{section}.velocity_evidence={evidence!r}: the velocity at frame t is differentiated over frames "
        "t − 1, t, t + 1"
    )


def step_dt(dt: float | torch.Tensor, t: int) -> float | torch.Tensor:
    """The interval of step t: ``dt`` itself when it is one float, else its row t, (B, T, 1) -> (B, 1)."""
    return dt if isinstance(dt, (int, float)) else dt[:, t]


class Transition(nn.Module):
    """Parameterizes p(z_t | z_<t, u_<t) as a diagonal Gaussian, one step at a time.

    A subclass sets ``name`` (its registry key and its config section, ``model.<name>``) and ``config_class``
    (a dataclass with a ``validate(where)`` method), and implements ``step``; recurrent ones also ``init_state``.
    The constructor signature is ``(latent_dim, input_dim, config)``. Tensors are batch-major: z (B, D),
    u (B, U), rollouts (B, T, D). Transitions that learn process noise hold a ``ProcessNoise`` module.
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type]
    per_frame_inference: ClassVar[bool] = False  # True: q(z_t | x_t) from frame t alone (the per-frame VAE)
    family: ClassVar[str] = "temporal"  # the model build_model makes around it: "temporal" or "kvae"

    def __init__(self, latent_dim: int, input_dim: int = 0):
        super().__init__()
        self.latent_dim, self.input_dim = latent_dim, input_dim

    def check_data(self, spec) -> None:
        """Raise ConfigError where the data (a ``physvae.model.DataSpec``) cannot be modelled by this transition;
        called when a model is built."""

    def init_state(self, batch: int, device: torch.device, dtype: torch.dtype = torch.float32) -> Any:
        """What one pass (an inference sweep or a rollout) carries from step to step: a recurrent transition's
        hidden state, or something a Markov one computes once per pass instead of at every step (default None)."""
        return None

    def init_state_from(self, evidence: torch.Tensor, mask: torch.Tensor, dt=None, inputs=None) -> Any:
        """The state of an inference sweep, given the inference network's evidence about every latent
        (B, T, D), the mask of the frames seen (B, T), the frame intervals (seconds: a float, or (B, T − 1, 1)
        for uneven times) and the inputs (B, T, U) or None: a transition that infers something per sequence (its
        parameters) does it here. Default: ``init_state``."""
        return self.init_state(evidence.shape[0], evidence.device, evidence.dtype)

    def evidence(self, mean: torch.Tensor, std: torch.Tensor, mask: torch.Tensor, times: torch.Tensor):
        """The inference network's evidence about z_t, mean and std (B, T, D), as this transition would have it
        before fusion with its prior, given the frames seen (mask (B, T)) and their times (B, T) in seconds.
        Default: unchanged."""
        return mean, std

    @property
    def looks_ahead(self) -> bool:
        """Whether ``evidence`` at frame t uses frames after t (velocities differentiated over t − 1, t, t + 1):
        then even a forward inference network's q(z_t) sees frame t + 1, and ``model.inference = "filter"``
        does not filter. True where ``look_ahead_reason`` gives one."""
        return bool(self.look_ahead_reason)

    @property
    def look_ahead_reason(self) -> str:
        """Which setting makes ``evidence`` look ahead and how, for messages; "" where it does not (default)."""
        return ""

    def step(self, z: torch.Tensor, state: Any, dt: float | torch.Tensor, u: torch.Tensor | None):
        """One step: z_{t−1} (B, D), state, Δt, u_{t−1} (B, U) or None -> (mean (B, D), std (B, D), state).

        Δt is one float (seconds) for the whole batch or, on unevenly timed frames, a tensor (B, 1) of each
        sequence's own interval; only continuous-time transitions (those with a ``vector_field``) get tensors.
        """
        raise NotImplementedError

    def rollout(
        self,
        z0: torch.Tensor,
        n_steps: int,
        dt: float | torch.Tensor,
        u: torch.Tensor | None = None,
        state: Any = None,
    ):
        """Mean trajectory after z0: z0 (B, D), Δt a float or (B, n_steps, 1) per-step intervals, u
        (B, n_steps, U) or None -> (B, n_steps, D).

        Each step feeds the previous mean back (no sampling): the model's deterministic prediction.
        """
        state = self.init_state(z0.shape[0], z0.device, z0.dtype) if state is None else state
        z, out = z0, []
        for t in range(n_steps):
            z, _, state = self.step(z, state, step_dt(dt, t), None if u is None else u[:, t])
            out.append(z)
        return torch.stack(out, dim=1)

    def linear_maps(self, z: torch.Tensor) -> LinearMaps | None:
        """The one-step linear maps used around latents z (N, D), for the eigen-analysis of the learned dynamics;
        None where the transition is not (locally) linear."""
        return None

    def regularizer(self, z: torch.Tensor, times: torch.Tensor | None = None) -> torch.Tensor | None:
        """A penalty added to the loss, from posterior latents z (B, T, D) at frame times (B, T) in seconds (e.g.
        the size of a neural residual); None for none."""
        return None

    @classmethod
    def continuous_time(cls) -> bool:
        """Whether the transition integrates a vector field, so that it can step by any Δt (uneven frame times)."""
        return cls.vector_field is not Transition.vector_field

    def vector_field(self, z: torch.Tensor) -> torch.Tensor | None:
        """dz/dt (N, D) at latents z (N, D) with no control, for continuous-time transitions; else None."""
        return None

    @classmethod
    def position_dims(cls, latent_dim: int, config) -> tuple[int, ...] | None:
        """Indices of the latent dimensions that hold positions where z = (q, q̇-like) (a second-order field's
        q, a Hamiltonian's q), for a latent of ``latent_dim`` under ``config`` (the transition's config object):
        what ``model.decode_from = "position"`` decodes; None where z has no such split."""
        return None

    @property
    def slow_dims(self) -> tuple[int, ...]:
        """Indices of the latent dimensions that change on a slow time scale (``Hierarchical``, the physics
        transition's drifting parameters); () for none."""
        return ()

    @classmethod
    def hidden_dims(cls, latent_dim: int, config) -> tuple[int, ...]:
        """Indices of the latent dimensions the decoder must not read (what a frame cannot show, such as a
        drifting physical parameter), for a latent of ``latent_dim`` under ``config``; () for none."""
        return ()

    @property
    def nfe(self) -> int:
        """Vector-field evaluations since the last ``reset_nfe`` (0 for discrete transitions)."""
        return 0

    def reset_nfe(self) -> None:
        pass

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Runs saved before process noise was a module of its own kept it as ``log_noise`` on every transition.
        old = state_dict.pop(prefix + "log_noise", None)
        if old is not None and isinstance(getattr(self, "process_noise", None), nn.Module):
            state_dict.setdefault(prefix + "process_noise.log_std", old)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
