"""Dependencies shared by the gateway's routers: principals by role, the context, the receipt in the path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sambang_contracts.values import InvalidValue, parse_receipt_number
from sambang_runtime.auth import Principal, require_roles
from sambang_runtime.errors import DomainError
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


async def receipt_in_path(receipt: Annotated[str, Path(description="Receipt number")]) -> str:
    """A well-formed receipt number (a typo is caught by its check digit before any look-up)."""
    try:
        parse_receipt_number(receipt)
    except InvalidValue as exc:
        raise DomainError("invalid_receipt_number", reason=exc.reason) from None
    return receipt


Receipt = Annotated[str, Depends(receipt_in_path)]
