"""The clock a service reads time from: ``uow.now()`` / ``runtime.clock``, never ``datetime.now``.

Tests pass a ``sambang_runtime.testing.FakeClock`` to ``create_app(clock=...)`` and move it by hand.
Framework-free, so a service's domain may import it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

__all__ = ["Clock", "system_clock"]

#: A source of the current instant (timezone-aware). On the unit of work as ``uow.clock``.
Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """The wall clock, in UTC."""
    return dt.datetime.now(dt.UTC)
