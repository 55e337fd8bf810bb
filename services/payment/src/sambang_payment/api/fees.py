"""The fee schedule (tarif PNBP): public reading, national admin loading."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sambang_runtime.errors import DomainError
from sambang_runtime.logs import get_logger

from ..domain.fees import FeeScheduleDocument, schedule_on
from ..domain.offices import zone
from ..stores import schedules
from ..stores.audit import AuditAction, add_audit
from .deps import ContextDep, NationalAdminDep, UowDep

log = get_logger(__name__)

router = APIRouter(prefix="/v1/fees", tags=["fees"])


class UpcomingSchedule(BaseModel):
    """A schedule loaded to take effect later."""

    name: str
    effective_from: dt.date


class FeeScheduleInForce(FeeScheduleDocument):
    """The schedule in force on a date, and any loaded for later."""

    on: dt.date
    upcoming: list[UpcomingSchedule]


class ScheduleLoaded(BaseModel):
    """A schedule taken in."""

    name: str
    effective_from: dt.date


@router.get("")
async def read_fee_schedule(
    uow: UowDep,
    context: ContextDep,
    on: Annotated[dt.date | None, Query(description="Date (YYYY-MM-DD); today in Indonesia by default")] = None,
) -> FeeScheduleInForce:
    """The fee schedule (tarif PNBP) in force on a date, and any schedule loaded for later."""
    day = on or uow.now().astimezone(zone(context.default_timezone)).date()
    loaded = await schedules.all_schedules(uow)
    current = schedule_on(loaded, day)
    if current is None:
        raise DomainError("no_fee_schedule")
    upcoming = [
        UpcomingSchedule(name=s.name, effective_from=s.effective_from) for s in loaded if s.effective_from > day
    ]
    return FeeScheduleInForce(**current.model_dump(), on=day, upcoming=upcoming)


@router.put("", status_code=201)
async def load_fee_schedule(
    document: FeeScheduleDocument, uow: UowDep, principal: NationalAdminDep, context: ContextDep
) -> ScheduleLoaded:
    """Load a new fee schedule from today or a later date; bills already issued keep their amounts.
    National admins only (fees are national; an office ``admin`` cannot)."""
    now = uow.now()
    if document.effective_from < now.astimezone(zone(context.default_timezone)).date():
        raise DomainError("effective_date_in_past")
    if not await schedules.add_schedule(uow, document, loaded_by=principal.sub, now=now):
        raise DomainError("schedule_exists")
    loaded = {"name": document.name, "effective_from": document.effective_from.isoformat()}
    await add_audit(uow, principal, AuditAction.FEE_SCHEDULE_LOADED, at=now, detail=loaded)
    await uow.commit()
    log.info("fees.schedule_loaded", name=document.name, effective_from=document.effective_from.isoformat())
    return ScheduleLoaded(name=document.name, effective_from=document.effective_from)
