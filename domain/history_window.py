"""Which part of a project's history a caller may read (ADR 0019).

A project name is not an identity across time: a project deleted and created again under the
same name is a new project, and the deleted one's history is readable only by system
administrators. And history is visible as it was visible at that moment: someone who may read a
project only because it is public now sees the periods in which it was public, not what happened
while it was private.
"""

from typing import Callable, NamedTuple

from domain.iam.access import Principal, sees_project

Period = tuple[int, int | None]  # [from, to) in log positions; to None: still going on


class Window(NamedTuple):
    """Log positions from `since` on; with `periods`, only those inside them."""

    since: int
    periods: tuple[Period, ...] | None = None

    def covers(self, position: int) -> bool:
        if position < self.since:
            return False
        if self.periods is None:
            return True
        return any(start <= position and (end is None or position < end) for start, end in self.periods)

    def overlaps(self, start: int, end: int | None) -> bool:
        """Does [start, end) share a position with the window?"""
        if end is not None and end <= self.since:
            return False
        if self.periods is None:
            return True
        return any((end is None or a < end) and (b is None or start < b) for a, b in self.periods)


EVERYTHING = Window(0)


def window_for(principal: Principal, project: str, public: bool, since: int,
               public_periods: Callable[[], tuple[Period, ...]]) -> Window:
    """The caller's window on the project that now has this name (created, or created again,
    at position `since`). `public_periods` gives the periods in which it was public."""
    if principal.kind == "user" and principal.sysadmin and principal.usable():
        return EVERYTHING
    if sees_project(principal, project, False):
        return Window(since)  # a member, or a robot with rights in it: all of this project's history
    return Window(since, public_periods())
