"""Percentiles shared by the benchmarks (not a benchmark itself: `make bench` skips it)."""

from __future__ import annotations


def pct(values: list[float], p: float) -> float:
    """The p-th percentile of durations in seconds, in milliseconds (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[k] * 1000, 2)
