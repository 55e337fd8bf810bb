"""Offices, their rules and their slots (API.md queue rows 1-4)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfoNotFoundError

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sambang_contracts import OfficeSettings
from sambang_contracts.values import Text
from sambang_runtime.auth import Principal
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep
from sambang_runtime.uow import UnitOfWork

from ..domain.calendar import MAX_PLAN_DAYS, SessionPlan, plan_dates
from ..domain.times import booking_window, local_today, zone
from ..stores import offices, trail
from ..usecases.offices import save_office_settings
from .deps import Admin, ContextDep, SettingsReader, Supervisor, officer_of_office
from .schemas import OfficePath, Strict

router = APIRouter(prefix="/v1/offices", tags=["offices"])


class OfficeRulesIn(OfficeSettings):
    """The office's rules as a request gives them: every rule validated with its bounds, and a key the
    rules do not have kept aside (`model_extra`) so it is refused by name instead of silently dropped
    (a mistyped rule, or one of a newer version)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def known(self) -> dict[str, object]:
        """The rules given, by name; 422 `unknown_setting` naming every key that is not a rule."""
        if self.model_extra:
            raise DomainError("unknown_setting", keys=sorted(self.model_extra))
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


class OfficeSettingsIn(Strict):
    """`PUT /v1/offices/{office}/settings`: all the rules (a rule left out takes its default); name and
    time zone are needed only for a new office."""

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    timezone: Text | None = Field(default=None, min_length=1, max_length=64)
    settings: OfficeRulesIn = Field(default_factory=OfficeRulesIn)


class OfficeSettingsPatchIn(Strict):
    """`PATCH /v1/offices/{office}/settings`: only the rules given change, the others stay as they are;
    name and time zone likewise."""

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    timezone: Text | None = Field(default=None, min_length=1, max_length=64)
    settings: OfficeRulesIn = Field(default_factory=OfficeRulesIn)


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


class OfficeListed(BaseModel):
    """An office in the public list."""

    code: str
    name: str
    timezone: str


class OfficeView(BaseModel):
    """An office with its rules."""

    office: str
    name: str
    timezone: str
    settings: OfficeSettings


class SlotPlanOutcome(BaseModel):
    """What a slot plan did."""

    created: int
    updated: int
    unchanged: int
    skipped_holidays: list[dt.date]


class SlotListed(BaseModel):
    """A slot with its free places."""

    slot_id: int
    date: dt.date
    start: dt.time
    end: dt.time
    quota: int
    available: int
    bookable: bool


@router.get("")
async def list_offices(uow: UowDep) -> list[OfficeListed]:
    """Offices: code, name, time zone."""
    return [OfficeListed(code=r.code, name=r.name, timezone=r.timezone) for r in await offices.all_offices(uow)]


@router.get("/{office_code}/settings")
async def get_settings(office_code: OfficePath, principal: SettingsReader, ctx: ContextDep, uow: UowDep) -> OfficeView:
    """The office's rules, each with its default."""
    officer_of_office(principal, office_code)
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    return OfficeView(office=info.code, name=info.name, timezone=info.timezone, settings=info.settings)


def _office_code(office_code: str) -> str:
    code = office_code.upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise DomainError("office_not_found")
    return code


def _check_timezone(timezone: str) -> None:
    try:
        zone(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError("invalid_timezone") from None


async def _save(
    uow: UnitOfWork, principal: Principal, code: str, name: str, timezone: str, settings: OfficeSettings
) -> OfficeView:
    """Store and publish the office's rules (`queue.office.updated`), audited, committed."""
    _check_timezone(timezone)
    now = uow.now()
    await save_office_settings(uow, code, name, timezone, settings, now)
    await trail.add_audit(uow, principal, "office.settings_updated", now, detail=settings.model_dump(mode="json"))
    await uow.commit()
    return OfficeView(office=code, name=name, timezone=timezone, settings=settings)


@router.put("/{office_code}/settings")
async def put_settings(
    office_code: OfficePath, body: OfficeSettingsIn, principal: Admin, ctx: ContextDep, uow: UowDep
) -> OfficeView:
    """Store all the office's rules (one left out takes its default) and publish them
    (`queue.office.updated`) for every service's copy; an unknown rule: 422 `unknown_setting`, nothing
    changed."""
    officer_of_office(principal, office_code)
    code = _office_code(office_code)
    settings = OfficeSettings.model_validate(body.settings.known())
    ctx.offices.forget(code)
    current = await offices.find_office(uow, ctx.offices, code)
    name = body.name or (current.name if current else None)
    timezone = body.timezone or (current.timezone if current else None)
    if name is None or timezone is None:
        raise DomainError("office_name_required")
    return await _save(uow, principal, code, name, timezone, settings)


@router.patch("/{office_code}/settings")
async def patch_settings(
    office_code: OfficePath, body: OfficeSettingsPatchIn, principal: Admin, ctx: ContextDep, uow: UowDep
) -> OfficeView:
    """Change only the rules given (the others stay as they are) and publish the whole, merged, as
    `queue.office.updated`; an unknown rule: 422 `unknown_setting`, nothing changed; an unknown office:
    404 (PUT creates offices)."""
    officer_of_office(principal, office_code)
    code = _office_code(office_code)
    changes = body.settings.known()
    ctx.offices.forget(code)
    # Row-locked: two changes of different rules at once must not each put back the other's old value.
    current = await offices.lock_office(uow, code)
    if current is None:
        raise DomainError("office_not_found")
    settings = OfficeSettings.model_validate({**current.settings.model_dump(), **changes})
    return await _save(uow, principal, code, body.name or current.name, body.timezone or current.timezone, settings)


@router.put("/{office_code}/slots")
async def put_slots(
    office_code: OfficePath, body: SlotPlanIn, principal: Supervisor, ctx: ContextDep, uow: UowDep
) -> SlotPlanOutcome:
    """Create each listed session on each matching date or set its quota; holidays skipped; idempotent."""
    officer_of_office(principal, office_code)
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    if any(not 1 <= d <= 7 for d in body.weekdays):
        raise DomainError("invalid_slot_plan", reason="weekdays are ISO numbers 1-7")
    now = uow.now()
    if body.date_from < local_today(now, info.timezone):
        raise DomainError("date_in_past")
    plans = [SessionPlan(s.start, s.end, s.quota) for s in body.sessions]
    dates, skipped = plan_dates(body.date_from, body.date_to, body.weekdays, plans)
    outcome = await offices.apply_slot_plan(
        uow, info.code, dates, [(p.start, p.end, p.quota) for p in plans], skipped, now
    )
    await trail.add_audit(
        uow,
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
    return SlotPlanOutcome(
        created=outcome.created,
        updated=outcome.updated,
        unchanged=outcome.unchanged,
        skipped_holidays=outcome.skipped_holidays,
    )


@router.get("/{office_code}/slots")
async def get_slots(
    office_code: OfficePath,
    ctx: ContextDep,
    uow: UowDep,
    date_from: dt.date | None = Query(default=None, alias="from"),
    date_to: dt.date | None = Query(default=None, alias="to"),
) -> list[SlotListed]:
    """Slots with their free places; by default the office's booking window."""
    info = await offices.office_or_404(uow, ctx.offices, office_code)
    first, last = booking_window(local_today(uow.now(), info.timezone), info.settings)
    start = date_from or first
    end = date_to or last
    if end < start or (end - start).days >= MAX_PLAN_DAYS:
        raise DomainError("range_too_long" if end >= start else "invalid_period")
    return [
        SlotListed(
            slot_id=s.id,
            date=s.date,
            start=s.start,
            end=s.end,
            quota=s.quota,
            available=max(0, s.quota - s.booked),
            bookable=first <= s.date <= last and s.booked < s.quota,
        )
        for s in await offices.slots_between(uow, info.code, start, end)
    ]
