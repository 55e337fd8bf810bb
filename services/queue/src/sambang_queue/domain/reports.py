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
from .statistics import duration_summary, within_target
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
