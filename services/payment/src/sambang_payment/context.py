"""The payment service's own per-app state: its settings and the limiters of public look-ups.

Built by ``create_app`` and given to the runtime as ``ServiceSpec(context=...)``; routes reach it
through ``api.deps.ContextDep``, handlers and background loops through ``context_of(uow)``. No
cipher, clock or runtime in here: those are on the unit of work. The limiters measure elapsed
seconds on the process's monotonic clock (not domain time) and live per process.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from sambang_runtime.ratelimit import RateLimiter
from sambang_runtime.uow import UnitOfWork

from .settings import PaymentSettings


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


class PaymentContext:
    """State of one payment app (never a module global: two apps in one process keep their own)."""

    def __init__(self, settings: PaymentSettings | None = None) -> None:
        self.settings = settings or PaymentSettings()
        s = self.settings
        #: Public bill look-ups per client: a burst, then ``lookup_per_minute``.
        self.lookup_limiter = RateLimiter(s.lookup_burst, s.lookup_per_minute / 60)
        #: Wrong birth dates per receipt.
        self.receipts = ReceiptGuard(s.receipt_guess_limit, s.receipt_guess_window_seconds, s.receipt_lock_seconds)

    @property
    def default_timezone(self) -> str:
        """Office time zone for an office not heard of yet (no ``queue.office.updated`` seen)."""
        return self.settings.default_timezone


def lookup_limiter_of(context: object) -> RateLimiter:
    """The public look-up limiter of a payment context (for ``sambang_runtime.http.client_rate_limit``)."""
    if not isinstance(context, PaymentContext):
        raise RuntimeError("not a payment context (ServiceSpec.context)")
    return context.lookup_limiter


def context_of(uow: UnitOfWork) -> PaymentContext:
    """The payment context of the app this unit of work belongs to."""
    context = uow.context
    if not isinstance(context, PaymentContext):
        raise RuntimeError("this unit of work was not built by a payment app (ServiceSpec.context)")
    return context
