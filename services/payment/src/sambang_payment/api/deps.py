"""Dependencies shared by the payment routers: principals by role, the unit of work, the context, the
public look-up limits (per client address, per receipt), birth dates kept out of URLs, and the second
person's approval (four eyes). Bounded bodies are ``sambang_runtime.http.read_limited_body``."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Request
from sambang_contracts import ApprovalAction
from sambang_runtime.approvals import ApprovalClaims, consume_approval, verify_approval
from sambang_runtime.auth import OptionalPrincipal, Principal, require_roles
from sambang_runtime.errors import DomainError
from sambang_runtime.http import client_rate_limit
from sambang_runtime.problems import ProblemError
from sambang_runtime.service import RuntimeDep, ServiceRuntime, UowDep
from sambang_runtime.uow import UnitOfWork

from ..context import PaymentContext, context_of, lookup_limiter_of
from ..errors import ERRORS

__all__ = [
    "OFFICER_ROLES",
    "ContextDep",
    "NationalAdminDep",
    "OfficerDep",
    "OptionalPrincipal",
    "RuntimeDep",
    "SettlementUploaderDep",
    "SupervisorDep",
    "UowDep",
    "approved",
    "ensure_unlocked",
    "no_birth_date_in_url",
    "public_lookup_limit",
]

#: Officers who may read any bill of their own office without the applicant's birth date.
OFFICER_ROLES = ("customer_care", "verifier", "sambang_officer", "interviewer", "supervisor", "head_of_office")

#: National powers (fees, bank partners): never an office ``admin``.
NationalAdminDep = Annotated[Principal, Depends(require_roles("national_admin"))]
SupervisorDep = Annotated[Principal, Depends(require_roles("supervisor"))]
#: Who uploads a bank's settlement file: the office supervisor, or a national admin for any office.
SettlementUploaderDep = Annotated[Principal, Depends(require_roles("supervisor", "national_admin"))]
OfficerDep = Annotated[Principal, Depends(require_roles(*OFFICER_ROLES))]


async def get_context(uow: UowDep) -> PaymentContext:
    """FastAPI dependency: the payment context of the app (through the request's unit of work)."""
    return context_of(uow)


ContextDep = Annotated[PaymentContext, Depends(get_context)]

#: One public look-up against the client's address (``dependencies=[Depends(public_lookup_limit)]``):
#: 429 ``rate_limited`` once its bucket is empty. Only a verified officer's token skips it; a kiosk's,
#: a display's, an expired or a junk token counts like none.
public_lookup_limit = client_rate_limit(lookup_limiter_of, officers_exempt=True)


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


def ensure_unlocked(context: PaymentContext, receipt: str) -> None:
    """429 ``receipt_locked`` (``Retry-After``) while too many wrong birth dates lock the receipt."""
    wait = context.receipts.locked_for(receipt)
    if wait > 0:
        raise _receipt_locked(wait)


async def no_birth_date_in_url(request: Request) -> None:
    """Birth dates never travel in URLs (access logs keep them): 400 ``birth_date_in_url``, unread."""
    if any(key.lower().replace("-", "_") == "birth_date" for key in request.query_params):
        raise DomainError("birth_date_in_url")


def _wrong_office() -> ProblemError:
    return ProblemError.common(403, "approval_invalid", extra={"reason": "wrong_office"})


async def approved(
    uow: UnitOfWork,
    runtime: ServiceRuntime,
    token: str | None,
    *,
    action: ApprovalAction,
    subject: str,
    caller: Principal,
    office: str | None = None,
) -> ApprovalClaims:
    """A second person's approval of ``action`` on ``subject``, verified and used up in ``uow`` (the
    action's unit of work: it works once, and only if the action commits). 403 ``approval_invalid``
    (``reason``) when missing or not fitting, 409 ``approval_used`` the second time.

    National actions (partners) take an approver of any office. ``office``: the office the action is
    for (a settlement); a supervisor's approval counts only for their own office, a national admin's
    for any.
    """
    claims = verify_approval(runtime.settings, token, action=action, subject=subject, caller=caller, office_bound=False)
    if office is not None and "national_admin" not in claims.roles and claims.office.upper() != office.upper():
        raise _wrong_office()
    await consume_approval(uow, claims)
    return claims
