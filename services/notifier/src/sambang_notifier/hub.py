"""The open streams of this replica, and how a committed stream event wakes them (in-process only)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass

from .domain.streams import StreamItem, StreamRow, contiguous_after


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """A stream event the shared queue handed over, for this replica's stream recorder."""

    office: str
    item: StreamItem
    event_id: str
    receipt: str | None


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

    async def wait(self, seconds: float) -> bool:
        """Until woken (True) or ``seconds`` passed (False: the stream then looks at the database anyway)."""
        woken = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._news.wait(), seconds)
            woken = True
        self._news.clear()
        return woken


class StreamHub:
    """Per replica: which connections listen to which (office, stream), and the last events committed here.

    The database is the record (numbers, replay); the hub is a signal plus a small cache of what this
    replica just committed, so a woken connection sends it without reading the database again. A
    connection takes from the cache only the very next numbers; at a gap it reads the database.
    """

    def __init__(self, recent: int = 256) -> None:
        self._listeners: defaultdict[tuple[str, str], set[Listener]] = defaultdict(set)
        self._recent: defaultdict[tuple[str, str], deque[StreamRow]] = defaultdict(lambda: deque(maxlen=recent))
        # Events this replica already has committed rows for: its other copy (shared queue or own queue) skips
        # the database. Bounded: an id that fell out only costs a look at the database.
        self._known: dict[str, None] = {}
        self._known_max = recent * 4
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

    def committed(self, office: str, stream: str, row: StreamRow, event_id: str) -> None:
        """A stream event is committed (by this replica or, found there, by another): cache it, wake the listeners."""
        self._recent[(office.upper(), stream)].append(row)
        self._known[event_id] = None
        if len(self._known) > self._known_max:
            del self._known[next(iter(self._known))]
        self.wake(office, stream)

    def knows(self, event_id: str) -> bool:
        """Whether this replica has already seen this event's row committed (no need to look again)."""
        return event_id in self._known

    def after(self, office: str, stream: str, cursor: int) -> list[StreamRow] | None:
        """The cached events right after ``cursor``; None when the next one is not cached (read the database)."""
        return contiguous_after(self._recent.get((office.upper(), stream), ()), cursor)

    def open(self) -> None:
        """The replica (re)starts serving streams."""
        self.closed = False

    def close(self) -> None:
        """The replica stops: every stream ends."""
        self.closed = True
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.notify()
