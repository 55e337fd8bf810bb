"""The queue's own per-app state: its settings, the office cache and the limiters of public look-ups.

The clock, the cipher and the runtime are not here: routes and handlers take them from their unit of
work (``uow.now()``, ``uow.cipher``). The limiters measure elapsed seconds on the process's monotonic
clock (not domain time) and live per process: each replica limits what it sees.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from sambang_runtime.ratelimit import RateLimiter
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.uow import UnitOfWork

from .settings import QueueSettings
from .stores.offices import OfficeCache

_DEFAULT_PUBLIC_BASE_URL: str = RuntimeSettings.model_fields["public_base_url"].default


@dataclass(slots=True)
class _Guesses:
    """Wrong birth dates of one receipt: their times within the window, and the end of a lock."""

    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class ReceiptGuard:
    """Wrong birth dates per receipt: after ``limit`` within ``window`` seconds, proving the receipt by
    birth date is refused for ``lock`` seconds, whoever asks and from whichever address.

    Unknown receipts count like known ones, so a lock tells nothing about whether a receipt exists.
    Bounded in memory: entries neither locked nor recent are forgotten first.
    """

    def __init__(self, limit: int, window: float, lock: float, *, max_keys: int = 50_000) -> None:
        self.limit = limit
        self.window = window
        self.lock = lock
        self.max_keys = max_keys
        self._receipts: dict[str, _Guesses] = {}

    def locked_for(self, receipt: str, now: float | None = None) -> float:
        """Seconds the receipt stays locked (0: it is not)."""
        entry = self._receipts.get(receipt)
        if entry is None:
            return 0.0
        return max(0.0, entry.locked_until - (time.monotonic() if now is None else now))

    def failed(self, receipt: str, now: float | None = None) -> None:
        """A wrong birth date for the receipt; the one that reaches the limit locks it."""
        at = time.monotonic() if now is None else now
        entry = self._receipts.get(receipt)
        if entry is None:
            self._make_room(at)
            entry = self._receipts[receipt] = _Guesses()
        while entry.times and entry.times[0] <= at - self.window:
            entry.times.popleft()
        entry.times.append(at)
        if len(entry.times) >= self.limit:
            entry.locked_until = at + self.lock
            entry.times.clear()

    def _make_room(self, at: float) -> None:
        if len(self._receipts) < self.max_keys:
            return
        self._receipts = {
            r: e
            for r, e in self._receipts.items()
            if e.locked_until > at or (e.times and e.times[-1] > at - self.window)
        }
        while len(self._receipts) >= self.max_keys:  # all busy: the oldest entry goes
            self._receipts.pop(next(iter(self._receipts)))


class QueueContext:
    """State of one queue app (one per app, never a module global), given to its ServiceSpec."""

    def __init__(self, settings: QueueSettings | None = None, *, public_base_url: str | None = None) -> None:
        self.settings = settings or QueueSettings()
        s = self.settings
        #: Where applicants reach the front door (arrival links point there).
        self.public_base_url = (public_base_url or _DEFAULT_PUBLIC_BASE_URL).rstrip("/")
        self.offices = OfficeCache(s.office_cache_seconds)
        #: Public look-ups per client address.
        self.limiter = RateLimiter(s.lookup_burst, s.lookup_per_minute / 60)
        #: Requests per kiosk or display (the token's office and subject).
        self.devices = RateLimiter(s.device_burst, s.device_per_minute / 60)
        #: Wrong birth dates per receipt.
        self.receipts = ReceiptGuard(s.receipt_guess_limit, s.receipt_guess_window_seconds, s.receipt_lock_seconds)

    def device_wait(self, device: str) -> float:
        """Take one request of a device's allowance: 0 if it may go ahead, else the seconds to wait."""
        return self.devices.take(device, time.monotonic())


def context_of(uow: UnitOfWork) -> QueueContext:
    """The queue context of the app this unit of work belongs to."""
    ctx = uow.context
    if not isinstance(ctx, QueueContext):
        raise RuntimeError("this unit of work is not the queue service's")
    return ctx
