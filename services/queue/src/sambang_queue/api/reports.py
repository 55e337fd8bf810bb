"""Office reports for the supervisor and the head of office (Anev meetings): daily and monthly, JSON or CSV."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sambang_contracts.values import Text
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep

from ..domain.reports import office_report, report_csv
from ..stores import offices, reports
from .deps import ContextDep, ReportReader, officer_of_office
from .schemas import Instant, OfficePath

router = APIRouter(prefix="/v1/offices", tags=["reports"])


class DurationSummary(BaseModel):
    """Count, average and 90th percentile of durations, in minutes."""

    count: int
    avg_minutes: float | None
    p90_minutes: float | None


class ApplicationFigures(BaseModel):
    """Pre-applications whose appointment day falls in the period."""

    total: int
    by_lane: dict[str, int]
    by_service_type: dict[str, int]
    by_passport_type: dict[str, int]
    by_priority_category: dict[str, int]


class CheckInFigures(BaseModel):
    """Service visits that started in the period."""

    total: int
    by_lane: dict[str, int]
    walk_ins: int


class NoShowFigures(BaseModel):
    """Tickets not answering the calls, and bookings whose day passed without a check-in."""

    called_no_answer: int
    did_not_come: int


class CancellationFigures(BaseModel):
    """Applications closed in the period, by who closed them."""

    model_config = ConfigDict(populate_by_name=True)

    total: int
    applicant: int = Field(alias="APPLICANT")
    officer: int = Field(alias="OFFICER")
    bill_expired: int = Field(alias="BILL_EXPIRED")


class WaitingFigures(BaseModel):
    """From check-in to the first call or claim."""

    all_service_lanes: DurationSummary
    by_lane: dict[str, DurationSummary]


class TargetFigures(BaseModel):
    """Passports issued in the period within the office's target of working days."""

    target_working_days: int
    issued: int
    within_target: int
    share: float | None


class PendingPickups(BaseModel):
    """Passports ready and not yet collected."""

    count: int
    oldest_pickup_from: dt.date | None


class EstimateFigures(BaseModel):
    """How the estimated waits given with the tickets came out (actual wait - middle of the range)."""

    #: tickets given an estimate and since called or claimed
    estimated: int
    abs_error_p50_minutes: float | None
    abs_error_p90_minutes: float | None
    #: positive: people waited longer than the middle of what they were told
    median_error_minutes: float | None
    #: actual waits within the range given
    within_range: int
    within_range_share: float | None


class ReminderGroup(BaseModel):
    """Appointments of a group and how many of them were no-shows."""

    appointments: int
    no_shows: int
    share: float | None


class ReminderFigures(BaseModel):
    """No-shows with and without the reminder the day before."""

    with_reminder: ReminderGroup
    without_reminder: ReminderGroup


class Report(BaseModel):
    """The figures of an office for a period (definitions in stores/reports.py)."""

    model_config = ConfigDict(populate_by_name=True)

    office: str
    period: str
    from_: dt.date = Field(alias="from")
    to: dt.date
    generated_at: Instant
    applications: ApplicationFigures
    check_ins: CheckInFigures
    walk_ins: int
    no_shows: NoShowFigures
    cancellations: CancellationFigures
    waiting_time: WaitingFigures
    service_time_by_stage: dict[str, DurationSummary]
    sambang_visits_by_officer: dict[str, int]
    issued_within_target: TargetFigures
    pickups_pending: PendingPickups
    wait_estimates: EstimateFigures
    no_shows_by_reminder: ReminderFigures


_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV with Accept: text/csv"}
}


def _answer(request: Request, report: dict[str, Any], name: str) -> Report | Response:
    if "text/csv" in request.headers.get("accept", ""):
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Report.model_validate(report)


@router.get("/{office_code}/reports/daily", response_model=Report, responses=_CSV)
async def daily_report(
    office_code: OfficePath,
    request: Request,
    principal: ReportReader,
    ctx: ContextDep,
    uow: UowDep,
    date: dt.date = Query(),
) -> Report | Response:
    """The figures of one day."""
    officer_of_office(principal, office_code)
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    facts = await reports.report_facts(uow, info.code, info.timezone, date, date)
    report = office_report(
        facts,
        office=info.code,
        tz=info.timezone,
        settings=info.settings,
        first=date,
        last=date,
        now=uow.now(),
        period=date.isoformat(),
    )
    return _answer(request, report, f"report-{info.code}-{date.isoformat()}")


@router.get("/{office_code}/reports/monthly", response_model=Report, responses=_CSV)
async def monthly_report(
    office_code: OfficePath,
    request: Request,
    principal: ReportReader,
    ctx: ContextDep,
    uow: UowDep,
    month: Annotated[Text, Query(max_length=32)],
) -> Report | Response:
    """The figures of one month (`month=YYYY-MM`)."""
    officer_of_office(principal, office_code)
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise DomainError("invalid_period") from None
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    facts = await reports.report_facts(uow, info.code, info.timezone, first, last)
    report = office_report(
        facts,
        office=info.code,
        tz=info.timezone,
        settings=info.settings,
        first=first,
        last=last,
        now=uow.now(),
        period=month,
    )
    return _answer(request, report, f"report-{info.code}-{month}")
