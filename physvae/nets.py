"""Convolutional frame encoder and decoder for square frames of 16, 32 or 64 pixels."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from simulators import ConfigError

from .frame_stats import median_and_contrast

SIZES = (16, 32, 64)


def n_downsamplings(size: int) -> int:
    """Stride-2 stages from ``size`` down to 4×4."""
    if size not in SIZES:
        raise ConfigError(
            f"frame size {size}×{size} is not supported by the conv encoder; supported sizes: {SIZES}"
        )
    return int(math.log2(size // 4))


class FrameEncoder(nn.Module):
    """x_t (B, C, H, W) in [0, 1] -> features e_t (B, F).

    The convolutions see 2x − 1 ("raw"), or, ``centered``, 2 (x − m) / c − 1 with m (C, H, W) the training
    frames' per-pixel median and c their contrast (``frame_stats``; set by ``init_input``): what does not move
    (a border, a background of any grey or colour) reads −1 as a black background does, and the moving content
    departs from it by 2 whatever its contrast. On a white body over black, m = 0 and c = 1: the raw input.
    """

    def __init__(self, size: int, channels: int, base: int, features: int, centered: bool = False):
        super().__init__()
        layers, c_in = [], channels
        for i in range(n_downsamplings(size)):
            c_out = base * 2**i
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.GroupNorm(1, c_out), nn.SiLU()]
            c_in = c_out
        self.conv = nn.Sequential(*layers)
        self.out = nn.Linear(c_in * 16, features)
        self.centered = centered
        if centered:  # buffers: saved with the weights, so a run rebuilds the input it was trained on
            self.register_buffer("center", torch.zeros(channels, size, size))
            self.register_buffer("contrast", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.center) / self.contrast if self.centered else x
        return self.out(self.conv(x * 2.0 - 1.0).flatten(1))

    @torch.no_grad()
    def init_input(self, frames: np.ndarray) -> None:
        """Set the centre and contrast of a ``centered`` encoder from uint8 training frames (N, T, H, W, C)."""
        median, contrast = median_and_contrast(frames)
        if median.shape != tuple(self.center.shape):
            raise ConfigError(
                f"frame encoder: frames of shape {median.shape} (C, H, W) do not fit its input "
                f"{tuple(self.center.shape)}"
            )
        self.center.copy_(torch.from_numpy(median))
        self.contrast.fill_(contrast)


def pixel_grid(size: int) -> torch.Tensor:
    """The centres of a size × size frame's pixels in image coordinates: (HW, 2), x right and y down in [−1, 1],
    row-major (the order of a flattened frame)."""
    coords = (torch.arange(size, dtype=torch.get_default_dtype()) + 0.5) / size * 2 - 1
    rows, cols = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([cols, rows], -1).view(-1, 2)


def check_keypoints(features: int, keypoints: int, colors: int = 0) -> None:
    """A ConfigError unless ``features`` leaves the conv encoder room beside two features per keypoint (and
    ``colors`` more each, its colour's channels, where keypoints carry colours)."""
    per = 2 + colors
    if keypoints and features <= per * keypoints:
        also = f" and {colors} per keypoint colour" if colors else ""
        raise ConfigError(
            f"model.keypoints = {keypoints} needs model.features > {per * keypoints} (two per keypoint{also}, "
            f"the rest from the conv encoder), got {features}"
        )


class KeypointEncoder(nn.Module):
    """x_t (B, C, H, W) in [0, 1] -> features e_t (B, F): the conv encoder's F − 2K features beside K keypoints,
    the expected image coordinates (x, y in [−1, 1]) of a spatial softmax over K full-resolution heat maps (a
    spatial soft-argmax, as in deep spatial autoencoders), so that where things are enters the features linearly
    from the first step instead of being found by the dense layer. With ``colors`` each keypoint also gives the
    frame's expected colour under its softmax (C features): what a keypoint sits on, as linearly as where it is
    (a small object's colour is otherwise one feature of many a dense layer learned in order to find it)."""

    def __init__(
        self, size: int, channels: int, base: int, features: int, keypoints: int, colors: bool = False
    ):
        super().__init__()
        self.colors = colors
        check_keypoints(features, keypoints, channels if colors else 0)
        self.conv = FrameEncoder(size, channels, base, features - (2 + channels * colors) * keypoints)
        self.heat = nn.Sequential(
            nn.Conv2d(channels, base, 3, padding=1), nn.SiLU(), nn.Conv2d(base, keypoints, 3, padding=1)
        )
        self.register_buffer("grid", pixel_grid(size), persistent=False)  # (HW, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.heat(x * 2.0 - 1.0).flatten(2), -1)  # (B, K, HW)
        points = (weights @ self.grid).flatten(1)  # (B, 2K): each keypoint's expected (x, y)
        if not self.colors:
            return torch.cat([self.conv(x), points], -1)
        # (B, K, HW) @ (B, HW, C) -> (B, KC): each keypoint's expected colour
        colors = (weights @ x.flatten(2).transpose(1, 2)).flatten(1)
        return torch.cat([self.conv(x), points, colors], -1)


def frame_encoder(
    size: int,
    channels: int,
    base: int,
    features: int,
    keypoints: int = 0,
    keypoint_colors: bool = False,
    centered: bool = False,
) -> nn.Module:
    """The conv encoder (its input ``centered`` on the training frames' median, see ``FrameEncoder``), or with
    ``keypoints`` > 0 the keypoint encoder (its keypoints' colours too with ``keypoint_colors``)."""
    if keypoints:
        return KeypointEncoder(size, channels, base, features, keypoints, keypoint_colors)
    return FrameEncoder(size, channels, base, features, centered)


class FrameDecoder(nn.Module):
    """z_t (B, D) -> per-pixel parameters (B, C, H, W): logits (Bernoulli) or means (Gaussian)."""

    def __init__(self, size: int, channels: int, base: int, latent_dim: int):
        super().__init__()
        n = n_downsamplings(size)
        self.c0 = base * 2 ** (n - 1)
        self.inp = nn.Sequential(
            nn.Linear(latent_dim, 256), nn.SiLU(), nn.Linear(256, self.c0 * 16), nn.SiLU()
        )
        layers, c_in = [], self.c0
        for i in reversed(range(n)):
            c_out = base * 2 ** max(i - 1, 0)
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1),
                nn.GroupNorm(1, c_out),
                nn.SiLU(),
            ]
            c_in = c_out
        self.conv = nn.Sequential(*layers, nn.Conv2d(c_in, channels, 3, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.conv(self.inp(z).view(-1, self.c0, 4, 4))
