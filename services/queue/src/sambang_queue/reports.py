"""Office figures for a period, computed from the queue's own tables.

Definitions (documented because the head of office compares them month to month):

- applications: pre-applications whose appointment day falls in the period (walk-ins: the day they came).
- check-ins: service visits (not pickups) that started in the period; walk-ins are those registered on the spot.
- no-shows: tickets that did not answer the calls (`called_no_answer`), plus bookings whose day has
  passed without a check-in (`did_not_come`).
- cancellations: applications closed in the period by the applicant, an officer or bill expiry.
- waiting time: from check-in to the first call at a counter or the claim by a sambang officer.
- service time per stage: from the first call (or claim) of a stage to its completion.
- issued within target: passports issued in the period whose issuance came at most
  `pickup_working_days` working days (weekends and Indonesian public holidays skipped) after the
  day the applicant was served at the office (check-in day).
- pickups pending: passports issued and ready (pickup_from reached by the end of the period) but
  not yet collected, at the time of the report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from typing import Any

from sambang_contracts import PriorityCategory
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from .domain import (
    NOT_YET_ARRIVED,
    Status,
    day_bounds,
    duration_summary,
    lane_for,
    local_today,
    within_target,
)
from .models import application, visit, visit_stage
from .offices import OfficeInfo
from .visits import NO_SHOW, SERVICE

_CANCEL_REASONS = ("APPLICANT", "OFFICER", "BILL_EXPIRED")


def _seconds(a: dt.datetime, b: dt.datetime) -> float:
    return max(0.0, (b - a).total_seconds())


async def build_report(
    conn: AsyncConnection, info: OfficeInfo, first: dt.date, last: dt.date, now: dt.datetime, *, period: str
) -> dict[str, Any]:
    """The figures of an office for the days first..last (office local time)."""
    tz = info.timezone
    start_utc = day_bounds(first, tz)[0]
    end_utc = day_bounds(last, tz)[1]
    today = local_today(now, tz)

    apps = (
        await conn.execute(
            select(
                application.c.priority_category,
                application.c.service_type,
                application.c.passport_type,
                application.c.walk_in,
                application.c.status,
                application.c.slot_date,
            ).where(application.c.office == info.code, application.c.slot_date.between(first, last))
        )
    ).all()
    by_lane: Counter[str] = Counter(lane_for(PriorityCategory(a.priority_category)).value for a in apps)
    did_not_come = sum(1 for a in apps if a.slot_date < today and Status(a.status) in NOT_YET_ARRIVED)

    closed = (
        await conn.execute(
            select(application.c.close_reason).where(
                application.c.office == info.code,
                application.c.closed_at >= start_utc,
                application.c.closed_at < end_utc,
                application.c.close_reason.in_(_CANCEL_REASONS),
            )
        )
    ).scalars()
    cancellations: Counter[str] = Counter(closed)

    visits = (
        await conn.execute(select(visit).where(visit.c.office == info.code, visit.c.day.between(first, last)))
    ).all()
    service_visits = [v for v in visits if v.purpose == SERVICE]
    waits: dict[str, list[float]] = defaultdict(list)
    for v in visits:
        started = v.first_called_at or v.claimed_at
        if started is not None:
            waits[v.lane].append(_seconds(v.checked_in_at, started))
    all_waits = [w for lane, values in waits.items() if lane != "PICKUP" for w in values]

    stages = (
        await conn.execute(
            select(visit_stage).where(
                visit_stage.c.office == info.code,
                visit_stage.c.day.between(first, last),
                visit_stage.c.outcome == "COMPLETED",
            )
        )
    ).all()
    service_times: dict[str, list[float]] = defaultdict(list)
    sambang_by_officer: Counter[str] = Counter()
    for s in stages:
        service_times[s.stage].append(_seconds(s.started_at, s.ended_at))
        if s.stage == "SAMBANG":
            sambang_by_officer[s.officer] += 1

    issued = (
        await conn.execute(
            select(application.c.receipt_number, application.c.issued_at, application.c.created_at).where(
                application.c.office == info.code,
                application.c.issued_at >= start_utc,
                application.c.issued_at < end_utc,
            )
        )
    ).all()
    served_on: dict[str, dt.date] = {}
    if issued:
        rows = (
            await conn.execute(
                select(visit.c.receipt_number, visit.c.day).where(
                    visit.c.receipt_number.in_([i.receipt_number for i in issued]), visit.c.purpose == SERVICE
                )
            )
        ).all()
        for r in rows:
            served_on[r.receipt_number] = min(r.day, served_on.get(r.receipt_number, r.day))
    target = info.settings.pickup_working_days
    within = sum(
        1
        for i in issued
        if within_target(
            served_on.get(i.receipt_number, local_today(i.created_at, tz)), local_today(i.issued_at, tz), target
        )
    )

    pending = (
        (
            await conn.execute(
                select(application.c.pickup_from).where(
                    application.c.office == info.code,
                    application.c.status == Status.ISSUED.value,
                    application.c.pickup_from <= last,
                )
            )
        )
        .scalars()
        .all()
    )

    return {
        "office": info.code,
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
            **{r: cancellations.get(r, 0) for r in _CANCEL_REASONS},
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


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV: one `metric,value` line per figure (e.g. `applications.by_lane.PRIORITY,12`)."""
    rows: list[tuple[str, Any]] = []
    _flatten("", report, rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "value"])
    writer.writerows(rows)
    return buffer.getvalue()
