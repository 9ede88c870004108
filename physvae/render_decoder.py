"""An inverse-graphics decoder for the ``physics`` transition: the frame is drawn from the physical state alone.

A conv decoder reads any function of the latent, so a latent angle that is a squeezed or warped copy of the true
one decodes as well as the true angle, and the stated physics is then fit in the wrong coordinates (the
``parameters`` section's ``coordinates`` check measures this). This decoder leaves no such freedom: the state y =
chart(z_{:E}) gives the bodies' positions in the plane of motion (``KnownPhysics.points``), a learned affine camera
puts them in the image, and each body is a learned sprite painted at its position over a learned background
(``compose="over"``, the default):

    I(p) = b(p);  then for each body k:  I(p) ← (1 − α_k(p)) I(p) + α_k(p) c_k(p),   out = logit(I),

with p a pixel centre in [−1, 1]², b = σ(β) the background (β (C, H, W), set from the training frames' per-pixel
median before training), and (α_k, c_k) = σ(s_k(p − c − M P_k(y), z_extra)) the sprite's opacity and colour, s_k a
small MLP of the offset (in eighths of the image) and of the latent's extra dimensions (appearance: colour, size),
its opacity's logit offset by a disc (``BLOB``) so that a sprite is drawn where its body is from the start; (c, M)
is the camera. Painted in intensity, a sprite is drawn as easily over black as over white, and the
background starts where the data is: a border or a grey background is not relearned from zero. ``compose="add"``
is the first version, kept for its saved runs: out(p) = β(p) + Σ_k s_k(p − c − M P_k(y), z_extra) in logits, β
from zero — measured, on a bordered 0.3-grey pendulum the background then moved about one learning rate per step
and 600 steps reconstructed worse than the mean frame, and started from the median (saturated logits over black)
its sprites learned 20× slower on the plain pendulum.

A frame whose bob sits where the true one does needs c + M P(y) on the true path, which pins the angle up to its
direction and a constant offset (the stated physics fixes the offset: θ = 0 is its rest). The idea is Jaques et
al.'s physics-as-inverse-graphics (ICLR 2020), here as a decoder for any stated physics that says where its bodies
are.

What it cannot draw: parts whose look turns with the state (a rod from the pivot), occlusion between bodies that
changes which one is in front (they are painted in a fixed order), anything that moves but is not in the stated
physics.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from simulators import ConfigError

from .frame_stats import median_frame
from .nets import pixel_grid
from .physics import KnownPhysics

BACKGROUND_CLIP = 1e-3  # the background starts within logits ±6.9 (0.02 left 4e-4 MSE on black)
INTENSITY_EPS = 1e-6  # painted intensities are clipped to [ε, 1 − ε] before their logit
BLOB = 4.0  # painted: a sprite's opacity logit is its MLP's + BLOB (1 − |offset|²): a disc of radius 1 (an
# eighth of the image) from the start, opaque at its centre, so where it is drawn matters from the first step
SPRITE_SPAN = 4.0  # offsets enter a sprite in units of an eighth of the image: ±1 of the image is ±4


class RenderDecoder(nn.Module):
    """z (N, D) -> per-pixel parameters (N, C, H, W): logits (Bernoulli) or pre-sigmoid means (Gaussian).

    Args:
        physics: the stated physics whose state the first E latent dimensions hold (``points`` must be set).
        size: frame side H = W, pixels.
        channels: C, 1 or 3.
        latent_dim: D, the decoder's input (the transition's latent plus any content latent); D − E extra
            dimensions change the sprites' look, never where they are.
        hidden: width of each sprite's MLP.
        scale_from_extras: the drawing's size is also exp(a · z_extra), a (X,) learned from 0: a length that
            differs from sequence to sequence (the DM colours pendulum's l) without moving the angle.
        compose: "over" (sprites painted over the background in intensity) or "add" (logits added).
        color_from_extras: painted over, each body's colour is σ(W_k z_extra + c_k), one colour for the whole
            sprite read linearly from the extras, instead of its network's per-pixel colour; the network then
            draws the opacity alone. (On small bodies whose colour varies by sequence the per-pixel colour settled
            at the palette's mean.)
    """

    def __init__(
        self,
        physics: KnownPhysics,
        size: int,
        channels: int,
        latent_dim: int,
        hidden: int = 32,
        scale_from_extras: bool = False,
        compose: str = "over",
        color_from_extras: bool = False,
    ):
        super().__init__()
        if physics.points is None:
            raise ConfigError(
                f"model.decoder='render' needs a physics that says where its bodies are drawn; "
                f"{physics.name!r} has no points (use model.decoder='conv')"
            )
        if compose not in ("over", "add"):
            raise ConfigError(f"render decoder: compose must be 'over' or 'add', got {compose!r}")
        if color_from_extras and compose != "over":
            raise ConfigError("render decoder: a colour from the extras is painted: it needs compose='over'")
        self.physics, self.size, self.channels, self.compose = physics, size, channels, compose
        self.embed_dim, self.extra_dim = physics.embed_dim, latent_dim - physics.embed_dim
        self.n_points = physics.n_points
        self.register_buffer("grid", pixel_grid(size), persistent=False)  # (HW, 2): x, y
        self.background = nn.Parameter(torch.zeros(channels, size, size))
        self.centre = nn.Parameter(torch.zeros(2))
        self.camera = nn.Parameter(torch.tensor([[0.5, 0.0], [0.0, -0.5]]))  # y up in the plane -> rows up
        self.shape = nn.Parameter(torch.tensor(physics.shape_init, dtype=torch.get_default_dtype()))
        self.scale = (
            nn.Linear(self.extra_dim, 1, bias=False) if scale_from_extras and self.extra_dim else None
        )
        if self.scale is not None:
            nn.init.zeros_(self.scale.weight)
        # colour (C) and, painted over, an opacity; the opacity alone where the colour comes from the extras
        outputs = 1 if color_from_extras else channels + (compose == "over")
        self.sprites = nn.ModuleList(
            _sprite(3 + self.extra_dim, hidden, outputs) for _ in range(self.n_points)
        )
        self.colors = (
            nn.ModuleList(nn.Linear(self.extra_dim, channels) for _ in range(self.n_points))
            if color_from_extras
            else None
        )

    def positions(self, z: torch.Tensor) -> torch.Tensor:
        """Where each body is drawn: z (N, D) -> (N, K, 2), image coordinates in [−1, 1] (x right, y down)."""
        y = self.physics.chart(z[:, : self.embed_dim])
        points = self.physics.points(y, self.shape)  # (N, K, 2)
        if self.scale is not None:
            points = points * self.scale(z[:, self.embed_dim :]).exp()[:, :, None]
        return self.centre + points @ self.camera.T

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        n = len(z)
        offsets = (self.grid[None, None] - self.positions(z)[:, :, None]) * SPRITE_SPAN  # (N, K, HW, 2)
        extra = z[:, None, self.embed_dim :].expand(n, self.grid.shape[0], self.extra_dim)  # (N, HW, X)
        squared = offsets.pow(2).sum(-1, keepdim=True)  # (N, K, HW, 1)
        looks = [
            sprite(torch.cat([o, d2, extra], -1)).transpose(1, 2)
            for o, d2, sprite in zip(offsets.unbind(1), squared.unbind(1), self.sprites)
        ]  # each (N, outputs, HW)
        background = self.background.view(1, self.channels, -1)
        if self.compose == "add":
            out = background + sum(looks)
        else:
            painted = torch.sigmoid(background)
            for k, (look, d2) in enumerate(zip(looks, squared.unbind(1))):
                alpha = torch.sigmoid(look[:, :1] + BLOB * (1 - d2.transpose(1, 2)))
                color = (
                    look[:, 1:] if self.colors is None else self.colors[k](z[:, self.embed_dim :])[..., None]
                )
                painted = painted + alpha * (torch.sigmoid(color) - painted)
            out = torch.logit(painted.clamp(INTENSITY_EPS, 1 - INTENSITY_EPS))
        return out.expand(n, -1, -1).reshape(n, self.channels, self.size, self.size)

    @torch.no_grad()
    def init_background(self, frames: np.ndarray) -> None:
        """Set the background's logits to the per-pixel median of uint8 frames (N, T, H, W, C), clipped to
        [``BACKGROUND_CLIP``, 1 − ``BACKGROUND_CLIP``]: what a pixel shows most of the time, bodies excluded as
        long as they cover it less than half the time."""
        median = median_frame(frames)
        if median.shape != tuple(self.background.shape):
            raise ConfigError(
                f"render decoder: frames of shape {median.shape} (C, H, W) do not fit its background "
                f"{tuple(self.background.shape)}"
            )
        p = torch.from_numpy(median).clamp(BACKGROUND_CLIP, 1 - BACKGROUND_CLIP)
        self.background.copy_(torch.logit(p).to(self.background))


def _sprite(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    """A sprite's look: (offset x, offset y, squared distance, extras) -> its logits at that pixel: C colours added
    (``add``) or an opacity and C colours (``over``)."""
    return nn.Sequential(
        nn.Linear(inputs, hidden),
        nn.SiLU(),
        nn.Linear(hidden, hidden),
        nn.SiLU(),
        nn.Linear(hidden, outputs),
    )
