"""Dependencies shared by the queue's routers: principals by role, the unit of work, the context,
the public look-up limit, the Idempotency-Key of bookings (receipt numbers: sambang_runtime.http)."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sambang_runtime.auth import Principal, ensure_office, require_roles
from sambang_runtime.errors import DomainError
from sambang_runtime.http import client_rate_limit
from sambang_runtime.ratelimit import RateLimiter
from sambang_runtime.service import UowDep

from ..context import QueueContext, context_of
from ..stores.applications import Idempotency
from ..usecases.registration import Registered

OFFICER_ROLES = ("customer_care", "verifier", "sambang_officer", "interviewer", "supervisor")


async def get_context(uow: UowDep) -> QueueContext:
    """FastAPI dependency: the queue context (async: a sync dependency costs a thread hop)."""
    return context_of(uow)


ContextDep = Annotated[QueueContext, Depends(get_context)]

Supervisor = Annotated[Principal, Depends(require_roles("supervisor"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Officer = Annotated[Principal, Depends(require_roles(*OFFICER_ROLES))]
DeskOrKiosk = Annotated[Principal, Depends(require_roles("kiosk", "customer_care"))]
CustomerCare = Annotated[Principal, Depends(require_roles("customer_care"))]
CounterOfficer = Annotated[Principal, Depends(require_roles("verifier", "interviewer", "customer_care"))]
SambangOfficer = Annotated[Principal, Depends(require_roles("sambang_officer"))]


def _lookup_limiter(context: object) -> RateLimiter:
    if not isinstance(context, QueueContext):
        raise RuntimeError("this unit of work is not the queue service's")
    return context.limiter


#: Public look-ups by receipt and birth date are rate limited per client (guessing birth dates);
#: officers are authenticated and audited instead.
RateLimited = Depends(client_rate_limit(_lookup_limiter, officers_exempt=True))


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
