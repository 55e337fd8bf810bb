"""Per-client token buckets for public look-ups (receipt + birth date guessing is slow by design)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field


class TokenBucket:
    """A token bucket: ``capacity`` requests at once, refilled at ``rate_per_second``."""

    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, capacity: float, rate_per_second: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate_per_second
        self.tokens = capacity
        self.updated = now

    def take(self, now: float) -> float:
        """Take one token; returns 0 if allowed, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def full(self, now: float) -> bool:
        """Whether the bucket has refilled completely (so it can be forgotten)."""
        return self.tokens + (now - self.updated) * self.rate >= self.capacity


class RateLimiter:
    """Token buckets per client key, bounded in memory (full buckets are forgotten first)."""

    def __init__(self, capacity: float, rate_per_second: float, *, max_keys: int = 10_000) -> None:
        self.capacity = capacity
        self.rate = rate_per_second
        self.max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str, now: float) -> float:
        """0 if this request may go ahead, else the seconds to wait."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._buckets = {k: b for k, b in self._buckets.items() if not b.full(now)}
                if len(self._buckets) >= self.max_keys:
                    self._buckets.pop(next(iter(self._buckets)))
            bucket = self._buckets[key] = TokenBucket(self.capacity, self.rate, now)
        return bucket.take(now)


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
