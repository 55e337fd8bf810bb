"""Offices, their rules and their slots (API.md queue rows 1-4)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from fastapi import APIRouter, Query
from pydantic import Field
from sambang_contracts import OfficeSettings, OfficeUpdated
from sambang_runtime.service import UowDep
from sqlalchemy import select

from ..domain import MAX_PLAN_DAYS, SessionPlan, booking_window, local_today, plan_dates, zone
from ..errors import problem
from ..models import office, slot
from ..offices import apply_slot_plan, save_office
from ..trail import add_audit
from .deps import Admin, Conn, Ctx, Supervisor, office_or_404, officer_of_office
from .schemas import Strict

router = APIRouter(prefix="/v1/offices", tags=["offices"])


class OfficeSettingsIn(Strict):
    """`PUT /v1/offices/{office}/settings`: name and time zone are needed only for a new office."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    settings: OfficeSettings = Field(default_factory=OfficeSettings)


class SessionIn(Strict):
    """One session of a day, in office local time."""

    start: dt.time
    end: dt.time
    quota: int = Field(ge=0, le=10_000)


class SlotPlanIn(Strict):
    """`PUT /v1/offices/{office}/slots`."""

    date_from: dt.date
    date_to: dt.date
    weekdays: list[int] = Field(default=[1, 2, 3, 4, 5], min_length=1, max_length=7)
    sessions: list[SessionIn] = Field(min_length=1, max_length=12)


def _office_view(code: str, name: str, timezone: str, settings: dict[str, Any]) -> dict[str, Any]:
    return {"office": code, "name": name, "timezone": timezone, "settings": settings}


@router.get("")
async def list_offices(conn: Conn) -> list[dict[str, str]]:
    """Offices: code, name, time zone."""
    rows = (await conn.execute(select(office.c.code, office.c.name, office.c.timezone).order_by(office.c.code))).all()
    return [{"code": r.code, "name": r.name, "timezone": r.timezone} for r in rows]


@router.get("/{office_code}/settings")
async def get_settings(office_code: str, principal: Supervisor, ctx: Ctx, conn: Conn) -> dict[str, Any]:
    """The office's rules, each with its default."""
    officer_of_office(principal, office_code)
    info = await office_or_404(ctx, conn, office_code)
    return _office_view(info.code, info.name, info.timezone, info.settings.model_dump(mode="json"))


@router.put("/{office_code}/settings")
async def put_settings(
    office_code: str, body: OfficeSettingsIn, principal: Admin, ctx: Ctx, conn: Conn, uow: UowDep
) -> dict[str, Any]:
    """Store the office's rules and publish them (`queue.office.updated`) for every service's copy."""
    officer_of_office(principal, office_code)
    code = office_code.upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise problem("office_not_found")
    ctx.offices.forget(code)
    current = await ctx.offices.office(conn, code)
    name = body.name or (current.name if current else None)
    timezone = body.timezone or (current.timezone if current else None)
    if name is None or timezone is None:
        raise problem("office_name_required")
    try:
        zone(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise problem("invalid_timezone") from None
    now = ctx.now()
    await save_office(conn, code, name, timezone, body.settings, now)
    await add_audit(conn, principal, "office.settings_updated", now, detail=body.settings.model_dump(mode="json"))
    uow.emit(OfficeUpdated(office=code, name=name, timezone=timezone, settings=body.settings), office=code)
    await uow.commit()
    ctx.offices.forget(code)
    return _office_view(code, name, timezone, body.settings.model_dump(mode="json"))


@router.put("/{office_code}/slots")
async def put_slots(
    office_code: str, body: SlotPlanIn, principal: Supervisor, ctx: Ctx, conn: Conn, uow: UowDep
) -> dict[str, Any]:
    """Create each listed session on each matching date or set its quota; holidays skipped; idempotent."""
    officer_of_office(principal, office_code)
    info = await office_or_404(ctx, conn, office_code)
    if any(not 1 <= d <= 7 for d in body.weekdays):
        raise problem("invalid_slot_plan", extra={"reason": "weekdays are ISO numbers 1-7"})
    now = ctx.now()
    if body.date_from < local_today(now, info.timezone):
        raise problem("date_in_past")
    plans = [SessionPlan(s.start, s.end, s.quota) for s in body.sessions]
    dates, skipped = plan_dates(body.date_from, body.date_to, body.weekdays, plans)
    outcome = await apply_slot_plan(conn, info.code, dates, [(p.start, p.end, p.quota) for p in plans], skipped, now)
    await add_audit(
        conn,
        principal,
        "office.slots_planned",
        now,
        detail={
            "date_from": body.date_from.isoformat(),
            "date_to": body.date_to.isoformat(),
            "weekdays": body.weekdays,
            "sessions": [{"start": p.start.isoformat(), "end": p.end.isoformat(), "quota": p.quota} for p in plans],
        },
    )
    await uow.commit()
    return {
        "created": outcome.created,
        "updated": outcome.updated,
        "unchanged": outcome.unchanged,
        "skipped_holidays": [d.isoformat() for d in outcome.skipped_holidays],
    }


@router.get("/{office_code}/slots")
async def get_slots(
    office_code: str,
    ctx: Ctx,
    conn: Conn,
    date_from: dt.date | None = Query(default=None, alias="from"),
    date_to: dt.date | None = Query(default=None, alias="to"),
) -> list[dict[str, Any]]:
    """Slots with their free places; by default the office's booking window."""
    info = await office_or_404(ctx, conn, office_code)
    first, last = booking_window(local_today(ctx.now(), info.timezone), info.settings)
    start = date_from or first
    end = date_to or last
    if end < start or (end - start).days >= MAX_PLAN_DAYS:
        raise problem("range_too_long" if end >= start else "invalid_period")
    rows = (
        await conn.execute(
            select(slot)
            .where(slot.c.office == info.code, slot.c.date >= start, slot.c.date <= end)
            .order_by(slot.c.date, slot.c.start)
        )
    ).all()
    return [
        {
            "slot_id": r.id,
            "date": r.date,
            "start": r.start,
            "end": r.end,
            "quota": r.quota,
            "available": max(0, r.quota - r.booked),
            "bookable": first <= r.date <= last and r.booked < r.quota,
        }
        for r in rows
    ]
