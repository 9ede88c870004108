"""Anomaly events: one sudden break of the normal dynamics injected into a share of the sequences, and its labels.

Kinds (the code is the index in ``EVENT_NAMES``, the same for every system):

- ``kick`` (1): the velocity jumps at the instant of frame k (the state saved at frame k holds the new velocity,
  the position is unchanged); the first frame that shows it is k + 1.
- ``teleport`` (2): the position jumps at frame k (the velocity is unchanged); frame k shows it.
- ``gravity`` (3), ``length`` (4) (pendulum): g is multiplied by f or 1/f, l by 1/f (a longer rod would
  leave the view, which stays that of the normal data), from frame k on (the energy column uses the new value
  from frame k). A length change moves the bob at once (frame k shows it), a gravity change only bends the
  motion after it (frames k + 1 on).
- ``pass_through`` (5) (balls): one ball stops colliding with the walls from frame k on; the event frame is the
  first frame at which it is half a radius or more into a wall (a normal ball never is), and its effect lasts
  while the ball still overlaps the box (after that the frames hold no trace of it). If it reaches no wall
  before the sequence ends, nothing happened and the sequence is labelled normal.

Labels (dataset arrays, see ``storage.py``): ``events`` (N, T) uint8 holds, at each frame, the code of the event
whose effect makes that frame break the normal dynamics given the frames before it, else 0: frame k + 1 for a
kick, frame k for a teleport, and every frame from the first affected one on for the changes that last
(gravity from k + 1 and length from k to the end, pass-through from k while the ball overlaps the box). ``event_kind`` (N,) uint8 is the sequence's code,
``event_frame`` (N,) int64 the frame k of the event (−1 without one) and ``event_size`` (N,) float64 its size:
the signed Δθ̇ (rad/s) or Δθ (rad) of a pendulum's kick or teleport, the factor of a parameter change, a ball's
|Δv| or the length of its jump before clipping, 0 without an event. meta.json lists ``event_names``.

Events never add state columns or change the view: an event dataset reads like the normal data of its config
(a model trained on normal data takes it as it is).

Draws come from a side stream of each trajectory's generator (``schedule.side_rng``): a sequence without an event
is byte-identical to the same sequence generated with events off, and one with an event is identical up to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError, integer, interval
from .schedule import side_rng

EVENT_NAMES = ("none", "kick", "teleport", "gravity", "length", "pass_through")
EVENT_TAG = 0xE7E7  # side stream of the event draws (apart from the parameter schedules')
LASTING = {"gravity": 1, "length": 0, "pass_through": 0}  # kinds whose effect lasts: first affected frame - k
ONE_FRAME = {"kick": 1, "teleport": 0}  # kinds that break one transition: affected frame - k


@dataclass
class EventConfig:
    """What every system's events share: how often, which kinds, and from which frame."""

    share: float = 0.0  # probability that a sequence holds one event (each sequence draws; 0: no events)
    kinds: list[str] = field(default_factory=list)  # kinds drawn with equal chance; empty: all the system has
    first_frame: int = 5  # earliest event frame k (the first frames carry none); the latest is T − 2


@dataclass
class PendulumEvents(EventConfig):
    """Pendulum events: kicks, teleports, and sudden changes of gravity or length."""

    kick: tuple[float, float] = (3.0, 5.0)  # |Δθ̇| of a kick, rad/s (random sign)
    teleport: tuple[float, float] = (1.0, 2.0)  # |Δθ| of a teleport, rad (random sign)
    factor: tuple[float, float] = (1.5, 2.5)  # g multiplied by f or 1/f (equal chance), l by 1/f; f ≥ 1


@dataclass
class BallEvents(EventConfig):
    """Ball events (one ball, drawn with equal chance): kicks, teleports and passing through a wall."""

    kick: tuple[float, float] = (10.0, 15.0)  # |Δv| of a kick, world units per time unit (uniform direction)
    teleport: tuple[float, float] = (8.0, 16.0)  # |Δx| of a teleport, world units (uniform direction, then
    # clipped so the ball stays inside the box)


@dataclass(frozen=True)
class Event:
    """One drawn event. ``kind`` "none" (frame −1) where the sequence holds none.

    Attributes:
        kind: a name of EVENT_NAMES.
        frame: the event frame k.
        size: kick or teleport size (a signed Δθ̇ or Δθ for the pendulum) or the factor of a parameter change.
        angle: direction of a ball's kick or teleport, rad; which ball: ``int(which · n_balls)``.
        which: in [0, 1), picks the ball.
        last: the last frame a lasting event affects (−1: the last of the sequence).
    """

    kind: str = "none"
    frame: int = -1
    size: float = 0.0
    angle: float = 0.0
    which: float = 0.0
    last: int = -1


def validate_events(config: EventConfig, supported: tuple[str, ...], where: str) -> None:
    """Raise ConfigError naming the field of ``where`` (e.g. "pendulum.events") that is out of range."""
    if isinstance(config.share, bool) or not 0.0 <= config.share <= 1.0:
        raise ConfigError(f"{where}.share must be a probability in [0, 1], got {config.share!r}")
    bad = [k for k in config.kinds if k not in supported]
    if bad:
        raise ConfigError(f"{where}.kinds: unknown event kind {bad[0]!r}; this system has {list(supported)}")
    integer(f"{where}.first_frame", config.first_frame, minimum=1)
    for name in ("kick", "teleport"):
        if hasattr(config, name):
            interval(f"{where}.{name}", getattr(config, name), lower=0)
    if hasattr(config, "factor"):
        interval(f"{where}.factor", config.factor, lower=1)


def enabled_kinds(config: EventConfig, supported: tuple[str, ...]) -> list[str]:
    """The kinds a dataset can hold: [] when events are off (share 0)."""
    if config.share <= 0:
        return []
    return list(config.kinds) or list(supported)


def draw_event(
    rng: np.random.Generator, config: EventConfig, supported: tuple[str, ...], n_frames: int, where: str
) -> Event:
    """Draw one trajectory's event from the side stream of its generator ``rng`` (``rng`` is left untouched)."""
    kinds = enabled_kinds(config, supported)
    if not kinds:
        return Event()
    last = n_frames - 2
    if config.first_frame > last:
        raise ConfigError(
            f"{where}.first_frame={config.first_frame} leaves no frame for an event in {n_frames} frames "
            f"(events fall on frames first_frame..n_frames − 2): lower it or raise n_frames"
        )
    u = side_rng(rng, EVENT_TAG).random(6)  # one call: whether, kind, frame, size, sign or angle, which ball
    if u[0] >= config.share:
        return Event()
    kind = kinds[int(u[1] * len(kinds))]
    frame = config.first_frame + int(u[2] * (last - config.first_frame + 1))
    lo, hi = getattr(config, "factor" if kind in ("gravity", "length") else kind, (0.0, 0.0))
    size = lo + (hi - lo) * u[3]
    if kind in ("gravity", "length"):
        size = size if u[4] < 0.5 and kind == "gravity" else 1.0 / size
    elif u[4] < 0.5:
        size = -size
    return Event(kind=kind, frame=frame, size=size, angle=2 * np.pi * u[4], which=u[5])


def label_row(kind: str, frame: int, n_frames: int, last: int = -1) -> np.ndarray:
    """The per-frame labels of one sequence (see the module docstring): (T,) uint8; ``last``: the last frame a
    lasting event affects (−1: to the end)."""
    row = np.zeros(n_frames, dtype=np.uint8)
    if kind == "none" or frame < 0:
        return row
    code = EVENT_NAMES.index(kind)
    if kind in ONE_FRAME:
        hit = frame + ONE_FRAME[kind]
        if hit < n_frames:
            row[hit] = code
    else:
        row[frame + LASTING[kind] : last + 1 if last >= 0 else n_frames] = code
    return row


@dataclass(frozen=True)
class EventLabels:
    """The labels of N sequences of T frames (see the module docstring).

    Attributes:
        per_frame: (N, T) uint8 event code at each frame that breaks the normal dynamics, else 0.
        frame: (N,) int64 event frame k (−1: none).
        size: (N,) float64 event size (0: none).
    """

    per_frame: np.ndarray
    frame: np.ndarray
    size: np.ndarray

    @classmethod
    def of(cls, events: list[Event], n_frames: int) -> EventLabels:
        """The labels of a batch of drawn (and realized) events."""
        return cls(
            np.stack([label_row(e.kind, e.frame, n_frames, e.last) for e in events]),
            np.array([e.frame for e in events], dtype=np.int64),
            np.array([e.size if e.frame >= 0 else 0.0 for e in events], dtype=np.float64),
        )

    @property
    def kind(self) -> np.ndarray:
        """Each sequence's event code: (N,) uint8 (0: none)."""
        return self.per_frame.max(axis=1).astype(np.uint8)

    def arrays(self) -> dict[str, np.ndarray]:
        """The dataset arrays (``storage.py``): events, event_kind, event_frame, event_size."""
        return {
            "events": self.per_frame,
            "event_kind": self.kind,
            "event_frame": self.frame,
            "event_size": self.size,
        }
