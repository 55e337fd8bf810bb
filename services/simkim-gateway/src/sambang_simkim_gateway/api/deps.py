"""Dependencies shared by the gateway's routers: principals by role, the context (a receipt number in a path
is the runtime's ``sambang_runtime.http.ReceiptPath``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sambang_runtime.auth import Principal, require_roles
from sambang_runtime.service import runtime_of

from ..context import GatewayContext

Supervisor = Annotated[Principal, Depends(require_roles("supervisor"))]
#: Hold decisions belong to the head of office alone (Kepala Kantor), never to a supervisor as such.
HeadOfOffice = Annotated[Principal, Depends(require_roles("head_of_office"))]
#: Who reads holds: the office's supervisors and its head.
HoldReader = Annotated[Principal, Depends(require_roles("supervisor", "head_of_office"))]
#: Who reads a submission: the office's supervisors and head (with the hold), services (without).
SubmissionReader = Annotated[Principal, Depends(require_roles("supervisor", "head_of_office", "service"))]


async def get_context(request: Request) -> GatewayContext:
    """The gateway context of the app serving this request."""
    ctx = runtime_of(request).spec.context
    if not isinstance(ctx, GatewayContext):
        raise RuntimeError("this app is not the SIMKIM gateway")
    return ctx


ContextDep = Annotated[GatewayContext, Depends(get_context)]
