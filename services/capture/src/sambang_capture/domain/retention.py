"""Retention of biometrics (UU 27/2022: specific personal data, kept no longer than the purpose needs).

Every final outcome of an application starts the clock: the biometrics go the office's number of days
later, never more than the national maximum. Which events are final outcomes is the handler table's
business; here are the outcomes, the deadline and the bounds of the office rules capture keeps.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from zoneinfo import ZoneInfo

from sambang_contracts.values import BIOMETRIC_RETENTION_MAX_DAYS

#: The office's fingerprint quality threshold is a score of 0-100.
THRESHOLD_MIN, THRESHOLD_MAX = 0, 100


class Outcome(StrEnum):
    """How an application ended: each one is final, and each one schedules the deletion of its biometrics."""

    #: The passport was issued (simkim.passport.issued) or handed over (queue.passport.collected).
    COLLECTED = "COLLECTED"
    #: The interview decided REJECTED (capture's own decision).
    REJECTED = "REJECTED"
    #: The head of office denied a hold (simkim.hold.decided DENY).
    DENIED = "DENIED"
    #: Cancelled by the applicant or an officer, or its bill expired (queue.application.cancelled).
    CANCELLED = "CANCELLED"
    #: Closed as a no-show (queue.application.cancelled NO_SHOW).
    NO_SHOW = "NO_SHOW"
    #: SIMKIM refused the submission for good (simkim.submission.failed, permanent).
    FAILED = "FAILED"


def retention_days(office_days: int) -> int:
    """The office's retention, within 0 and the national maximum (a rule kept from before the bounds, or
    one the contract would refuse, can never keep biometrics longer)."""
    return max(0, min(office_days, BIOMETRIC_RETENTION_MAX_DAYS))


def quality_threshold(office_threshold: int) -> int:
    """The office's fingerprint threshold within 0-100."""
    return max(THRESHOLD_MIN, min(office_threshold, THRESHOLD_MAX))


def purge_due_at(outcome_at: dt.datetime, office_days: int) -> dt.datetime:
    """When the biometrics of an application that ended at ``outcome_at`` are deleted."""
    return outcome_at + dt.timedelta(days=retention_days(office_days))


def earliest(scheduled: dt.datetime | None, due: dt.datetime) -> dt.datetime:
    """A second outcome may bring the deletion forward, never postpone it."""
    return due if scheduled is None or due < scheduled else scheduled


def office_day(day: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """The UTC bounds [start, end) of a calendar day at the office (the purge report's day)."""
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(day, dt.time(), zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)
