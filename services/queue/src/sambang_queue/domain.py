"""Pure rules of the queue service: no database, HTTP or bus (STYLE.md rule 2).

Booking window, check-in window, priority categories, lanes and stages, the application's status
progression, working days (weekends and Indonesian public holidays skipped), arrival-link tokens,
report statistics and the report's figures. Time always comes in as an argument.
"""

from __future__ import annotations

import csv
import datetime as dt
import hmac
import io
import itertools
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sambang_contracts import (
    Applicant,
    ApplicationRegistered,
    Lane,
    Language,
    OfficeSettings,
    PassportType,
    PriorityCategory,
    ServiceType,
    Stage,
    VisitCompleted,
)
from sambang_contracts import Slot as SlotValue
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.errors import DomainError

# --- application status -------------------------------------------------------------------------


class Status(StrEnum):
    """Where an application is in its journey (application.status)."""

    BOOKED = "BOOKED"
    PAID = "PAID"
    ARRIVAL_CONFIRMED = "ARRIVAL_CONFIRMED"
    CHECKED_IN = "CHECKED_IN"
    IN_SERVICE = "IN_SERVICE"
    IN_PROCESS = "IN_PROCESS"
    HELD = "HELD"
    ISSUED = "ISSUED"
    COLLECTED = "COLLECTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    NO_SHOW = "NO_SHOW"
    REJECTED = "REJECTED"


_RANK: dict[Status, int] = {
    Status.BOOKED: 0,
    Status.PAID: 1,
    Status.ARRIVAL_CONFIRMED: 2,
    Status.CHECKED_IN: 3,
    Status.IN_SERVICE: 4,
    Status.IN_PROCESS: 5,
    Status.HELD: 5,
    Status.ISSUED: 7,
    Status.COLLECTED: 8,
}
FINAL: frozenset[Status] = frozenset({Status.CANCELLED, Status.EXPIRED, Status.NO_SHOW, Status.REJECTED})
INACTIVE: frozenset[Status] = FINAL | {Status.COLLECTED}
NOT_YET_ARRIVED: frozenset[Status] = frozenset({Status.BOOKED, Status.PAID, Status.ARRIVAL_CONFIRMED})


def is_active(status: Status) -> bool:
    """Whether the application still blocks a new one for the same NIK."""
    return status not in INACTIVE


def advanced(current: Status, new: Status) -> Status:
    """The status after an event that says `new`: events arrive in any order, so never go back.

    A final status (cancelled, rejected…) stays; HELD and IN_PROCESS move into each other.
    """
    if current in FINAL or current == new:
        return current
    if new in FINAL:
        return new
    if {current, new} == {Status.HELD, Status.IN_PROCESS}:
        return new
    return new if _RANK[new] > _RANK[current] else current


def public_status(status: Status) -> str:
    """What the applicant sees: a hold (cekal, duplicate passport) is never revealed."""
    return Status.IN_PROCESS.value if status == Status.HELD else status.value


# --- time and places ----------------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    """The office's time zone."""
    return ZoneInfo(name)


def local_today(now: dt.datetime, tz: str) -> dt.date:
    """The office's calendar date at `now`."""
    return now.astimezone(zone(tz)).date()


def local_instant(day: dt.date, at: dt.time, tz: str) -> dt.datetime:
    """A local wall-clock time of the office as an aware UTC instant."""
    return dt.datetime.combine(day, at, tzinfo=zone(tz)).astimezone(dt.UTC)


def day_bounds(day: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of an office-local day in UTC."""
    start = local_instant(day, dt.time(0, 0), tz)
    return start, local_instant(day + dt.timedelta(days=1), dt.time(0, 0), tz)


def booking_window(today: dt.date, settings: OfficeSettings) -> tuple[dt.date, dt.date]:
    """First and last bookable day (inclusive), e.g. from tomorrow to 30 days ahead."""
    first = today + dt.timedelta(days=settings.first_bookable_offset_days)
    last = today + dt.timedelta(days=settings.booking_window_days)
    return first, last


def check_bookable(slot_date: dt.date, today: dt.date, settings: OfficeSettings) -> None:
    """Refuse a slot in the past or outside the office's booking window."""
    first, last = booking_window(today, settings)
    if not first <= slot_date <= last:
        raise DomainError("outside_booking_window", first_bookable=first.isoformat(), last_bookable=last.isoformat())


def check_checkin_time(
    now: dt.datetime, slot_date: dt.date, start: dt.time, end: dt.time, tz: str, settings: OfficeSettings
) -> None:
    """Check-in only on the slot's day, from `checkin_early_minutes` before its start to
    `checkin_late_minutes` after its end."""
    if local_today(now, tz) != slot_date:
        raise DomainError("not_today", appointment_date=slot_date.isoformat())
    opens = local_instant(slot_date, start, tz) - dt.timedelta(minutes=settings.checkin_early_minutes)
    closes = local_instant(slot_date, end, tz) + dt.timedelta(minutes=settings.checkin_late_minutes)
    if now < opens:
        raise DomainError("too_early", opens_at=opens.isoformat())
    if now > closes:
        raise DomainError("too_late", closed_at=closes.isoformat())


# --- booking ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApplicantData:
    """Who applies (personal data: encrypted before it is stored)."""

    full_name: str
    nik: str
    birth_date: dt.date
    email: str | None
    phone: str | None
    language: Language
    #: Only decides the passport's validity (never stored).
    married: bool = False


@dataclass(frozen=True, slots=True)
class Booking:
    """One applicant's request for a place."""

    service_type: ServiceType
    passport_type: PassportType
    priority_category: PriorityCategory
    applicant: ApplicantData
    #: 5 or 10 years; None until settled by `settle_validity` (the applicant may leave it to the rule).
    validity_years: int | None = None
    #: Same-day service asked for.
    express: bool = False


@dataclass(frozen=True, slots=True)
class Appointment:
    """When the applicant is expected (a slot, or the walk-in's own time)."""

    slot_id: int | None
    date: dt.date
    start: dt.time
    end: dt.time

    def value(self) -> SlotValue:
        """As the events carry it."""
        return SlotValue(date=self.date, start=self.start, end=self.end)


#: A 10-year passport from this age (or for a married applicant of any age).
TEN_YEARS_FROM_AGE = 17


def settle_validity(booking: Booking, on: dt.date) -> Booking:
    """The booking with its passport validity decided for the day of the application: 10 years by
    default from age 17 or when married, else 5; 10 asked below 17 unmarried is refused."""
    grown = age_on(booking.applicant.birth_date, on) >= TEN_YEARS_FROM_AGE or booking.applicant.married
    if booking.validity_years is None:
        return replace(booking, validity_years=10 if grown else 5)
    if booking.validity_years == 10 and not grown:
        raise DomainError("validity_years_not_allowed", min_age=TEN_YEARS_FROM_AGE)
    return booking


def check_bookings(
    bookings: Sequence[Booking], slot_date: dt.date, today: dt.date, settings: OfficeSettings
) -> list[Booking]:
    """Refuse a booking (alone or as a family) the office's rules do not allow; returns the bookings
    with their passport validity settled for the appointment day."""
    check_bookable(slot_date, today, settings)
    niks = [b.applicant.nik for b in bookings]
    if len(set(niks)) != len(niks):
        raise DomainError("duplicate_nik_in_group")
    settled = []
    for b in bookings:
        check_birth_date(b.applicant.birth_date, today)
        check_priority_category(b.priority_category, b.applicant.birth_date, slot_date, by_officer=False)
        settled.append(settle_validity(b, slot_date))
    return settled


def draw_receipts(office: str, registered_on: dt.date, n: int, rng: random.Random) -> list[str]:
    """n distinct fresh receipt numbers (libs/contracts) of an office and registration day."""
    receipts: list[str] = []
    while len(receipts) < n:
        receipt = generate_receipt_number(office, registered_on, rng)
        if receipt not in receipts:
            receipts.append(receipt)
    return receipts


def registered_event(
    *, receipt_number: str, office: str, appointment: Appointment, booking: Booking, walk_in: bool
) -> ApplicationRegistered:
    """`queue.application.registered`: carries the applicant's personal data by design (EVENTS.md)."""
    a = booking.applicant
    return ApplicationRegistered(
        receipt_number=receipt_number,
        office=office,
        slot=appointment.value(),
        service_type=booking.service_type,
        passport_type=booking.passport_type,
        priority_category=booking.priority_category,
        walk_in=walk_in,
        validity_years=booking.validity_years,
        express=booking.express,
        applicant=Applicant(
            full_name=a.full_name,
            nik=a.nik,
            birth_date=a.birth_date,
            email=a.email,
            phone=a.phone,
            language=a.language,
        ),
    )


def walk_in_appointment(now: dt.datetime, tz: str) -> Appointment:
    """A walk-in is expected from the minute they came, for an hour (to the end of the day at most)."""
    local = now.astimezone(zone(tz))
    start = local.time().replace(second=0, microsecond=0)
    end_dt = dt.datetime.combine(local.date(), start) + dt.timedelta(hours=1)
    end = end_dt.time() if end_dt.date() == local.date() else dt.time(23, 59, 59)
    return Appointment(None, local.date(), start, end)


# --- priority and lanes --------------------------------------------------------------------------

ELDERLY_FROM_AGE = 60
CHILD_UNDER_AGE = 5


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Age in whole years on a day."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def check_priority_category(category: PriorityCategory, birth_date: dt.date, on: dt.date, *, by_officer: bool) -> None:
    """ELDERLY means over 60 and CHILD under 5 on the day of the visit (the birth date proves it);
    OTHER is set only by an officer on sight; DISABLED and PREGNANT are confirmed on sight."""
    if category == PriorityCategory.OTHER and not by_officer:
        raise DomainError("priority_category_officer_only")
    age = age_on(birth_date, on)
    if category == PriorityCategory.ELDERLY and age < ELDERLY_FROM_AGE:
        raise DomainError("priority_category_mismatch", category=category.value)
    if category == PriorityCategory.CHILD and age >= CHILD_UNDER_AGE:
        raise DomainError("priority_category_mismatch", category=category.value)


def check_birth_date(birth_date: dt.date, today: dt.date) -> None:
    """A birth date cannot lie in the future."""
    if birth_date > today:
        raise DomainError("birth_date_in_future")


def lane_for(category: PriorityCategory) -> Lane:
    """Priority categories are served at a priority seat (sambang); everyone else at the counters."""
    return Lane.REGULAR if category == PriorityCategory.NONE else Lane.PRIORITY


#: Internal stage of a priority visit: served at the seat by a sambang officer.
SAMBANG_STAGE = "SAMBANG"
#: A visit whose stages are all done.
DONE_STAGE = "DONE"


def first_stage(lane: Lane) -> str:
    """Where a new visit starts."""
    if lane == Lane.REGULAR:
        return Stage.VERIFICATION.value
    if lane == Lane.PICKUP:
        return Stage.PICKUP.value
    return SAMBANG_STAGE


def next_stage(lane: Lane, stage: str) -> str:
    """The stage after `stage` on the lane: regular lane VERIFICATION, then INTERVIEW, then done."""
    if lane == Lane.REGULAR and stage == Stage.VERIFICATION.value:
        return Stage.INTERVIEW.value
    return DONE_STAGE


#: Which officer roles call which stage (verifikasi berkas, wawancara, pengambilan paspor).
STAGE_ROLES: dict[Stage, frozenset[str]] = {
    Stage.VERIFICATION: frozenset({"verifier", "customer_care"}),
    Stage.INTERVIEW: frozenset({"interviewer"}),
    Stage.PICKUP: frozenset({"customer_care"}),
    Stage.SAMBANG: frozenset(),  # served at the seat after a claim, never called to a counter
}


def may_call(roles: Iterable[str], stage: Stage) -> bool:
    """Whether an officer with these roles serves this stage."""
    return not STAGE_ROLES[stage].isdisjoint(roles)


def transfer_allowed(lane: Lane, to_stage: Stage) -> bool:
    """A ticket goes back only to a stage of its own lane."""
    if lane == Lane.REGULAR:
        return to_stage in (Stage.VERIFICATION, Stage.INTERVIEW)
    if lane == Lane.PICKUP:
        return to_stage == Stage.PICKUP
    return False


def pick_seat(seats: Sequence[str], taken: Iterable[str]) -> list[str]:
    """Free priority seats in the office's order (P1, P2, …)."""
    busy = set(taken)
    return [s for s in seats if s not in busy]


# --- visits ----------------------------------------------------------------------------------------

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


# --- working days --------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _indonesian_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("ID", years=year).keys())


def is_public_holiday(day: dt.date) -> bool:
    """An Indonesian public holiday (hari libur nasional), from the `holidays` package."""
    return day in _indonesian_holidays(day.year)


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday and not a public holiday."""
    return day.isoweekday() <= 5 and not is_public_holiday(day)


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The n-th working day after `day` (n = 0 gives `day` itself)."""
    current = day
    left = n
    while left > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    count = 0
    current = start
    while current < end:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count


@dataclass(frozen=True)
class SessionPlan:
    """One session of a slot plan (e.g. 08:00-12:00 quota 90)."""

    start: dt.time
    end: dt.time
    quota: int


MAX_PLAN_DAYS = 366


def plan_dates(
    date_from: dt.date, date_to: dt.date, weekdays: Iterable[int], sessions: Sequence[SessionPlan]
) -> tuple[list[dt.date], list[dt.date]]:
    """Dates of a slot plan and the public holidays skipped; refuses inconsistent plans."""
    if date_to < date_from:
        raise DomainError("invalid_slot_plan", reason="date_to is before date_from")
    if (date_to - date_from).days >= MAX_PLAN_DAYS:
        raise DomainError("range_too_long", max_days=MAX_PLAN_DAYS)
    ordered = sorted(sessions, key=lambda s: s.start)
    for s in ordered:
        if s.end <= s.start:
            raise DomainError("invalid_slot_plan", reason="a session ends before it starts")
    for a, b in itertools.pairwise(ordered):
        if b.start < a.end:
            raise DomainError("invalid_slot_plan", reason="sessions overlap")
    days = set(weekdays)
    dates: list[dt.date] = []
    skipped: list[dt.date] = []
    current = date_from
    while current <= date_to:
        if current.isoweekday() in days:
            (skipped if is_public_holiday(current) else dates).append(current)
        current += dt.timedelta(days=1)
    return dates, skipped


# --- arrival link ---------------------------------------------------------------------------------

Mac = Callable[[str], str]
"""A keyed hash (HMAC) of a message, hex; the key never leaves the service."""


def arrival_link_expiry(slot_date: dt.date, tz: str) -> dt.datetime:
    """An arrival link is valid until the end of the appointment day (office time)."""
    return day_bounds(slot_date, tz)[1]


def _arrival_message(receipt_number: str, expires_at: int) -> str:
    return f"{receipt_number}|{expires_at}"


def sign_arrival_token(receipt_number: str, expires_at: dt.datetime, mac: Mac) -> str:
    """`<expiry unix seconds>.<128-bit HMAC>`: the expiry is inside the signed message."""
    stamp = int(expires_at.timestamp())
    return f"{stamp}.{mac(_arrival_message(receipt_number, stamp))[:32]}"


def verify_arrival_token(receipt_number: str, token: str, now: dt.datetime, mac: Mac) -> None:
    """Refuse a forged token (403 invalid_token) or an expired one (410 link_expired)."""
    stamp_text, _, signature = token.partition(".")
    if not stamp_text.isdigit() or len(signature) != 32:
        raise DomainError("invalid_token")
    expected = mac(_arrival_message(receipt_number, int(stamp_text)))[:32]
    if not hmac.compare_digest(expected, signature):
        raise DomainError("invalid_token")
    if now.timestamp() >= int(stamp_text):
        raise DomainError("link_expired")


# --- report statistics ------------------------------------------------------------------------------


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
    return working_days_between(service_day, issued_day) <= target_working_days


# --- office reports ----------------------------------------------------------------------------------

CANCEL_REASONS = ("APPLICANT", "OFFICER", "BILL_EXPIRED")


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """What the queue's tables say about one office and period (stores/reports.py reads them; rows
    are read by attribute name)."""

    #: priority_category, service_type, passport_type, walk_in, status, slot_date
    applications: Sequence[Any]
    #: close_reason of the applications closed in the period by a cancellation
    cancel_reasons: Sequence[str]
    #: visits of the period: purpose, lane, channel, state, checked_in_at, first_called_at, claimed_at
    visits: Sequence[Any]
    #: completed stages of the period: stage, officer, started_at, ended_at
    completed_stages: Sequence[Any]
    #: passports issued in the period: receipt_number, issued_at, created_at
    issued: Sequence[Any]
    #: the first day each issued application was served at the office
    served_on: Mapping[str, dt.date]
    #: pickup_from of each passport ready and not collected by the end of the period
    pickups_pending_from: Sequence[dt.date]


def _span(a: dt.datetime, b: dt.datetime) -> float:
    return max(0.0, (b - a).total_seconds())


def office_report(
    facts: ReportFacts,
    *,
    office: str,
    tz: str,
    settings: OfficeSettings,
    first: dt.date,
    last: dt.date,
    now: dt.datetime,
    period: str,
) -> dict[str, Any]:
    """The figures of an office for the days first..last (office local time); definitions in
    stores/reports.py."""
    today = local_today(now, tz)
    apps = facts.applications
    by_lane: Counter[str] = Counter(lane_for(PriorityCategory(a.priority_category)).value for a in apps)
    did_not_come = sum(1 for a in apps if a.slot_date < today and Status(a.status) in NOT_YET_ARRIVED)
    cancellations: Counter[str] = Counter(facts.cancel_reasons)
    service_visits = [v for v in facts.visits if v.purpose == SERVICE]
    waits: dict[str, list[float]] = defaultdict(list)
    for v in facts.visits:
        started = v.first_called_at or v.claimed_at
        if started is not None:
            waits[v.lane].append(_span(v.checked_in_at, started))
    all_waits = [w for lane, values in waits.items() if lane != "PICKUP" for w in values]
    service_times: dict[str, list[float]] = defaultdict(list)
    sambang_by_officer: Counter[str] = Counter()
    for s in facts.completed_stages:
        service_times[s.stage].append(_span(s.started_at, s.ended_at))
        if s.stage == SAMBANG_STAGE:
            sambang_by_officer[s.officer] += 1
    target = settings.pickup_working_days
    issued = facts.issued
    within = sum(
        1
        for i in issued
        if within_target(
            facts.served_on.get(i.receipt_number, local_today(i.created_at, tz)), local_today(i.issued_at, tz), target
        )
    )
    pending = facts.pickups_pending_from
    return {
        "office": office,
        "period": period,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "generated_at": now.isoformat(),
        "applications": {
            "total": len(apps),
            "by_lane": dict(sorted(by_lane.items())),
            "by_service_type": dict(sorted(Counter(a.service_type for a in apps).items())),
            "by_passport_type": dict(sorted(Counter(a.passport_type for a in apps).items())),
            "by_priority_category": dict(sorted(Counter(a.priority_category for a in apps).items())),
        },
        "check_ins": {
            "total": len(service_visits),
            "by_lane": dict(sorted(Counter(v.lane for v in service_visits).items())),
            "walk_ins": sum(1 for v in service_visits if v.channel == "WALK_IN"),
        },
        "walk_ins": sum(1 for a in apps if a.walk_in),
        "no_shows": {
            "called_no_answer": sum(1 for v in service_visits if v.state == NO_SHOW),
            "did_not_come": did_not_come,
        },
        "cancellations": {
            "total": sum(cancellations.values()),
            **{r: cancellations.get(r, 0) for r in CANCEL_REASONS},
        },
        "waiting_time": {
            "all_service_lanes": duration_summary(all_waits),
            "by_lane": {lane: duration_summary(values) for lane, values in sorted(waits.items())},
        },
        "service_time_by_stage": {stage: duration_summary(values) for stage, values in sorted(service_times.items())},
        "sambang_visits_by_officer": dict(sorted(sambang_by_officer.items())),
        "issued_within_target": {
            "target_working_days": target,
            "issued": len(issued),
            "within_target": within,
            "share": round(within / len(issued), 3) if issued else None,
        },
        "pickups_pending": {
            "count": len(pending),
            "oldest_pickup_from": min(pending).isoformat() if pending else None,
        },
    }


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out.append((prefix, "" if value is None else value))


def report_csv(report: Mapping[str, Any]) -> str:
    """The report as CSV: one `metric,value` line per figure (e.g. `applications.by_lane.PRIORITY,12`)."""
    rows: list[tuple[str, Any]] = []
    _flatten("", dict(report), rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "value"])
    writer.writerows(rows)
    return buffer.getvalue()
