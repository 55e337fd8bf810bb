"""The estimated wait: how long a ticket will wait at its stage, as a range of whole minutes.

From the office's recent service times at a lane and stage: the 25th to 75th percentiles of how long
the last completed tickets took at a counter (or a priority seat), times the turns before this
ticket's own (the tickets ahead of it, and half a service for the ones being served now), divided by
the counters open now. Shown only once enough tickets were served there today to estimate honestly,
and always as a range rounded outward ("sekitar 20-30 menit"), never a false precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sambang_contracts import Lane, Stage, WaitEstimate

from .lanes import SAMBANG_STAGE
from .statistics import percentile

#: The waiting lines of an office, as the board lists them: each lane with the stages it waits at.
LINES: tuple[tuple[Lane, str], ...] = (
    (Lane.REGULAR, Stage.VERIFICATION.value),
    (Lane.REGULAR, Stage.INTERVIEW.value),
    (Lane.PRIORITY, SAMBANG_STAGE),
    (Lane.PICKUP, Stage.PICKUP.value),
)

#: Up to this many minutes the range is said as "less than 5 minutes" (kurang dari 5 menit).
SHORT_WAIT_MINUTES = 5
#: Above SHORT_WAIT_MINUTES a range's ends are multiples of this many minutes.
ROUND_TO_MINUTES = 5


@dataclass(frozen=True, slots=True)
class LineSample:
    """What an estimate at one lane and stage is drawn from."""

    #: how long each of the last completed tickets was served, newest first (seconds)
    service_seconds: Sequence[float]
    #: tickets completed at this lane and stage today (office-local day)
    served_today: int
    #: counters (or sambang officers) at this stage that called or served a ticket recently
    open_counters: int


def turns_before(position: int) -> float:
    """Services that end before the ticket at `position` (1 = next) is called: one per ticket ahead of
    it, and half of one for the tickets being served now (on average half done)."""
    return max(0, position - 1) + 0.5


def minute_range(low: float, high: float) -> WaitEstimate:
    """A range of minutes rounded outward to whole minutes, and to multiples of 5 once above 5 minutes;
    a range that stays within 5 minutes is 0-5 ("less than 5 minutes"). Never a single number."""
    lo = max(0, math.floor(low))
    hi = max(lo, math.ceil(high))
    if hi <= SHORT_WAIT_MINUTES:
        return WaitEstimate(low_minutes=0, high_minutes=SHORT_WAIT_MINUTES)
    if lo > SHORT_WAIT_MINUTES:
        lo = lo // ROUND_TO_MINUTES * ROUND_TO_MINUTES
    hi = -(-hi // ROUND_TO_MINUTES) * ROUND_TO_MINUTES
    if hi == lo:
        hi += ROUND_TO_MINUTES
    return WaitEstimate(low_minutes=lo, high_minutes=hi)


def raw_wait_minutes(sample: LineSample, position: int) -> tuple[float, float] | None:
    """The unrounded range (minutes) for the ticket at `position`: the 25th and 75th percentiles of the
    service times, times the turns before it, divided by the counters open (at least one); None
    without any service time."""
    low = percentile(sample.service_seconds, 25)
    high = percentile(sample.service_seconds, 75)
    if low is None or high is None:
        return None
    scale = turns_before(position) / max(1, sample.open_counters) / 60
    return low * scale, high * scale


def estimate_wait(sample: LineSample, position: int, *, min_served: int) -> WaitEstimate | None:
    """The estimated wait of the ticket at `position` (1-based) of a line, or None when fewer than
    `min_served` tickets were served there today (too few to estimate honestly)."""
    if position < 1 or sample.served_today < min_served:
        return None
    raw = raw_wait_minutes(sample, position)
    return None if raw is None else minute_range(*raw)


def midpoint(estimate: WaitEstimate) -> float:
    """The middle of an estimated range, in minutes (what the error is measured from)."""
    return (estimate.low_minutes + estimate.high_minutes) / 2
