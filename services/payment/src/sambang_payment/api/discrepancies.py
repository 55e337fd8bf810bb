"""Discrepancies for the office supervisor to resolve."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sambang_runtime.auth import ensure_office
from sambang_runtime.errors import DomainError

from ..domain.offices import local_day_bounds
from ..stores.discrepancies import discrepancies_between
from ..stores.offices import office_rules
from .deps import ContextDep, SupervisorDep, UowDep

router = APIRouter(prefix="/v1/discrepancies", tags=["discrepancies"])


class DiscrepancyOut(BaseModel):
    """One discrepancy."""

    id: int
    kind: str
    receipt_number: str | None
    billing_code: str
    ntpn: str | None
    amount: int | None
    detail: str
    source: str
    partner: str | None
    detected_at: dt.datetime


class DiscrepancyList(BaseModel):
    """An office's discrepancies between two office-local dates (inclusive)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    office: str
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    items: list[DiscrepancyOut]


@router.get("")
async def list_discrepancies(
    uow: UowDep,
    principal: SupervisorDep,
    context: ContextDep,
    office: Annotated[str | None, Query(pattern=r"^[A-Za-z]{3}$", description="The supervisor's own office")] = None,
    date_from: Annotated[dt.date | None, Query(alias="from")] = None,
    date_to: Annotated[dt.date | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> DiscrepancyList:
    """Discrepancies of the supervisor's office detected between two office-local dates (inclusive)."""
    ensure_office(principal, office or principal.office)
    office = principal.office
    rules = await office_rules(uow, office, context.default_timezone)
    today = uow.now().astimezone(rules.timezone).date()
    first = date_from or today - dt.timedelta(days=30)
    last = date_to or today
    if last < first:
        raise DomainError("invalid_range")
    start, end = local_day_bounds([first, last], rules.timezone)
    found = await discrepancies_between(uow, office=office, start=start, end=end, limit=limit)
    items = [
        DiscrepancyOut(
            id=r.id,
            kind=d.kind.value,
            receipt_number=d.receipt_number,
            billing_code=d.billing_code,
            ntpn=d.ntpn,
            amount=d.amount,
            detail=d.detail,
            source=d.source.value,
            partner=d.partner_id,
            detected_at=r.detected_at,
        )
        for r in found
        for d in [r.discrepancy]
    ]
    return DiscrepancyList(office=office, date_from=first, date_to=last, items=items)
