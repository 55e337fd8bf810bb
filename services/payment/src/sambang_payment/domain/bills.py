"""Bills: how long one stays payable, and the bill of one application before it is stored."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace

from sambang_contracts import PriorityCategory

from .fees import BillLine, BillRequest, FeeScheduleDocument, bill_lines, billed_validity_years
from .offices import OfficeRules


class BillStatus(enum.StrEnum):
    """Where a bill is: payable, paid, expired unpaid, or voided by a cancellation."""

    UNPAID = "UNPAID"
    PAID = "PAID"
    EXPIRED = "EXPIRED"
    VOID = "VOID"


# --- bill validity ------------------------------------------------------------------------------


def is_priority(priority_category: PriorityCategory, walk_in: bool) -> bool:
    """Priority and walk-in applicants may pay after the interview, so their bills live longer."""
    return priority_category is not PriorityCategory.NONE or walk_in


def bill_validity_seconds(*, priority: bool, ordinary_seconds: int, priority_seconds: int) -> int:
    """Seconds a bill stays payable: the office's two rules (2 hours, 7 days by default)."""
    return priority_seconds if priority else ordinary_seconds


# --- issuing a bill -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BillDraft:
    """A bill decided but not stored yet: the lines, their total, and how long it stays payable."""

    lines: list[BillLine]
    amount: int
    schedule_name: str
    validity_years: int
    priority: bool
    issued_at: dt.datetime
    expires_at: dt.datetime


def draft_bill(
    schedule: FeeScheduleDocument,
    request: BillRequest,
    rules: OfficeRules,
    *,
    priority: bool,
    now: dt.datetime,
) -> BillDraft:
    """The bill of one application: itemised from the schedule, payable for the office's validity."""
    years = billed_validity_years(schedule, request)
    lines = bill_lines(schedule, replace(request, validity_years=years))
    validity = bill_validity_seconds(
        priority=priority,
        ordinary_seconds=rules.bill_validity_seconds,
        priority_seconds=rules.priority_bill_validity_seconds,
    )
    return BillDraft(
        lines=lines,
        amount=sum(line.amount for line in lines),
        schedule_name=schedule.name,
        validity_years=years,
        priority=priority,
        issued_at=now,
        expires_at=now + dt.timedelta(seconds=validity),
    )
