"""An independent read-out of rendered frames: where the object is, its colour and its size, with no model.

Frames hold one object (or one dominant object) over a known background. A pixel is modelled as the renderer
draws it, p = b + a (c − b), with b the background, c the object's colour and a ∈ [0, 1] the pixel's coverage
by the object. The distance n = |p − b| (Euclidean over channels) is then proportional to a, so:

- the centroid is the n-weighted mean of the pixel centres (the renderer's coverage-weighted centroid of a
  disc inside the image is its centre);
- the coverage is estimated as â = n / max n (1 at a fully covered pixel), the colour as the least-squares fit
  c = Σ â (p − (1 − â) b) / Σ â² (exact when some pixel is fully covered), and the area as Σ â in pixels
  (about π r² for a disc of radius r pixels).

Pixels whose distance from the background is at most ``threshold`` are left out of all three, so the faint
residue a decoder leaves on the background does not pull the read-out towards the image centre.

Layout: frames are (..., H, W, C) with ``channel_axis=-1`` (the simulators' order) or (..., C, H, W) with
``channel_axis=-3`` (the model's order); float in [0, 1] (uint8 frames are divided by 255); numpy arrays or
torch tensors. Pixel (i, j) covers [i, i + 1) × [j, j + 1), so its centre is (i + ½, j + ½), as in
``simulators.render``. A frame with no pixel above the threshold has NaN centroid and colour and area 0.
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 0.05  # distance |p − b| from the background at or below which a pixel is not the object


def object_mask(frames, background, *, channel_axis: int = -1, threshold: float = THRESHOLD) -> np.ndarray:
    """Pixels that differ from the background by more than ``threshold``: frames -> (..., H, W) bool."""
    return _distance(frames, background, channel_axis)[1] > threshold


def centroids(frames, background, *, channel_axis: int = -1, threshold: float = THRESHOLD) -> np.ndarray:
    """Object position: frames -> (..., 2) pixel (row, col), weighted by the distance from the background."""
    n = _distance(frames, background, channel_axis)[1]
    w = np.where(n > threshold, n, 0.0)  # (..., H, W)
    h, wid = n.shape[-2:]
    mass = w.sum((-2, -1))
    row = (w.sum(-1) * (np.arange(h) + 0.5)).sum(-1)
    col = (w.sum(-2) * (np.arange(wid) + 0.5)).sum(-1)
    return _safe_divide(np.stack([row, col], -1), mass[..., None])


def mean_color(frames, background, *, channel_axis: int = -1, threshold: float = THRESHOLD) -> np.ndarray:
    """Object colour: frames -> (..., C) in [0, 1], the least-squares fit of p = (1 − â) b + â c."""
    d, n, bg = _distance(frames, background, channel_axis)
    a = _coverage(n, threshold)[..., None]  # (..., H, W, 1)
    # p − (1 − â) b = â c at every pixel, whatever the background there
    return _safe_divide((a * (d + a * bg)).sum((-3, -2)), (a**2).sum((-3, -2)))


def area(frames, background, *, channel_axis: int = -1, threshold: float = THRESHOLD) -> np.ndarray:
    """Object area: frames -> (...) in pixels, the sum of the estimated coverage â."""
    return _coverage(_distance(frames, background, channel_axis)[1], threshold).sum((-2, -1))


def _coverage(n: np.ndarray, threshold: float) -> np.ndarray:
    """â = n / max n per frame on the object's pixels, 0 elsewhere: (..., H, W) -> (..., H, W)."""
    peak = n.max((-2, -1), keepdims=True)
    return np.where(n > threshold, _safe_divide(n, peak), 0.0)


def _distance(frames, background, channel_axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Difference d = p − b (..., H, W, C), its Euclidean norm over channels n (..., H, W) and the background b
    broadcastable to d, all float64."""
    x = _numpy(frames)
    if x.dtype == np.uint8:
        x = x / 255.0
    if channel_axis not in (-1, -3):
        raise ValueError(f"channel_axis must be -1 (..., H, W, C) or -3 (..., C, H, W), got {channel_axis}")
    if x.ndim < 3:
        raise ValueError(f"frames must be (..., H, W, C) or (..., C, H, W), got shape {x.shape}")
    x = np.asarray(x, dtype=np.float64)
    if channel_axis == -3:
        x = np.moveaxis(x, -3, -1)  # (..., C, H, W) -> (..., H, W, C)
    bg = _background_hwc(background, x.shape[-1], channel_axis)
    d = x - bg
    return d, np.sqrt((d**2).sum(-1)), bg


def _background_hwc(background, channels: int, channel_axis: int) -> np.ndarray:
    """The background as an array that broadcasts against (..., H, W, C): a scalar, a colour (C,), or an image
    in the frames' layout."""
    b = np.asarray(_numpy(background), dtype=np.float64)
    if b.ndim <= 1:
        b = np.broadcast_to(b, (channels,))
        return b.reshape(1, 1, channels)
    return np.moveaxis(b, -3, -1) if channel_axis == -3 else b


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0, NaN where den is 0 (an empty frame), without a warning."""
    out = np.full(np.broadcast_shapes(num.shape, den.shape), np.nan)
    return np.divide(num, den, out=out, where=den > 0)


def _numpy(x) -> np.ndarray:
    """A numpy view of an array or a (CPU or GPU, possibly requiring grad) torch tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)
