"""The open streams of this replica, and how a committed stream event wakes them (in-process only)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator


class Listener:
    """One open stream connection waiting for its (office, stream) to have news."""

    def __init__(self, hub: StreamHub) -> None:
        self._hub = hub
        self._news = asyncio.Event()

    @property
    def closed(self) -> bool:
        """Whether the replica is shutting down (the stream should end)."""
        return self._hub.closed

    def notify(self) -> None:
        """Something was recorded: look again."""
        self._news.set()

    async def wait(self, seconds: float) -> None:
        """Until woken or ``seconds`` passed (the stream then looks at the database anyway)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._news.wait(), seconds)
        self._news.clear()


class StreamHub:
    """Per replica: which connections listen to which (office, stream). Only a signal: the events are in the DB."""

    def __init__(self) -> None:
        self._listeners: defaultdict[tuple[str, str], set[Listener]] = defaultdict(set)
        self.closed = False

    @contextlib.contextmanager
    def listen(self, office: str, stream: str) -> Iterator[Listener]:
        """Register a connection for the time of a ``with`` block."""
        key = (office.upper(), stream)
        listener = Listener(self)
        self._listeners[key].add(listener)
        try:
            yield listener
        finally:
            self._listeners[key].discard(listener)
            if not self._listeners[key]:
                del self._listeners[key]

    def wake(self, office: str, stream: str) -> None:
        """Tell every connection of (office, stream) on this replica to look again."""
        for listener in self._listeners.get((office.upper(), stream), ()):
            listener.notify()

    def listening(self, office: str, stream: str) -> int:
        """How many connections of this replica listen to (office, stream)."""
        return len(self._listeners.get((office.upper(), stream), ()))

    def open(self) -> None:
        """The replica (re)starts serving streams."""
        self.closed = False

    def close(self) -> None:
        """The replica stops: every stream ends."""
        self.closed = True
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.notify()
