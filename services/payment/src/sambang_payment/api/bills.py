"""Bills: the applicant proves the receipt with a birth date (in a body); officers of the office need not."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sambang_runtime.auth import ensure_office
from sambang_runtime.http import ReceiptPath
from sambang_runtime.problems import ProblemError

from ..stores import bills
from ..stores.bills import BillView
from .deps import ContextDep, OfficerDep, UowDep, ensure_unlocked, no_birth_date_in_url, public_lookup_limit

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


class LookupIn(BaseModel):
    """``POST /v1/bills/{receipt_number}/lookup``: the applicant proves the receipt by birth date."""

    model_config = ConfigDict(extra="forbid")

    birth_date: dt.date


def _not_found() -> ProblemError:
    # Wrong birth date and unknown receipt answer alike, word for word.
    return ProblemError.common(404, "not_found")


def _bill_out(bill: BillView, *, officer: bool) -> BillOut:
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


# Fields an applicant's answer leaves out (unset), rather than showing them as null.
@router.get(
    "/{receipt_number}",
    response_model_exclude_unset=True,
    dependencies=[Depends(no_birth_date_in_url)],
    responses={400: {}, 404: {}},
)
async def read_bill(receipt: ReceiptPath, uow: UowDep, principal: OfficerDep) -> BillOut:
    """A bill of the officer's office, with what only officers see. Applicants use
    ``POST /v1/bills/{receipt_number}/lookup``; a ``birth_date`` in the URL answers 400
    ``birth_date_in_url`` unread (URLs end up in access logs)."""
    bill = await bills.bill_by_receipt(uow, receipt)
    if bill is None:
        raise _not_found()
    ensure_office(principal, bill.office)
    return _bill_out(bill, officer=True)


@router.post(
    "/{receipt_number}/lookup",
    response_model_exclude_unset=True,
    dependencies=[Depends(public_lookup_limit)],
    responses={404: {}, 429: {}},
)
async def look_up_bill(receipt: ReceiptPath, body: LookupIn, uow: UowDep, context: ContextDep) -> BillOut:
    """The applicant's bill: billing code, amount, items, expiry and status, for the receipt and its
    birth date (in the body, never the URL). An unknown receipt and a wrong birth date answer the same
    404; limited per client address (429 ``rate_limited``) and, after too many wrong birth dates, per
    receipt (429 ``receipt_locked`` with ``Retry-After``, from any address; officers reading the bill
    with ``GET`` are not locked out)."""
    ensure_unlocked(context, receipt)
    bill = await bills.bill_by_receipt(uow, receipt)
    if bill is None or not bills.birth_date_matches(uow, bill, body.birth_date):
        context.receipts.failed(receipt)
        raise _not_found()
    return _bill_out(bill, officer=False)
