"""Dependencies shared by the queue's routers: context, connection, rate limit, receipt parsing."""

from __future__ import annotations

import math
import time
from typing import Annotated, Any

from fastapi import Depends, Request
from sambang_contracts.values import InvalidValue, parse_receipt_number
from sambang_runtime.auth import Principal, ensure_office, require_roles
from sambang_runtime.clientaddr import client_address
from sambang_runtime.problems import ProblemError
from sambang_runtime.service import UowDep
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..context import QueueContext
from ..errors import problem
from ..models import application
from ..offices import OfficeInfo

OFFICER_ROLES = ("customer_care", "verifier", "sambang_officer", "interviewer", "supervisor")


def context_of(request: Request) -> QueueContext:
    """The queue context of the app serving this request."""
    ctx: QueueContext = request.app.state.queue
    return ctx


async def get_context(request: Request) -> QueueContext:
    """FastAPI dependency: the queue context (async: a sync dependency costs a thread hop)."""
    return context_of(request)


Ctx = Annotated[QueueContext, Depends(get_context)]

Supervisor = Annotated[Principal, Depends(require_roles("supervisor"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Officer = Annotated[Principal, Depends(require_roles(*OFFICER_ROLES))]
DeskOrKiosk = Annotated[Principal, Depends(require_roles("kiosk", "customer_care"))]
CustomerCare = Annotated[Principal, Depends(require_roles("customer_care"))]
CounterOfficer = Annotated[Principal, Depends(require_roles("verifier", "interviewer", "customer_care"))]
SambangOfficer = Annotated[Principal, Depends(require_roles("sambang_officer"))]


async def connection(uow: UowDep) -> AsyncConnection:
    """The request's connection, inside the unit of work's transaction."""
    return await uow.session.connection()


Conn = Annotated[AsyncConnection, Depends(connection)]


async def public_lookup_limit(request: Request, ctx: Ctx) -> None:
    """Public look-ups by receipt and birth date are rate limited per client (guessing birth dates)."""
    if request.headers.get("authorization"):
        return  # officers are authenticated and audited instead
    wait = ctx.limiter.take(client_address(request), time.monotonic())
    if wait > 0:
        raise ProblemError.common(429, "rate_limited", headers={"Retry-After": str(max(1, math.ceil(wait)))})


RateLimited = Depends(public_lookup_limit)


def valid_receipt(receipt: str) -> str:
    """A well-formed receipt number (a typo is caught by the check digit before any look-up)."""
    try:
        parse_receipt_number(receipt)
    except InvalidValue as exc:
        raise problem("invalid_receipt_number", extra={"reason": exc.reason}) from None
    return receipt


async def office_or_404(ctx: QueueContext, conn: AsyncConnection, code: str) -> OfficeInfo:
    """The office of a path, or 404."""
    info = await ctx.offices.office(conn, code.upper())
    if info is None:
        raise problem("office_not_found")
    return info


def officer_of_office(principal: Principal, office: str) -> None:
    """Officers act only within their token's office (403 wrong_office)."""
    ensure_office(principal, office)


async def application_row(conn: AsyncConnection, receipt_number: str, *, lock: bool = False) -> Row[Any] | None:
    """An application by receipt (row-locked on PostgreSQL when asked)."""
    stmt = select(application).where(application.c.receipt_number == receipt_number)
    if lock:
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).first()
