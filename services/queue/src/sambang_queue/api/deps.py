"""Dependencies shared by the queue's routers: principals by role, the unit of work, the context,
the public look-up limits (per address, per device, per receipt), the Idempotency-Key of bookings
(receipt numbers: sambang_runtime.http)."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sambang_runtime.approvals import APPROVERS
from sambang_runtime.auth import Principal, current_principal, ensure_office, require_roles
from sambang_runtime.crypto import PiiCipher
from sambang_runtime.errors import DomainError
from sambang_runtime.http import client_rate_limit
from sambang_runtime.problems import ProblemError
from sambang_runtime.ratelimit import RateLimiter
from sambang_runtime.service import UowDep

from ..context import QueueContext, context_of
from ..errors import ERRORS
from ..stores import applications
from ..stores.applications import ApplicationRecord, Idempotency
from ..usecases.registration import Registered

#: Who reads an application's personal data and the office's queue (each read audited).
OFFICER_ROLES = ("customer_care", "verifier", "sambang_officer", "interviewer", "supervisor", "head_of_office")
#: Devices: limited per device, never exempt from the public limits.
DEVICE_ROLES = frozenset({"kiosk", "display"})


async def get_context(uow: UowDep) -> QueueContext:
    """FastAPI dependency: the queue context (async: a sync dependency costs a thread hop)."""
    return context_of(uow)


ContextDep = Annotated[QueueContext, Depends(get_context)]

Supervisor = Annotated[Principal, Depends(require_roles("supervisor"))]
#: The office's reports: the supervisor and the head of office (Kepala Kantor, the Anev meeting).
ReportReader = Annotated[Principal, Depends(require_roles("supervisor", "head_of_office"))]
#: The office's rules: whoever keeps them (admin) reads them, as do the supervisor and the head of office.
SettingsReader = Annotated[Principal, Depends(require_roles("supervisor", "head_of_office", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Officer = Annotated[Principal, Depends(require_roles(*OFFICER_ROLES))]
#: Whoever may give some approval (which ones: APPROVERS, checked per action).
Approver = Annotated[Principal, Depends(require_roles(*sorted(frozenset().union(*APPROVERS.values()))))]
CustomerCare = Annotated[Principal, Depends(require_roles("customer_care"))]
CounterOfficer = Annotated[Principal, Depends(require_roles("verifier", "interviewer", "customer_care"))]
SambangOfficer = Annotated[Principal, Depends(require_roles("sambang_officer"))]


def _lookup_limiter(context: object) -> RateLimiter:
    if not isinstance(context, QueueContext):
        raise RuntimeError("this unit of work is not the queue service's")
    return context.limiter


def is_device(principal: Principal) -> bool:
    """A kiosk's or a display's token (and no officer's role besides)."""
    return not principal.roles.isdisjoint(DEVICE_ROLES) and principal.roles.isdisjoint(OFFICER_ROLES)


def limit_device(ctx: QueueContext, principal: Principal) -> None:
    """One request of a kiosk's or display's allowance (keyed on its office and token subject): 429
    ``rate_limited`` with ``Retry-After`` once spent. Officers and the public pass untouched."""
    if not is_device(principal):
        return
    wait = ctx.device_wait(f"{principal.office.upper()}:{principal.sub}")
    if wait > 0:
        raise ProblemError.common(429, "rate_limited", headers={"Retry-After": str(max(1, math.ceil(wait)))})


_address_limit = client_rate_limit(_lookup_limiter, officers_exempt=True)


async def _public_limits(request: Request, ctx: ContextDep, _: Annotated[None, Depends(_address_limit)]) -> None:
    """Per client address (verified officers exempt), and per device for a kiosk's or display's token."""
    if not request.headers.get("authorization"):
        return
    try:
        principal = await current_principal(request)
    except ProblemError:
        return  # not a device's token: the address limit has counted it
    limit_device(ctx, principal)


#: Public look-ups by receipt and birth date are rate limited per client (guessing birth dates) and per
#: device; officers are authenticated and audited instead.
RateLimited = Depends(_public_limits)


async def _desk_or_kiosk(
    principal: Annotated[Principal, Depends(require_roles("kiosk", "customer_care"))], ctx: ContextDep
) -> Principal:
    limit_device(ctx, principal)
    return principal


#: Customer care, or a kiosk (limited per device).
DeskOrKiosk = Annotated[Principal, Depends(_desk_or_kiosk)]


def _receipt_locked(seconds: float) -> ProblemError:
    entry = ERRORS["receipt_locked"]
    wait = max(1, math.ceil(seconds))
    return ProblemError(
        entry.status,
        "receipt_locked",
        entry.en,
        entry.id,
        extra={"retry_after": wait},
        headers={"Retry-After": str(wait)},
    )


def ensure_unlocked(ctx: QueueContext, receipt: str) -> None:
    """429 ``receipt_locked`` (``Retry-After``) while too many wrong birth dates lock the receipt."""
    wait = ctx.receipts.locked_for(receipt)
    if wait > 0:
        raise _receipt_locked(wait)


def born_on(
    ctx: QueueContext, cipher: PiiCipher, receipt: str, app: ApplicationRecord | None, birth_date: dt.date
) -> bool:
    """Whether ``birth_date`` proves the receipt (call ``ensure_unlocked`` before reading the row); a
    wrong one, or an unknown receipt, counts towards the receipt's lock."""
    if app is not None and applications.born_on(cipher, app, birth_date):
        return True
    ctx.receipts.failed(receipt)
    return False


async def no_birth_date_in_url(request: Request) -> None:
    """Birth dates never travel in URLs (access logs keep them): 400 ``birth_date_in_url``, unread."""
    if any(key.lower().replace("-", "_") == "birth_date" for key in request.query_params):
        raise DomainError("birth_date_in_url")


def officer_of_office(principal: Principal, office: str) -> None:
    """Officers act only within their token's office (403 wrong_office)."""
    ensure_office(principal, office)


def is_officer(principal: Principal | None) -> bool:
    """Whether the caller is an officer (officers see more than applicants)."""
    return principal is not None and principal.has_any(*OFFICER_ROLES)


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def idempotency_of(key: str | None, route: str, body: BaseModel) -> Idempotency | None:
    """A usable Idempotency-Key with the hash of its request (idempotency_key_invalid), or None.

    The body's hash serves only an Idempotency-Key: a booking rush sends none.
    """
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not key.isprintable() or not key.isascii():
        raise DomainError("idempotency_key_invalid")
    return Idempotency(key, hashlib.sha256(f"{route}\n{body.model_dump_json()}".encode()).hexdigest())


def registered_response(registered: Registered) -> JSONResponse:
    """A booking's answer as built (not validated again by FastAPI: the booking rush is the hot path);
    a replay for an Idempotency-Key says so."""
    if registered.replayed:
        return JSONResponse(
            registered.body, status_code=registered.status_code, headers={"Idempotent-Replayed": "true"}
        )
    return JSONResponse(registered.body, status_code=registered.status_code)
