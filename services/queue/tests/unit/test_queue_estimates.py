"""The estimated wait as a pure rule (domain/estimates.py): percentiles of the recent service times,
scaled by the turns before the ticket and divided by the counters open, rounded outward to a range."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sambang_contracts import WaitEstimate
from sambang_queue.domain.estimates import (
    LineSample,
    estimate_wait,
    midpoint,
    minute_range,
    raw_wait_minutes,
    turns_before,
)

MIN = 60.0


def sample(minutes: Sequence[float], *, served_today: int = 20, counters: int = 1) -> LineSample:
    return LineSample([m * MIN for m in minutes], served_today, counters)


def est(low: int, high: int) -> WaitEstimate:
    return WaitEstimate(low_minutes=low, high_minutes=high)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.0, 0.0, est(0, 5)),  # nothing to wait: "less than 5 minutes"
        (1.2, 4.9, est(0, 5)),
        (4.0, 5.0, est(0, 5)),  # up to 5 minutes inclusive
        (3.2, 7.4, est(3, 10)),  # a low end of 5 or less stays a whole minute
        (5.0, 5.01, est(5, 10)),
        (8.75, 12.7, est(5, 15)),  # outward: down to 5, up to 15
        (21.0, 28.0, est(20, 30)),  # "sekitar 20-30 menit"
        (20.0, 30.0, est(20, 30)),  # already multiples of 5: kept
        (10.0, 10.0, est(10, 15)),  # never a single number
        (61.3, 88.1, est(60, 90)),
    ],
)
def test_a_range_is_rounded_outward_to_whole_minutes_then_to_fives_above_five(
    low: float, high: float, expected: WaitEstimate
) -> None:
    assert minute_range(low, high) == expected


def test_the_turns_before_a_ticket_are_those_ahead_and_half_a_service_being_served() -> None:
    assert [turns_before(p) for p in (1, 2, 3, 10)] == [0.5, 1.5, 2.5, 9.5]


def test_the_range_is_the_quartiles_of_service_times_times_the_turns_over_the_counters() -> None:
    # 20 services: four each of 4, 5, 6, 7 and 8 minutes (sorted: indexes 0-3 are 4, 4-7 are 5, 8-11
    # are 6, 12-15 are 7, 16-19 are 8). Quartiles by linear interpolation between closest ranks:
    # rank 0.25 * 19 = 4.75 -> between indexes 4 and 5 (5 and 5) = 5;
    # rank 0.75 * 19 = 14.25 -> between indexes 14 and 15 (7 and 7) = 7.
    times = [4, 5, 6, 7, 8] * 4
    low, high = raw_wait_minutes(sample(times, counters=2), position=4) or (0, 0)
    # position 4: 3 ahead + half a service = 3.5 turns, over 2 counters
    assert (low, high) == pytest.approx((5 * 3.5 / 2, 7 * 3.5 / 2))  # 8.75 .. 12.25
    assert estimate_wait(sample(times, counters=2), 4, min_served=5) == est(5, 15)
    # one counter: twice as long (17.5 .. 24.5); the next ticket, half a service (2.5 .. 3.5)
    assert estimate_wait(sample(times, counters=1), 4, min_served=5) == est(15, 25)
    assert estimate_wait(sample(times, counters=1), 1, min_served=5) == est(0, 5)
    # a skewed sample: the quartiles, not the mean, decide (one 60-minute case barely moves them)
    skewed = [5.0] * 19 + [60.0]
    assert estimate_wait(sample(skewed, counters=1), 3, min_served=5) == est(10, 15)  # 12.5 .. 12.5


def test_no_counter_seen_open_counts_as_one() -> None:
    times = [10.0] * 6
    assert estimate_wait(sample(times, counters=0), 3, min_served=5) == estimate_wait(
        sample(times, counters=1), 3, min_served=5
    )


def test_no_estimate_when_too_few_were_served_today() -> None:
    times = [4, 5, 6, 7, 8] * 4  # the window may reach back to other days ...
    assert estimate_wait(sample(times, served_today=4), 2, min_served=5) is None  # ... but today counts
    assert estimate_wait(sample(times, served_today=5), 2, min_served=5) is not None
    assert estimate_wait(sample(times, served_today=2), 2, min_served=5) is None
    assert estimate_wait(sample([], served_today=9), 2, min_served=5) is None  # no service time at all


def test_no_estimate_for_a_ticket_not_in_the_line() -> None:
    assert estimate_wait(sample([5.0] * 10), 0, min_served=5) is None


def test_more_counters_never_lengthen_the_wait() -> None:
    times = [3, 9, 4, 12, 6, 5, 8]
    ranges = [estimate_wait(sample(times, counters=c), 8, min_served=5) for c in (1, 2, 3, 4)]
    highs = [r.high_minutes for r in ranges if r is not None]
    assert len(highs) == 4 and highs == sorted(highs, reverse=True) and highs[0] > highs[-1]


def test_the_midpoint_is_the_middle_of_the_range() -> None:
    assert midpoint(est(20, 30)) == 25.0
    assert midpoint(est(0, 5)) == 2.5
