"""Dependencies of the simulator's routers: its context, and the faults every SIMKIM call goes through."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sambang_runtime.errors import DomainError
from sambang_runtime.service import runtime_of

from ..context import SimulatorContext
from ..domain import Verdict


async def get_context(request: Request) -> SimulatorContext:
    """The simulator context of the app serving this request."""
    ctx = runtime_of(request).spec.context
    if not isinstance(ctx, SimulatorContext):
        raise RuntimeError("this app is not the SIMKIM simulator")
    return ctx


ContextDep = Annotated[SimulatorContext, Depends(get_context)]


async def injected_faults(ctx: ContextDep) -> None:
    """Down: 503; else a share ``error_rate`` of the calls fail with 500, before anything is recorded."""
    verdict = ctx.verdict()
    if verdict is Verdict.DOWN:
        raise DomainError("simkim_unavailable")
    if verdict is Verdict.ERROR:
        raise DomainError("simkim_error")


Faulty = Depends(injected_faults)
