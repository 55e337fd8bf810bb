"""``/healthz`` (alive), ``/readyz`` (database, broker, consumers) and ``/metrics``."""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .metrics import metrics_endpoint


class Ready(Protocol):
    """What ``/readyz`` asks: the service runtime answers it (health knows no runtime, so no import circle)."""

    async def readiness(self) -> dict[str, Any]: ...


router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when the database, the broker and the consumers are all working, else 503."""
    runtime: Ready = request.app.state.runtime
    report = await runtime.readiness()
    return JSONResponse(report, status_code=200 if report["ready"] else 503)


router.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
