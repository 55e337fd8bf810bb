"""Dependencies shared by the payment routers: principals by role, the unit of work, the context and
the public look-up limit (bounded bodies are ``sambang_runtime.http.read_limited_body``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sambang_runtime.auth import OptionalPrincipal, Principal, require_roles
from sambang_runtime.http import client_rate_limit
from sambang_runtime.service import UowDep

from ..context import PaymentContext, context_of, lookup_limiter_of

__all__ = [
    "OFFICER_ROLES",
    "AdminDep",
    "ContextDep",
    "OptionalPrincipal",
    "SupervisorDep",
    "UowDep",
    "public_lookup_limit",
]

#: Officers who may read any bill of their own office without the applicant's birth date.
OFFICER_ROLES = ("customer_care", "verifier", "sambang_officer", "interviewer", "supervisor")

AdminDep = Annotated[Principal, Depends(require_roles("admin"))]
SupervisorDep = Annotated[Principal, Depends(require_roles("supervisor"))]


async def get_context(uow: UowDep) -> PaymentContext:
    """FastAPI dependency: the payment context of the app (through the request's unit of work)."""
    return context_of(uow)


ContextDep = Annotated[PaymentContext, Depends(get_context)]

#: Count one public look-up against the client: ``await public_lookup_limit(request, uow)``; 429
#: ``rate_limited`` once its bucket is empty. Called by the route, not declared as a dependency: who
#: counts (a caller without an officer's role, or one giving a birth date) is decided inside it.
public_lookup_limit = client_rate_limit(lookup_limiter_of)
