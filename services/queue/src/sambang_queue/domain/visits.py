"""Visits and their tickets: purposes, states, waiting and service times."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import Stage, VisitCompleted

#: Why a visit is at the office: to be served, or to collect the passport.
SERVICE = "SERVICE"
PICKUP = "PICKUP"

#: States of a visit (its ticket).
WAITING = "WAITING"
CALLED = "CALLED"
IN_SERVICE = "IN_SERVICE"
DONE = "DONE"
NO_SHOW = "NO_SHOW"


def minutes_between(since: dt.datetime, now: dt.datetime) -> int:
    """Whole minutes from `since` to `now` (0 when the clock says otherwise)."""
    return max(0, int((now - since).total_seconds() // 60))


def _seconds(a: dt.datetime | None, b: dt.datetime | None) -> int:
    if a is None or b is None:
        return 0
    return max(0, int((b - a).total_seconds()))


def visit_completed(
    *, receipt_number: str, visit_id: str, checked_in_at: dt.datetime, started_at: dt.datetime | None, now: dt.datetime
) -> VisitCompleted:
    """`queue.visit.completed`: waited from check-in to the first call or claim, served from then to now."""
    return VisitCompleted(
        receipt_number=receipt_number,
        visit_id=visit_id,
        waited_seconds=_seconds(checked_in_at, started_at),
        served_seconds=_seconds(started_at, now),
    )


def no_show_stage(stage: str) -> Stage:
    """The stage a no-show is reported at (a stage outside the contract's reads as VERIFICATION)."""
    return Stage(stage) if stage in Stage.__members__ else Stage.VERIFICATION
