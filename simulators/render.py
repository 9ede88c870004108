"""Vectorized numpy renderer: anti-aliased discs (and rods) in world coordinates to uint8 frames.

A pixel's coverage by a disc is clip(r + ½ − d, 0, 1) with d the distance from the pixel centre to the disc
centre, all in pixels: exact at the edge to first order, and the intensity-weighted centroid of a disc inside
the image is its centre. A bar (``shape="bar"``) is covered the same way along each axis. Discs are composited
in order over the rods, which lie over the lines (a scene's walls, the image border) and the background.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .errors import ConfigError, integer, non_negative
from .system import Scene

DM_GREY = (0.321, 0.349, 0.368)  # DeepMind Hamiltonian suite background
PALETTE = (  # distinguishable object colours (RGB in [0, 1])
    (1.0, 1.0, 1.0),
    (0.90, 0.30, 0.25),
    (0.25, 0.65, 0.95),
    (0.95, 0.80, 0.20),
    (0.40, 0.85, 0.40),
    (0.80, 0.40, 0.90),
)
DM_HUES = (  # the DM suite's object colours: hues 0, 1/6, ..., 5/6 at full saturation and value (red first)
    (1.0, 0.0, 0.0),
    (1.0, 1.0, 0.0),
    (0.0, 1.0, 0.0),
    (0.0, 1.0, 1.0),
    (0.0, 0.0, 1.0),
    (1.0, 0.0, 1.0),
)
SHAPES = ("disc", "bar")
BAR_THICKNESS = 1 / 3  # a bar's half-thickness over its half-length (the object's radius)
_BLOCK_PIXELS = 1 << 22  # pixels rendered at once: bounds memory whatever the dataset size


@dataclass
class RenderConfig:
    """How frames are drawn."""

    size: int = 32  # image height = width, pixels (>= 8)
    channels: int = 1  # 1 (grayscale: luminance of the colours) or 3 (RGB)
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)  # RGB in [0, 1]
    colors: list[tuple[float, float, float]] = field(
        default_factory=lambda: [PALETTE[0]]
    )  # per object, cycled
    random_colors: bool = False  # draw each object's colour per sequence from ``colors``
    rod_color: tuple[float, float, float] = (0.6, 0.6, 0.6)  # RGB of rods
    binarize: bool = False  # threshold at 0.5 to {0, 255} (for Bernoulli likelihoods)
    flip_y: bool = False  # array row grows with world y (the DM suite's and KVAE's order); default: y up
    shape: str = "disc"  # "disc", or "bar": horizontal, 2r long and 2r/3 thick, centred like the disc
    border: int = 0  # width in pixels of a frame along the image edges, in line_color (0: none)
    line_color: tuple[float, float, float] = (1.0, 1.0, 1.0)  # RGB of the border and of a scene's walls
    noise: float = 0.0  # std of Gaussian sensor noise added to every pixel (intensity in [0, 1]), per frame

    def validate(self) -> None:
        integer("render.size", self.size, minimum=8)
        if self.channels not in (1, 3):
            raise ConfigError(f"render.channels must be 1 or 3, got {self.channels!r}")
        if self.shape not in SHAPES:
            raise ConfigError(f"render.shape must be one of {SHAPES}, got {self.shape!r}")
        integer("render.border", self.border, minimum=0)
        if 2 * self.border >= self.size:
            raise ConfigError(
                f"render.border {self.border} leaves no image inside it at render.size {self.size}: "
                "need 2 × border < size"
            )
        non_negative("render.noise", self.noise)
        if self.noise > 0 and self.binarize:
            raise ConfigError("render.noise needs render.binarize = false: noisy frames are not binary")
        named = [("render.background", self.background), ("render.rod_color", self.rod_color)]
        named.append(("render.line_color", self.line_color))
        for name, rgb in named + [(f"render.colors[{i}]", c) for i, c in enumerate(self.colors)]:
            if len(rgb) != 3 or not all(0.0 <= float(v) <= 1.0 for v in rgb):
                raise ConfigError(f"{name} must be three numbers in [0, 1], got {rgb!r}")
        if not self.colors:
            raise ConfigError("render.colors must hold at least one colour")


def visibility_problems(scene: Scene, size: int) -> list[str]:
    """What would make the drawn objects of ``scene`` hard or impossible to see in size × size frames: objects
    wider than the view, under a pixel, or mostly outside the view. Empty when the frames show the motion."""
    xmin, xmax, ymin, ymax = scene.extent
    width, scale = xmax - xmin, _scale(scene, size)
    radii = np.asarray(scene.radii, dtype=np.float64)  # (N, K)
    problems = []
    if (4 * radii > width).any():
        problems.append(
            f"objects of radius up to {radii.max():g} span more than half the view ({width:g} wide): "
            "the frames show little but the object"
        )
    if (radii * scale < 0.5).any():
        problems.append(
            f"objects of radius {radii.min():g} are under one pixel wide at render.size {size}: they may not show"
        )
    centres, r = scene.discs, radii[:, None, :]  # (N, T, K, 2), (N, 1, K)
    outside = (
        (centres[..., 0] + r < xmin)
        | (centres[..., 0] - r > xmax)
        | (centres[..., 1] + r < ymin)
        | (centres[..., 1] - r > ymax)
    )
    if outside.mean() > 0.05:
        problems.append(f"{outside.mean():.0%} of the drawn object positions lie entirely outside the view")
    return problems


def object_colors(cfg: RenderConfig, rngs, n_objects: int) -> np.ndarray:
    """(N, K, C) colour of each object in each sequence, in the output channels."""
    palette = np.asarray(cfg.colors, dtype=np.float32)
    if cfg.random_colors:
        idx = np.stack([rng.integers(0, len(palette), size=n_objects) for rng in rngs])
    else:
        idx = np.tile(np.arange(n_objects) % len(palette), (len(rngs), 1))
    return _to_channels(palette[idx], cfg.channels)


def _to_channels(rgb: np.ndarray, channels: int) -> np.ndarray:
    if channels == 3:
        return rgb.astype(np.float32)
    lum = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return lum[..., None].astype(np.float32)


def render(scene: Scene, colors: np.ndarray, cfg: RenderConfig) -> np.ndarray:
    """Draw every frame of a scene.

    Compositing happens in 8-bit, one object at a time, so where objects overlap a pixel may differ by one grey
    level from ``render_dense``.

    Args:
        scene: discs (N, T, K, 2) and optional rods in world coordinates.
        colors: (N, K, C) object colours from ``object_colors``.
        cfg: image size, channels, background.

    Returns:
        (N, T, H, W, C) uint8 frames.
    """
    scene = _oriented(scene, cfg)
    n, t = scene.discs.shape[:2]
    size, ch = cfg.size, cfg.channels
    out = np.empty((n, t, size, size, ch), dtype=np.uint8)
    per_block = max(1, _BLOCK_PIXELS // (t * size * size))
    for s in range(0, n, per_block):
        block = slice(s, min(n, s + per_block))
        img = _draw(scene, block, colors[block], cfg)
        if cfg.binarize:
            hi = img >= 128
            img[...] = 0
            img[hi] = 255
        out[block] = img
    return out


def add_noise(frames: np.ndarray, rngs, sigma: float) -> np.ndarray:
    """Sensor noise: frames (N, T, H, W, C) uint8 plus N(0, sigma²) per pixel (intensity in [0, 1]), rounded and
    clipped to 8 bits, in place; sequence i draws from rngs[i] only. Returns ``frames``."""
    if sigma <= 0:
        return frames
    for frame, rng in zip(frames, rngs):
        noisy = frame + rng.normal(0.0, sigma * 255.0, size=frame.shape)
        frame[...] = np.clip(np.rint(noisy), 0, 255)
    return frames


def _oriented(scene: Scene, cfg: RenderConfig) -> Scene:
    """The scene mirrored about the middle of its y extent when ``cfg.flip_y``: array row then grows with y."""
    if not cfg.flip_y:
        return scene
    xmin, xmax, ymin, ymax = scene.extent

    def mirror(a):
        return None if a is None else np.concatenate([a[..., :1], ymin + ymax - a[..., 1:2]], axis=-1)

    walls = scene.walls
    if walls is not None:
        walls = (walls[0], walls[1], ymin + ymax - walls[3], ymin + ymax - walls[2])
    return replace(scene, discs=mirror(scene.discs), rods=mirror(scene.rods), walls=walls)


def _scale(scene: Scene, size: int) -> float:
    """Pixels per world unit of a size × size image of the scene's extent."""
    return size / (scene.extent[1] - scene.extent[0])


def _pixel_grid(scene: Scene, size: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Pixel-centre coordinates in world units: xs (W,), ys (H,) (row 0 at the top), and pixels per unit."""
    xmin, _, _, ymax = scene.extent
    scale = _scale(scene, size)
    centres = (np.arange(size, dtype=np.float32) + 0.5) / scale
    return xmin + centres, ymax - centres, scale


def _to_u8(img: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)


def _background(scene: Scene, cfg: RenderConfig, shape: tuple[int, ...]) -> np.ndarray:
    """float32 (*shape, H, W, C): the background with the lines (the image border, the scene's walls) on it."""
    bg = _to_channels(np.asarray(cfg.background, dtype=np.float32), cfg.channels)
    base = np.broadcast_to(bg, (cfg.size, cfg.size, cfg.channels)).copy()
    base[_lines(scene, cfg)] = _to_channels(np.asarray(cfg.line_color, dtype=np.float32), cfg.channels)
    return np.broadcast_to(base, (*shape, *base.shape)).copy()


def _lines(scene: Scene, cfg: RenderConfig) -> np.ndarray:
    """(H, W) bool: the pixels of the border and of the walls (1-px lines through the pixel each wall lies in)."""
    size, b = cfg.size, cfg.border
    mask = np.zeros((size, size), dtype=bool)
    if b:
        mask[:b], mask[-b:], mask[:, :b], mask[:, -b:] = True, True, True, True
    if scene.walls is not None:
        xmin, _, _, ymax = scene.extent
        scale = _scale(scene, size)
        x0, x1, y0, y1 = scene.walls
        cols = np.clip(np.floor((np.array([x0, x1]) - xmin) * scale), 0, size - 1).astype(int)
        rows = np.clip(np.floor((ymax - np.array([y1, y0])) * scale), 0, size - 1).astype(int)
        mask[rows[0] : rows[1] + 1, cols] = True
        mask[rows, cols[0] : cols[1] + 1] = True
    return mask


def _coverage(dx: np.ndarray, dy: np.ndarray, r: np.ndarray, shape: str) -> np.ndarray:
    """(M, P, P) coverage of pixels at offsets dy (M, P) (rows) and dx (M, P) (columns) from the centres of
    objects of radii r (M,), all in pixels: a disc, or a bar of half-length r and half-thickness r / 3."""
    r = r.astype(np.float32)[:, None]
    if shape == "bar":
        across = np.clip(r + np.float32(0.5) - np.abs(dx), 0.0, 1.0)
        along = np.clip(r * np.float32(BAR_THICKNESS) + np.float32(0.5) - np.abs(dy), 0.0, 1.0)
        return along[:, :, None] * across[:, None, :]
    a = np.square(dy)[:, :, None] + np.square(dx)[:, None, :]  # squared distance, then coverage in place
    np.sqrt(a, out=a)
    np.subtract((r + np.float32(0.5))[:, :, None], a, out=a)
    return np.clip(a, 0.0, 1.0, out=a)


def _draw(scene: Scene, block: slice, colors: np.ndarray, cfg: RenderConfig) -> np.ndarray:
    """uint8 frames (n, T, H, W, C) of one block; each disc is drawn on a P × P patch around it.

    A patch that would cross the image border is shifted inside it (P ≤ image size), so it still holds every
    image pixel the disc touches; the patches are read and written through a strided window view of the frames.
    """
    discs = scene.discs[block].astype(np.float32)  # (n, T, K, 2)
    n, t, k_count = discs.shape[:3]
    size, ch = cfg.size, cfg.channels
    scale = _scale(scene, size)
    radii = scene.radii[block].astype(np.float32) * np.float32(scale)  # (n, K) pixels
    patch = min(size, int(np.ceil(2 * float(radii.max(initial=0.0)) + 3)))  # every pixel with d < r + ½
    if scene.rods is not None:
        frames = _draw_rods(scene, block, cfg).reshape(n * t, size, size, ch)
    else:
        frames = np.empty((n * t, size, size, ch), dtype=np.uint8)
        frames[:] = _to_u8(_background(scene, cfg, ()))
    windows = _patch_view(frames, patch)  # (M, S, S, P, P, C), S = size − P + 1
    frame_idx = np.arange(n * t)
    offsets = np.arange(patch, dtype=np.float32) + np.float32(0.5)
    origin = np.array([scene.extent[0], scene.extent[3]], dtype=np.float32)  # world (x, y) of pixel (0, 0)
    for k in range(k_count):
        cu = ((discs[:, :, k, 0] - origin[0]) * scale).reshape(-1)  # (M,) column coordinate, pixels
        cv = ((origin[1] - discs[:, :, k, 1]) * scale).reshape(-1)  # (M,) row coordinate, pixels
        r = np.repeat(radii[:, k], t)  # (M,)
        # patch corner (row i0, column j0), shifted inside the image
        j0 = np.clip(np.floor(cu - r - 0.5), 0, size - patch).astype(np.intp)
        i0 = np.clip(np.floor(cv - r - 0.5), 0, size - patch).astype(np.intp)
        dx = (j0.astype(np.float32) - cu)[:, None] + offsets  # (M, P) pixel-centre offsets
        dy = (i0.astype(np.float32) - cv)[:, None] + offsets
        a = _coverage(dx, dy, r, cfg.shape)  # (M, P, P)
        col = np.repeat(colors[:, k], t, axis=0)[:, None, None, :] * np.float32(255.0)  # (M, 1, 1, C)
        vals = windows[frame_idx, i0, j0].astype(np.float32)  # (M, P, P, C)
        step = col - vals
        step *= a[..., None]
        vals += step  # a convex combination: stays in [0, 255]
        vals += 0.5
        windows[frame_idx, i0, j0] = vals.astype(np.uint8)
    return frames.reshape(n, t, size, size, ch)


def _patch_view(frames: np.ndarray, patch: int) -> np.ndarray:
    """Writeable view (M, S, S, P, P, C) of frames (M, H, W, C): [m, i, j] is the P × P patch with corner (i, j)."""
    m, h, w, c = frames.shape
    sm, sh, sw, sc = frames.strides
    return np.lib.stride_tricks.as_strided(
        frames,
        shape=(m, h - patch + 1, w - patch + 1, patch, patch, c),
        strides=(sm, sh, sw, sh, sw, sc),
        writeable=True,
    )


def _draw_rods(scene: Scene, block: slice, cfg: RenderConfig) -> np.ndarray:
    """uint8 (n, T, H, W, C): the rods of one block over the background."""
    xs, ys, scale = _pixel_grid(scene, cfg.size)
    rods = scene.rods[block].astype(np.float32)  # (n, T, R, 2, 2)
    img = _background(scene, cfg, rods.shape[:2])
    rod = _to_channels(np.asarray(cfg.rod_color, dtype=np.float32), cfg.channels)
    for r in range(rods.shape[2]):
        a = _rod_coverage(rods[:, :, r], xs, ys, scale, scene.rod_width)
        img += a[..., None] * (rod - img)
    return _to_u8(img)


def render_dense(scene: Scene, colors: np.ndarray, cfg: RenderConfig) -> np.ndarray:
    """Reference renderer: every disc evaluated on every pixel, one frame at a time (slow; tests, benchmarks).

    Same arguments and result as ``render``.
    """
    scene = _oriented(scene, cfg)
    xs, ys, scale = _pixel_grid(scene, cfg.size)
    n, t, k_count = scene.discs.shape[:3]
    out = np.empty((n, t, cfg.size, cfg.size, cfg.channels), dtype=np.uint8)
    for s in range(n):
        for f in range(t):
            img = _background(scene, cfg, ())
            if scene.rods is not None:
                rod = _to_channels(np.asarray(cfg.rod_color, dtype=np.float32), cfg.channels)
                for r in range(scene.rods.shape[2]):
                    ends = scene.rods[s : s + 1, f : f + 1, r].astype(np.float32)
                    a = _rod_coverage(ends, xs, ys, scale, scene.rod_width)[0, 0]
                    img += a[..., None] * (rod - img)
            for k in range(k_count):
                cx, cy = scene.discs[s, f, k]
                dx, dy = ((xs - cx) * scale)[None], ((cy - ys) * scale)[None]  # (1, W), (1, H) pixels
                a = _coverage(dx, dy, np.array([scene.radii[s, k] * scale]), cfg.shape)[0]
                img += a[..., None] * (colors[s, k] - img)
            if cfg.binarize:
                img = (img >= 0.5).astype(np.float32)
            out[s, f] = np.rint(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
    return out


def _rod_coverage(ends: np.ndarray, xs, ys, scale: float, width: float) -> np.ndarray:
    """Coverage (n, T, H, W) of segments ends (n, T, 2, 2) of the given world width."""
    p, q = ends[:, :, 0], ends[:, :, 1]  # (n, T, 2)
    d = q - p
    len2 = np.maximum((d**2).sum(-1), 1e-12)[..., None, None]
    px = xs[None, None, None, :] - p[..., 0, None, None]  # (n, T, 1, W)
    py = ys[None, None, :, None] - p[..., 1, None, None]  # (n, T, H, 1)
    s = np.clip((px * d[..., 0, None, None] + py * d[..., 1, None, None]) / len2, 0.0, 1.0)
    ex = px - s * d[..., 0, None, None]
    ey = py - s * d[..., 1, None, None]
    dist = np.sqrt(ex**2 + ey**2) * scale
    return np.clip(width * scale / 2 + 0.5 - dist, 0.0, 1.0)
