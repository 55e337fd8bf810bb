"""Per-client token buckets for public look-ups (receipt + birth date guessing is slow by design)."""

from __future__ import annotations


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
