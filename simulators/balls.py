"""Balls bouncing in a square box (pymunk 7): elastic walls and ball–ball collisions, optional uniform gravity.

World units are chosen so that the reference 32×32 image of a 32-unit box has one pixel per unit (KVAE's setup).
Friction is zero and balls do not spin, so all the energy is translational.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pymunk
import pymunk.batch

from .ball_events import WALLS, event_hook, realize
from .errors import ConfigError, integer, interval, non_negative, positive
from .events import BallEvents, EventLabels, draw_event, enabled_kinds, validate_events
from .system import Scene, System, Trajectories

INIT_MODES = ("centre", "uniform", "normal")
EVENT_KINDS = ("kick", "teleport", "pass_through")


@dataclass
class BallsConfig:
    """Bouncing-ball parameters. Ranges are (low, high) pairs drawn uniformly per ball and sequence."""

    n_balls: int = 1  # number of balls
    box: float = 32.0  # side of the square box, world units
    radius: tuple[float, float] = (3.0, 3.0)  # ball radius, world units
    mass: tuple[float, float] = (1.0, 1.0)  # ball mass
    speed: tuple[float, float] = (10.0, 15.0)  # initial speed, world units per time unit; direction uniform
    gravity: tuple[float, float] = (0.0, 0.0)  # (gx, gy) acceleration, world units per time unit²
    init: str = "centre"  # "centre": positions near the centre (KVAE); "uniform": anywhere in the box;
    # "normal": each coordinate N(centre, init_std²), clipped so the ball lies inside the box (KVAE's generator)
    centre_spread: float = 0.2  # "centre": positions uniform within centre ± spread × box
    init_std: float = 10.0  # "normal": standard deviation of each coordinate, world units
    substeps: int = 4  # physics steps per frame interval
    margin: float = 0.0  # view beyond each wall, world units (KVAE's 32-px image shows 2 px outside its box)
    draw_walls: bool = False  # draw the walls as 1-px lines (KVAE's frames show them)
    events: BallEvents = field(default_factory=BallEvents)  # anomaly events (see simulators/events.py)


class BouncingBalls(System):
    """One or more balls in a closed box with its corner at the origin, y up."""

    name = "balls"
    config_class = BallsConfig

    def validate(self) -> None:
        c = self.config
        integer("balls.n_balls", c.n_balls, minimum=1)
        positive("balls.box", c.box)
        lo, hi = interval("balls.radius", c.radius, lower=0, strict=True)
        interval("balls.mass", c.mass, lower=0, strict=True)
        interval("balls.speed", c.speed, lower=0)
        if not isinstance(c.gravity, (tuple, list)) or len(c.gravity) != 2:
            raise ConfigError(f"balls.gravity must be a (gx, gy) pair, got {c.gravity!r}")
        if c.init not in INIT_MODES:
            raise ConfigError(f"balls.init must be one of {INIT_MODES}, got {c.init!r}")
        positive("balls.centre_spread", c.centre_spread)
        positive("balls.init_std", c.init_std)
        non_negative("balls.margin", c.margin)
        integer("balls.substeps", c.substeps, minimum=1)
        validate_events(c.events, EVENT_KINDS, "balls.events")
        if 2 * hi >= c.box:
            raise ConfigError(
                f"balls.radius {c.radius} cannot fit in balls.box {c.box}: need 2 × radius < box"
            )
        if c.n_balls * math.pi * hi**2 > 0.35 * c.box**2:
            raise ConfigError(
                f"{c.n_balls} balls of radius up to {hi} cannot fit in balls.box {c.box}: "
                "their area must stay under 35 % of the box"
            )

    @property
    def state_names(self) -> list[str]:
        cols = [f"{v}{i}" for i in range(self.config.n_balls) for v in ("x", "y", "vx", "vy")]
        return cols + ["energy"]

    @property
    def state_units(self) -> list[str]:
        return ["L", "L", "L/T", "L/T"] * self.config.n_balls + ["M L²/T²"]

    @property
    def state_kinds(self) -> list[str]:
        return ["coordinate", "coordinate", "velocity", "velocity"] * self.config.n_balls + ["energy"]

    @property
    def param_units(self) -> list[str]:
        return ["L"] * self.config.n_balls + ["M"] * self.config.n_balls

    @property
    def param_names(self) -> list[str]:
        return [f"radius{i}" for i in range(self.config.n_balls)] + [
            f"mass{i}" for i in range(self.config.n_balls)
        ]

    n_objects = property(lambda self: self.config.n_balls)

    @property
    def event_kinds(self) -> list[str]:
        return enabled_kinds(self.config.events, EVENT_KINDS)

    def simulate(self, rngs: Sequence[np.random.Generator], n_frames: int, dt: float) -> Trajectories:
        runs = [self._one(rng, n_frames, dt) for rng in rngs]
        labels = EventLabels.of([r[2] for r in runs], n_frames) if self.event_kinds else None
        return Trajectories(np.stack([r[0] for r in runs]), np.stack([r[1] for r in runs]), events=labels)

    def _place(self, rng: np.random.Generator, radii: np.ndarray) -> np.ndarray:
        c, pos = self.config, []
        for r in radii:
            for _ in range(1000):
                if c.init == "centre":
                    half = min(c.centre_spread * c.box, c.box / 2 - r)
                    p = c.box / 2 + rng.uniform(-half, half, size=2)
                elif c.init == "normal":
                    p = np.clip(rng.normal(c.box / 2, c.init_std, size=2), r, c.box - r)
                else:
                    p = rng.uniform(r, c.box - r, size=2)
                if all(np.hypot(*(p - q)) > r + rq + 1e-6 for q, rq in zip(pos, radii)):
                    pos.append(p)
                    break
            else:
                raise ConfigError(
                    f"could not place {c.n_balls} balls without overlap in 1000 tries: "
                    "raise balls.centre_spread or balls.box, or lower balls.radius"
                )
        return np.array(pos)

    def _one(self, rng: np.random.Generator, n_frames: int, dt: float):
        """One trajectory: states (T, D), params (P,) and its event as it happened."""
        c = self.config
        event = draw_event(rng, c.events, self.event_kinds, n_frames, "balls.events")  # a side stream
        radii = rng.uniform(*c.radius, size=c.n_balls)
        masses = rng.uniform(*c.mass, size=c.n_balls)
        pos = self._place(rng, radii)
        speed = rng.uniform(*c.speed, size=c.n_balls)
        angle = rng.uniform(0.0, 2 * math.pi, size=c.n_balls)
        vel = np.stack([speed * np.cos(angle), speed * np.sin(angle)], axis=-1)
        space, bodies = self._bodies(radii, masses, pos, vel)
        hook = event_hook(event, bodies, radii, c.box) if event.frame >= 0 else None
        kin = _record(
            space, self._buffer, bodies, n_frames, dt / c.substeps, c.substeps, hook
        )  # (T, balls, 4)
        space.remove(*bodies, *(shape for b in bodies for shape in b.shapes))
        gx, gy = c.gravity
        energy = 0.5 * masses * (kin[..., 2] ** 2 + kin[..., 3] ** 2) - masses * (
            gx * kin[..., 0] + gy * kin[..., 1]
        )
        states = np.concatenate([kin.reshape(n_frames, -1), energy.sum(axis=1, keepdims=True)], axis=1)
        return states, np.concatenate([radii, masses]), realize(event, kin, radii, c.box)

    def _walls(self) -> pymunk.Space:
        """The box: built once per system object and reused, each trajectory adding and removing its balls."""
        if getattr(self, "_space", None) is None:
            c = self.config
            space = pymunk.Space()
            space.gravity = tuple(c.gravity)
            space.collision_slop = 1e-3 * c.box
            wall = c.box  # thick walls whose inner faces are the box sides: no tunnelling
            corners = [
                (-wall, -wall),
                (c.box + wall, -wall),
                (c.box + wall, c.box + wall),
                (-wall, c.box + wall),
            ]
            for a, b in zip(corners, corners[1:] + corners[:1]):
                seg = pymunk.Segment(space.static_body, a, b, wall)
                seg.elasticity, seg.friction = 1.0, 0.0
                seg.filter = pymunk.ShapeFilter(categories=WALLS)  # a ball passing through masks them out
                space.add(seg)
            self._space = space
            self._buffer = pymunk.batch.Buffer()  # one per system: pymunk does not free Buffers
        return self._space

    def _bodies(self, radii, masses, pos, vel) -> tuple[pymunk.Space, list[pymunk.Body]]:
        """Add one trajectory's balls to the box; the caller removes them when done."""
        space, bodies = self._walls(), []
        for r, m, p, v in zip(radii, masses, pos, vel):
            body = pymunk.Body(float(m), math.inf)  # infinite moment: balls never spin
            body.position, body.velocity = tuple(p), tuple(v)
            shape = pymunk.Circle(body, float(r))
            shape.elasticity, shape.friction = 1.0, 0.0
            space.add(body, shape)
            bodies.append(body)
        return space, bodies

    def substeps(self, dt: float) -> int:
        return self.config.substeps

    def scene(self, traj: Trajectories) -> Scene:
        n = self.config.n_balls
        cols = traj.states[..., : 4 * n].reshape(*traj.states.shape[:2], n, 4)
        lo, hi = -self.config.margin, self.config.box + self.config.margin
        walls = (0.0, self.config.box, 0.0, self.config.box) if self.config.draw_walls else None
        return Scene(discs=cols[..., :2], radii=traj.params[:, :n], extent=(lo, hi, lo, hi), walls=walls)

    def ood_config(self) -> BallsConfig:
        """Faster balls than training: speeds from the top of the range to half a width (at least 25 %) above it."""
        lo, hi = self.config.speed
        return replace(self.config, speed=(hi, hi + max(hi - lo, 0.5 * hi) / 2))


_KINEMATICS = (
    pymunk.batch.BodyFields.BODY_ID | pymunk.batch.BodyFields.POSITION | pymunk.batch.BodyFields.VELOCITY
)


def _record(
    space: pymunk.Space,
    buf: pymunk.batch.Buffer,
    bodies: list[pymunk.Body],
    n_frames: int,
    h: float,
    substeps: int,
    before_frame=None,
) -> np.ndarray:
    """Step the space and read x, y, vx, vy of ``bodies`` at every frame: (T, len(bodies), 4).

    All frames are read into the batch buffer ``buf`` (one C call per frame; cleared first, and reused because
    pymunk never frees a Buffer's memory) and reordered by body id at the end. ``before_frame(t)``, if given, is
    called before frame t is read (an event changing a ball at that instant).
    """
    buf.clear()
    for t in range(n_frames):
        if before_frame is not None:
            before_frame(t)
        pymunk.batch.get_space_bodies(space, _KINEMATICS, buf)
        if t < n_frames - 1:
            for _ in range(substeps):
                space.step(h)
    ids = np.frombuffer(buf.int_buf(), dtype=np.uintp).reshape(n_frames, -1)  # (T, bodies in the space)
    values = np.frombuffer(buf.float_buf(), dtype=np.float64).reshape(n_frames, ids.shape[1], 4)
    order = [int(np.flatnonzero(ids[0] == b.id)[0]) for b in bodies]
    if not (ids == ids[0]).all():
        raise RuntimeError("pymunk reordered the bodies of a space during a trajectory")
    return values[:, order].copy()
