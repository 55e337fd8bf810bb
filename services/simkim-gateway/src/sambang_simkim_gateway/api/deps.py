"""Dependencies shared by the gateway's routers: principals by role, the context (a receipt number in a path
is the runtime's ``sambang_runtime.http.ReceiptPath``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sambang_runtime.auth import Principal, require_roles
from sambang_runtime.service import runtime_of

from ..context import GatewayContext

Supervisor = Annotated[Principal, Depends(require_roles("supervisor"))]
SupervisorOrService = Annotated[Principal, Depends(require_roles("supervisor", "service"))]


async def get_context(request: Request) -> GatewayContext:
    """The gateway context of the app serving this request."""
    ctx = runtime_of(request).spec.context
    if not isinstance(ctx, GatewayContext):
        raise RuntimeError("this app is not the SIMKIM gateway")
    return ctx


ContextDep = Annotated[GatewayContext, Depends(get_context)]
