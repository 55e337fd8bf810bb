"""Report statistics: percentiles, duration summaries, the issuance target in working days."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from sambang_contracts.values import working_days_between

from .calendar import PUBLIC_HOLIDAYS


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile by linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = p / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = math.ceil(rank)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def duration_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Count, average and 90th percentile of durations, in minutes (one decimal)."""
    if not seconds:
        return {"count": 0, "avg_minutes": None, "p90_minutes": None}
    p90 = percentile(seconds, 90)
    assert p90 is not None
    return {
        "count": len(seconds),
        "avg_minutes": round(sum(seconds) / len(seconds) / 60, 1),
        "p90_minutes": round(p90 / 60, 1),
    }


def within_target(service_day: dt.date, issued_day: dt.date, target_working_days: int) -> bool:
    """Whether a passport was issued within the office's target counted in working days after the
    day of service (the check-in, i.e. when the application was complete at the office)."""
    return working_days_between(service_day, issued_day, PUBLIC_HOLIDAYS) <= target_working_days
