"""Per-client token buckets: bursts, refill, clients apart, bounded memory."""

from __future__ import annotations

import pytest
from sambang_runtime.ratelimit import RateLimiter, TokenBucket


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(3, 1.0, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(1.0)
    assert bucket.take(1.0) == 0.0


def test_rate_limiter_allows_a_burst_then_says_how_long_to_wait() -> None:
    limiter = RateLimiter(3, 1.0)
    assert [limiter.take("a", 100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a", 100.0) == pytest.approx(1.0)
    assert limiter.take("b", 100.0) == 0.0  # per client
    assert limiter.take("a", 101.0) == 0.0  # refilled


def test_rate_limiter_keeps_clients_apart_and_bounded() -> None:
    limiter = RateLimiter(1, 0.1, max_keys=4)
    assert limiter.take("a", 0) == 0
    assert limiter.take("a", 0) > 0
    assert limiter.take("b", 0) == 0
    for i in range(10):
        limiter.take(f"c{i}", 100.0 + i)
    assert len(limiter._buckets) <= 4


def test_rate_limiter_memory_is_bounded() -> None:
    limiter = RateLimiter(1, 1.0, max_keys=10)
    for i in range(100):
        limiter.take(str(i), float(i))
    assert len(limiter._buckets) <= 10
