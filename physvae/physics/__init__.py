"""Stated physics for the ``physics`` transition: ``PHYSICS`` maps ``model.physics.system`` to a ``KnownPhysics``;
``register_physics`` adds a user's own (a torch right-hand side with named unknown parameters)."""

from .base import PHYSICS, KnownPhysics, register_physics
from .box import box
from .double_pendulum import double_pendulum
from .mass_spring import mass_spring
from .pendulum import pendulum

for _p in (pendulum(), pendulum(driven=True), mass_spring(), double_pendulum(), box()):
    register_physics(_p)

__all__ = ["KnownPhysics", "PHYSICS", "register_physics"]
