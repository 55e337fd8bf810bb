"""The daily purge report: how many biometrics retention deleted at an office on a day, how many are due."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sambang_runtime.auth import ensure_office
from sambang_runtime.service import UowDep

from ..usecases import retention as usecase
from .deps import ContextDep, OfficeHead

router = APIRouter(prefix="/v1/captures", tags=["retention"])


class PurgeReportOut(BaseModel):
    """One office's day of retention (the day and its bounds at the office's time zone)."""

    office: str
    date: dt.date
    timezone: str
    deleted: int = Field(description="Applications whose biometrics were crypto-shredded that day")
    due: int = Field(
        description="Applications with biometrics stored, due for deletion by the end of that day (overdue included)"
    )
    next_due_at: dt.datetime | None = Field(description="The next deadline after that day (none scheduled: null)")


@router.get("/purge-report", response_model=PurgeReportOut)
async def purge_report(
    head: OfficeHead,
    office: Annotated[str, Query(pattern=r"^[A-Z]{3}$", description="The office code")],
    uow: UowDep,
    ctx: ContextDep,
    date: Annotated[dt.date | None, Query(description="The office's calendar day (today by default)")] = None,
) -> PurgeReportOut:
    """The daily purge report of an office for its supervisor or head of office (the loop's counter
    ``sambang_capture_biometrics_purged_total`` says the same to monitoring)."""
    ensure_office(head, office)
    report = await usecase.purge_report(uow, office, date, ctx.default_office_rules)
    return PurgeReportOut(
        office=report.office,
        date=report.date,
        timezone=report.timezone,
        deleted=report.deleted,
        due=report.due,
        next_due_at=report.next_due_at,
    )
