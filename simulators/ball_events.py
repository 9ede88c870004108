"""Anomaly events applied to a pymunk ball during its run (kick, teleport, passing through a wall)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pymunk

from .events import Event

WALLS = 0b1  # collision category of the walls; a ball passing through masks it out
PASS_DEPTH = 0.5  # a ball counts as through a wall once this share of its radius is past the wall's face


def event_hook(
    event: Event, bodies: list[pymunk.Body], radii: np.ndarray, box: float
) -> Callable[[int], None]:
    """A function called before frame t is read that applies ``event`` to one ball at its frame."""
    i = int(event.which * len(bodies))
    body, r = bodies[i], float(radii[i])
    step = np.array([math.cos(event.angle), math.sin(event.angle)]) * abs(event.size)

    def apply(t: int) -> None:
        if t != event.frame:
            return
        if event.kind == "kick":
            body.velocity = tuple(np.array(body.velocity) + step)
        elif event.kind == "teleport":
            body.position = tuple(np.clip(np.array(body.position) + step, r, box - r))
            body.space.reindex_shapes_for_body(body)
        elif event.kind == "pass_through":
            for shape in body.shapes:
                shape.filter = pymunk.ShapeFilter(mask=pymunk.ShapeFilter.ALL_MASKS() ^ WALLS)

    return apply


def realize(event: Event, kin: np.ndarray, radii: np.ndarray, box: float) -> Event:
    """The event as it happened: a pass-through's frame is the first one at which the ball is ``PASS_DEPTH`` of
    its radius into a wall (no event if it reaches none before the end), its last the last frame from there on at
    which the ball still overlaps the box; other kinds as drawn. ``kin``: (T, balls, 4) x, y, vx, vy."""
    if event.kind != "pass_through":
        return replace(event, size=abs(event.size))
    i = int(event.which * kin.shape[1])
    lo, hi = (1 - PASS_DEPTH) * radii[i], box - (1 - PASS_DEPTH) * radii[i]
    xy = kin[event.frame :, i, :2]
    through = np.flatnonzero(((xy < lo) | (xy > hi)).any(axis=1))
    if not len(through):
        return Event()
    start = event.frame + int(through[0])
    r = radii[i]
    inside = ((kin[start:, i, :2] > -r) & (kin[start:, i, :2] < box + r)).all(
        axis=1
    )  # the disc overlaps the box
    gone = np.flatnonzero(~inside)
    return replace(event, frame=start, last=start + int(gone[0]) - 1 if len(gone) else -1)
