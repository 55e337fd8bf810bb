"""Bills: the applicant proves the receipt with a birth date; officers of the office need not."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sambang_runtime.auth import ensure_office
from sambang_runtime.errors import DomainError
from sambang_runtime.problems import ProblemError

from ..stores import bills
from .deps import OFFICER_ROLES, OptionalPrincipal, UowDep, public_lookup_limit

router = APIRouter(prefix="/v1/bills", tags=["bills"])


class BillItemOut(BaseModel):
    """One line of a bill."""

    code: str
    description: str
    amount: int


class BillOut(BaseModel):
    """A bill. ``priority``, ``validity_years`` and ``schedule`` are shown to officers only."""

    receipt_number: str
    office: str
    billing_code: str
    amount: int
    items: list[BillItemOut]
    status: str = Field(description="UNPAID, PAID, EXPIRED or VOID")
    issued_at: dt.datetime
    expires_at: dt.datetime
    paid_at: dt.datetime | None
    ntpn: str | None
    priority: bool | None = Field(default=None, description="officers only")
    validity_years: int | None = Field(default=None, description="officers only")
    schedule: str | None = Field(default=None, description="officers only")


def _not_found() -> ProblemError:
    # Wrong birth date and unknown receipt answer alike, word for word.
    return ProblemError.common(404, "not_found")


# Fields an applicant's answer leaves out (unset), rather than showing them as null.
@router.get("/{receipt_number}", response_model_exclude_unset=True)
async def read_bill(
    receipt_number: str,
    request: Request,
    uow: UowDep,
    principal: OptionalPrincipal,
    birth_date: Annotated[dt.date | None, Query(description="The applicant's birth date (public callers)")] = None,
) -> BillOut:
    """A bill: applicants prove the receipt with their birth date; officers of the office need not."""
    officer = principal is not None and principal.has_any(*OFFICER_ROLES) and birth_date is None
    if not officer:
        # Counted before any lookup, so guessing birth dates is slow whatever the answers are.
        await public_lookup_limit(request, uow)
        if birth_date is None:
            raise DomainError("birth_date_required")
    bill = await bills.bill_by_receipt(uow, receipt_number)
    if bill is None:
        raise _not_found()
    if officer:
        assert principal is not None
        ensure_office(principal, bill.office)
    else:
        assert birth_date is not None
        if not bills.birth_date_matches(uow, bill, birth_date):
            raise _not_found()
    out = BillOut(
        receipt_number=bill.receipt_number,
        office=bill.office,
        billing_code=bill.billing_code,
        amount=bill.amount,
        items=[BillItemOut(code=i.code, description=i.description, amount=i.amount) for i in bill.items],
        status=bill.status.value,
        issued_at=bill.issued_at,
        expires_at=bill.expires_at,
        paid_at=bill.paid_at,
        ntpn=bill.ntpn,
    )
    if officer:
        out.priority = bill.priority
        out.validity_years = bill.validity_years
        out.schedule = bill.schedule_name
    return out
