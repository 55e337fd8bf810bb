"""Dependencies shared by the payment routers: principals by role, the unit of work, the context,
the public look-up limit and size-limited bodies."""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import Depends, Request
from sambang_runtime.auth import OptionalPrincipal, Principal, require_roles
from sambang_runtime.clientaddr import client_address
from sambang_runtime.errors import DomainError
from sambang_runtime.problems import ProblemError
from sambang_runtime.service import UowDep

from ..context import PaymentContext, context_of

__all__ = [
    "OFFICER_ROLES",
    "AdminDep",
    "ContextDep",
    "OptionalPrincipal",
    "SupervisorDep",
    "UowDep",
    "public_lookup_limit",
    "read_body",
]

#: Officers who may read any bill of their own office without the applicant's birth date.
OFFICER_ROLES = ("customer_care", "verifier", "sambang_officer", "interviewer", "supervisor")

AdminDep = Annotated[Principal, Depends(require_roles("admin"))]
SupervisorDep = Annotated[Principal, Depends(require_roles("supervisor"))]


async def get_context(uow: UowDep) -> PaymentContext:
    """FastAPI dependency: the payment context of the app (through the request's unit of work)."""
    return context_of(uow)


ContextDep = Annotated[PaymentContext, Depends(get_context)]


def public_lookup_limit(request: Request, context: PaymentContext) -> None:
    """Count one public look-up against the client; 429 ``rate_limited`` once its bucket is empty.

    Monotonic time, not the service clock: the bucket measures elapsed seconds, not domain time.
    """
    wait = context.lookup_limiter.take(client_address(request), time.monotonic())
    if wait > 0:
        raise ProblemError.common(429, "rate_limited", headers={"Retry-After": str(max(1, math.ceil(wait)))})


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 ``payload_too_large`` beyond ``limit`` bytes (declared or sent)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise DomainError("payload_too_large", limit_bytes=limit)
    body = await request.body()
    if len(body) > limit:
        raise DomainError("payload_too_large", limit_bytes=limit)
    return body
