"""The office report's figures and their CSV form (stores/reports.py reads the facts)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sambang_contracts import OfficeSettings, PriorityCategory

from .lanes import SAMBANG_STAGE, lane_for
from .statistics import duration_summary, percentile, within_target
from .status import NOT_YET_ARRIVED, Status
from .times import local_today
from .visits import NO_SHOW, SERVICE

CANCEL_REASONS = ("APPLICANT", "OFFICER", "BILL_EXPIRED")


@dataclass(frozen=True, slots=True)
class ApplicationFact:
    """An application whose appointment day falls in the period."""

    priority_category: str
    service_type: str
    passport_type: str
    walk_in: bool
    status: str
    slot_date: dt.date
    #: whether the reminder the day before reached the applicant
    reminder_sent: bool


@dataclass(frozen=True, slots=True)
class VisitFact:
    """A visit of the period."""

    purpose: str
    lane: str
    channel: str
    state: str
    checked_in_at: dt.datetime
    first_called_at: dt.datetime | None
    claimed_at: dt.datetime | None
    #: the estimated wait given with the ticket (minutes), None when none was given
    estimate_low_minutes: int | None
    estimate_high_minutes: int | None


@dataclass(frozen=True, slots=True)
class StageFact:
    """A stage of a visit completed in the period."""

    stage: str
    officer: str
    started_at: dt.datetime
    ended_at: dt.datetime


@dataclass(frozen=True, slots=True)
class IssuedFact:
    """A passport issued in the period."""

    receipt_number: str
    issued_at: dt.datetime
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """What the queue's tables say about one office and period (stores/reports.py reads them)."""

    applications: Sequence[ApplicationFact]
    #: close_reason of the applications closed in the period by a cancellation
    cancel_reasons: Sequence[str]
    visits: Sequence[VisitFact]
    completed_stages: Sequence[StageFact]
    issued: Sequence[IssuedFact]
    #: the first day each issued application was served at the office
    served_on: Mapping[str, dt.date]
    #: pickup_from of each passport ready and not collected by the end of the period
    pickups_pending_from: Sequence[dt.date]


def _span(a: dt.datetime, b: dt.datetime) -> float:
    return max(0.0, (b - a).total_seconds())


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def estimate_accuracy(visits: Sequence[VisitFact]) -> dict[str, Any]:
    """How the estimated waits given with the tickets came out, over the tickets that had one and were
    called (or claimed): the error is the actual wait (check-in to the first call) minus the middle of
    the range, in minutes; p50 and p90 of its absolute value, its median (positive: people waited
    longer than said), and how many actual waits fell within the range given."""
    errors: list[float] = []
    within = 0
    for v in visits:
        started = v.first_called_at or v.claimed_at
        if v.estimate_low_minutes is None or v.estimate_high_minutes is None or started is None:
            continue
        actual = _span(v.checked_in_at, started) / 60
        errors.append(actual - (v.estimate_low_minutes + v.estimate_high_minutes) / 2)
        within += v.estimate_low_minutes <= actual <= v.estimate_high_minutes
    absolute = [abs(e) for e in errors]
    return {
        "estimated": len(errors),
        "abs_error_p50_minutes": _minutes(percentile(absolute, 50)),
        "abs_error_p90_minutes": _minutes(percentile(absolute, 90)),
        "median_error_minutes": _minutes(percentile(errors, 50)),
        "within_range": within,
        "within_range_share": round(within / len(errors), 3) if errors else None,
    }


#: Closed before the day without coming to it: not an appointment the applicant missed.
_WITHDRAWN = frozenset({Status.CANCELLED, Status.EXPIRED})


def no_shows_by_reminder(apps: Sequence[ApplicationFact], today: dt.date) -> dict[str, Any]:
    """No-shows among booked appointments (walk-ins have none) with and without the reminder the day
    before: an appointment is one not cancelled or expired whose outcome is known (its day has passed,
    or the applicant came); a no-show is one whose day passed without a check-in, or whose ticket did
    not answer the calls."""
    counts = {True: [0, 0], False: [0, 0]}  # reminded -> [appointments, no-shows]
    for a in apps:
        status = Status(a.status)
        if a.walk_in or status in _WITHDRAWN:
            continue
        not_come = status in NOT_YET_ARRIVED
        if not_come and a.slot_date >= today:
            continue  # its day has not passed yet
        group = counts[a.reminder_sent]
        group[0] += 1
        group[1] += not_come or status == Status.NO_SHOW
    return {
        key: {"appointments": n, "no_shows": missed, "share": round(missed / n, 3) if n else None}
        for key, (n, missed) in (("with_reminder", counts[True]), ("without_reminder", counts[False]))
    }


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
        "wait_estimates": estimate_accuracy(facts.visits),
        "no_shows_by_reminder": no_shows_by_reminder(apps, today),
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
