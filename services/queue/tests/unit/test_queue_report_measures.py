"""The monthly report's measures of issue #24 as pure rules: the estimated wait's error and the no-shows
with and without the reminder the day before (domain/reports.py)."""

from __future__ import annotations

import datetime as dt

from sambang_queue.domain.reports import ApplicationFact, VisitFact, estimate_accuracy, no_shows_by_reminder

T0 = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 12, 2)


def ticket(estimate: tuple[int, int] | None, waited: float | None, *, claimed: bool = False) -> VisitFact:
    """A ticket given `estimate` at check-in (T0) and first called (or claimed) `waited` minutes later."""
    started = None if waited is None else T0 + dt.timedelta(minutes=waited)
    low, high = estimate if estimate is not None else (None, None)
    return VisitFact(
        "SERVICE",
        "PRIORITY" if claimed else "REGULAR",
        "KIOSK",
        "DONE",
        T0,
        None if claimed else started,
        started if claimed else None,
        low,
        high,
    )


def test_the_error_is_the_actual_wait_minus_the_middle_of_the_range() -> None:
    tickets = [
        ticket((20, 30), 25),  # error 0, within
        ticket((20, 30), 31),  # +6, outside
        ticket((0, 5), 2),  # -0.5, within
        ticket((10, 15), 4),  # -8.5, outside
        ticket((5, 10), 10, claimed=True),  # +2.5, within (a claim is the sambang visit's call)
        ticket(None, 12),  # no estimate given: not measured
        ticket((20, 30), None),  # never called: not measured
    ]
    figures = estimate_accuracy(tickets)
    # absolute errors sorted: 0, 0.5, 2.5, 6, 8.5 -> p50 = 2.5; p90 rank 0.9 * 4 = 3.6 -> 6 + 0.6 * 2.5 = 7.5
    # signed errors sorted: -8.5, -0.5, 0, 2.5, 6 -> median 0
    assert figures == {
        "estimated": 5,
        "abs_error_p50_minutes": 2.5,
        "abs_error_p90_minutes": 7.5,
        "median_error_minutes": 0.0,
        "within_range": 3,
        "within_range_share": 0.6,
    }


def test_no_ticket_with_an_estimate_gives_empty_figures() -> None:
    assert estimate_accuracy([ticket(None, 3)]) == {
        "estimated": 0,
        "abs_error_p50_minutes": None,
        "abs_error_p90_minutes": None,
        "median_error_minutes": None,
        "within_range": 0,
        "within_range_share": None,
    }


def app(status: str, *, reminded: bool, day: dt.date = DAY, walk_in: bool = False) -> ApplicationFact:
    return ApplicationFact("NONE", "NEW", "ELECTRONIC", walk_in, status, day, reminded)


def test_no_shows_are_counted_among_appointments_with_and_without_a_reminder() -> None:
    today = DAY + dt.timedelta(days=1)
    apps = [
        app("IN_PROCESS", reminded=True),  # came
        app("COLLECTED", reminded=True),  # came
        app("PAID", reminded=True),  # day passed, never came: a no-show
        app("NO_SHOW", reminded=False),  # came but did not answer the calls: a no-show
        app("ARRIVAL_CONFIRMED", reminded=False),  # day passed, never came
        app("IN_SERVICE", reminded=False),  # came
        app("CANCELLED", reminded=True),  # withdrawn: not an appointment
        app("EXPIRED", reminded=False),  # withdrawn
        app("PAID", reminded=False, day=today),  # today: not known yet
        app("CHECKED_IN", reminded=False, walk_in=True),  # a walk-in has no appointment
    ]
    assert no_shows_by_reminder(apps, today) == {
        "with_reminder": {"appointments": 3, "no_shows": 1, "share": 0.333},
        "without_reminder": {"appointments": 3, "no_shows": 2, "share": 0.667},
    }
    assert no_shows_by_reminder([], today) == {
        "with_reminder": {"appointments": 0, "no_shows": 0, "share": None},
        "without_reminder": {"appointments": 0, "no_shows": 0, "share": None},
    }
