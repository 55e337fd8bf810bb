"""Dependencies of the capture routes: principals by role, the context, uploads, approvals."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Header, Request
from sambang_runtime.auth import Principal, TokenVerifier, require_roles
from sambang_runtime.errors import DomainError
from sambang_runtime.http import read_limited_body
from sambang_runtime.problems import ProblemError
from sambang_runtime.service import UowDep

from ..adapters.imaging.formats import ImageHeader, check_pixels, checked_format, read_header
from ..context import CaptureContext, context_of
from ..domain.capture import Approval

OFFICER_ROLES = ("customer_care", "verifier", "sambang_officer", "interviewer", "supervisor")

Officer = Annotated[Principal, Depends(require_roles(*OFFICER_ROLES))]
DocumentOfficer = Annotated[Principal, Depends(require_roles("verifier", "interviewer", "sambang_officer"))]
CaptureOfficer = Annotated[Principal, Depends(require_roles("interviewer", "sambang_officer"))]
Supervisor = Annotated[Principal, Depends(require_roles("supervisor"))]
ServiceCaller = Annotated[Principal, Depends(require_roles("service"))]
#: The checklist of a service type: officers, and the notifier (a ``service`` token) for the reminder the day
#: before, so the applicant reads the same list the verifier ticks.
ChecklistReader = Annotated[Principal, Depends(require_roles(*OFFICER_ROLES, "service"))]

#: The header a supervisor's approval travels in (a JWT, like the Authorization header).
APPROVAL_HEADER = "X-Supervisor-Approval"


async def get_context(uow: UowDep) -> CaptureContext:
    """FastAPI dependency: the capture context of this app."""
    return context_of(uow)


ContextDep = Annotated[CaptureContext, Depends(get_context)]


@dataclass(frozen=True, slots=True)
class Upload:
    """An uploaded image that passed the checks made before decoding."""

    data: bytes
    header: ImageHeader

    @property
    def sha256(self) -> str:
        """SHA-256 of the bytes as received."""
        return hashlib.sha256(self.data).hexdigest()


async def image_upload(request: Request, ctx: CaptureContext) -> Upload:
    """Size (413), declared and real type (415), completeness and pixel count (422), in that order."""
    data = await read_limited_body(request, ctx.settings.max_upload_bytes)
    fmt = checked_format(request.headers.get("content-type"), data)
    header = read_header(data, fmt)
    check_pixels(header, max_pixels=ctx.settings.max_pixels, max_side=ctx.settings.max_side)
    return Upload(data, header)


async def supervisor_approval(
    request: Request,
    x_supervisor_approval: Annotated[
        str | None,
        Header(
            description="A supervisor's short-lived bearer token (JWT) approving the exception; "
            "approval tokens live at most 15 minutes (exp - iat)"
        ),
    ] = None,
) -> Approval | None:
    """The approval presented in ``X-Supervisor-Approval``, verified like any bearer token; None without one."""
    if x_supervisor_approval is None:
        return None
    token = x_supervisor_approval.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    verifier = request.app.state.token_verifier
    assert isinstance(verifier, TokenVerifier)
    try:
        principal = await verifier.verify_async(token)
    except ProblemError as exc:
        raise DomainError("supervisor_approval_invalid", reason=exc.code) from None
    # The signature was just verified; the claims are read again only for their lifetime.
    claims = jwt.decode(token, options={"verify_signature": False})
    iat, exp = claims.get("iat"), claims.get("exp")
    lifetime = int(exp - iat) if isinstance(iat, int | float) and isinstance(exp, int | float) else None
    return Approval(principal.sub, principal.office, principal.roles, lifetime)


ApprovalDep = Annotated[Approval | None, Depends(supervisor_approval)]
