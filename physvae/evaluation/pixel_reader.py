"""What a frame shows, read with no model: a ridge regression from a frame's pixels to the probe's targets, fit on
the training split's true frames.

On a scene of one object over a static background the object's centroid is linear in the pixels, so a linear
reader reads positions from true frames (its R² on the true frames of the prediction horizon is reported as the
ceiling, ``truth``) and reads a blurred prediction at the blur's centre. It reads predicted frames independently of
the model: the model's own inference fuses its transition's prior into the posterior, so predicted frames re-read
by it follow the predicted latents (measured: the half-rate pendulum's LocallyLinear, seed 1, read its predicted
frames at cos θ R² −126.6 where its predicted latents read −126.2, at 0.29× the mean frame's MSE).

Frames are average-pooled to at most ``MAX_SIDE`` pixels a side and at most ``MAX_FRAMES`` training frames (evenly
spaced) fit the reader, which bounds its cost on large video.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import Ridge

MAX_SIDE = 32
MAX_FRAMES = 20000
ALPHA = 1.0  # ridge penalty on pixels in [0, 1]: a few hundred to a few thousand features
READABLE = 0.5  # mean position R² on true frames under which the reader is not trusted


def pixels(frames: torch.Tensor) -> np.ndarray:
    """Frames (..., C, H, W) in [0, 1] -> pooled pixels (..., P) as float32, P = C·⌈H/k⌉·⌈W/k⌉ with k the
    pooling factor that brings the larger side to at most ``MAX_SIDE``."""
    lead, (c, h, w) = frames.shape[:-3], frames.shape[-3:]
    k = math.ceil(max(h, w) / MAX_SIDE)
    x = frames.reshape(-1, c, h, w).float()
    if k > 1:
        x = F.avg_pool2d(x, k, stride=k, ceil_mode=True)
    return x.reshape(*lead, -1).cpu().numpy()


class PixelReader:
    """Ridge from pooled pixels to targets: ``fit(x, y)`` on pixels (M, P) and targets (M, K), ``read(frames)``
    -> targets (..., K) of frames (..., C, H, W)."""

    def __init__(self, alpha: float = ALPHA):
        self.model = Ridge(alpha=alpha)

    def fit(self, x: np.ndarray, y: np.ndarray) -> PixelReader:
        if len(x) > MAX_FRAMES:
            keep = np.linspace(0, len(x) - 1, MAX_FRAMES).astype(int)
            x, y = x[keep], y[keep]
        self.model.fit(x, y)
        return self

    def read(self, frames: torch.Tensor) -> np.ndarray:
        x = pixels(frames)
        return self.model.predict(x.reshape(-1, x.shape[-1])).reshape(*x.shape[:-1], -1)
