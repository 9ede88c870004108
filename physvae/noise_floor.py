"""Does a video show sensor noise clipped at black (or white)? Then a Gaussian likelihood draws a grey veil.

A camera adds noise and clips to [0, 1]: where the scene is black, about half the readings are 0 and the rest a
few grey levels above it, so the mean of a black pixel is E[max(0, ε)] = σ / √(2π), not 0 — what a Gaussian
likelihood's decoder learns, and a veil over the whole frame against the scene before the noise (at σ = 0.05 half of
VPT's threshold on a dark pendulum). ``model.likelihood=censored`` models the clipping and draws the scene.

The test: at pixels whose median reading is 0 (the background, where it is black), the share of readings 1 to
``NEAR_LEVELS`` grey levels above 0. Noise-free video shows them only at the anti-aliased edge of a passing object
(0.5–0.7 % on our pendulums); clipped noise of σ ≥ 0.01 shows them in about half the readings (0.46 at σ = 0.05).
The same at 255 for a white background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEAR_LEVELS = 25  # grey levels next to a clipped end that noise reaches (2σ at σ = 0.05 is 25.5)
CLIPPED_SHARE = 0.2  # a share of near-end readings above this at end-median pixels says the noise is clipped
MIN_PIXELS = 0.01  # ends covering fewer pixel positions than this share are not judged
MAX_FRAMES = 4000  # frames looked at (drawn with a fixed seed)


@dataclass(frozen=True)
class ClippedNoise:
    """Evidence of clipped sensor noise at one end of the intensity range.

    Attributes:
        end: "black" (clipped at 0) or "white" (at 255).
        share: of the readings at pixels whose median sits on that end, those 1..``NEAR_LEVELS`` grey levels off it.
        pixels: share of pixel positions whose median sits on that end.
    """

    end: str
    share: float
    pixels: float

    def advice(self, source: str, chosen: bool = False) -> str:
        """What ``source`` shows, and the likelihood for it: ``chosen`` (by ``model.likelihood=auto``) or advised
        (a Gaussian was asked for)."""
        seen = (
            f"{source} looks like sensor noise clipped at {self.end}: at the {self.pixels:.0%} of pixels whose median "
            f"is {self.end}, {self.share:.0%} of readings lie 1–{NEAR_LEVELS} grey levels off it (noise-free video: "
            "under 1 %)"
        )
        if chosen:
            return (
                f"{seen}; model.likelihood=auto takes the censored likelihood, which draws the scene before the "
                "noise (--model.likelihood=gaussian keeps the Gaussian)"
            )
        return (
            f"{seen}; a Gaussian likelihood then draws a grey veil (the clipped noise's mean) over the scene; "
            "--model.likelihood=censored (or auto) draws the scene before the noise"
        )


def clipped_noise(frames: np.ndarray, seed: int = 0) -> ClippedNoise | None:
    """The first end (black, then white) at which uint8 frames (N, T, H, W, C) show clipped noise, or None."""
    flat = np.asarray(frames).reshape(-1, *np.shape(frames)[2:])
    if len(flat) > MAX_FRAMES:
        flat = flat[np.sort(np.random.default_rng(seed).choice(len(flat), MAX_FRAMES, replace=False))]
    median = np.median(flat, axis=0)
    for end, level, near in (("black", 0, (1, NEAR_LEVELS)), ("white", 255, (255 - NEAR_LEVELS, 254))):
        at_end = median == level
        if at_end.mean() < MIN_PIXELS:
            continue
        readings = flat[:, at_end]
        share = float(((readings >= near[0]) & (readings <= near[1])).mean())
        if share > CLIPPED_SHARE:
            return ClippedNoise(end, share, float(at_end.mean()))
    return None
