"""``/healthz`` (alive), ``/readyz`` (database, broker, consumers) and ``/metrics``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from .metrics import metrics_endpoint

if TYPE_CHECKING:
    from .service import ServiceRuntime

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


async def readiness(runtime: ServiceRuntime) -> dict[str, Any]:
    """Check each dependency; ``ready`` is true only when all are fine."""
    checks: dict[str, str] = {}
    try:
        async with runtime.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which kind
        checks["database"] = f"down: {type(exc).__name__}"
    checks["broker"] = "ok" if runtime.transport.is_connected() else "down"
    if runtime.consumer is not None or runtime.broadcast_consumer is not None:
        consuming = runtime.consumer_started and runtime.transport.consumers_ready()
        checks["consumers"] = "ok" if consuming else "not consuming"
    if not runtime.relay_running():
        checks["relay"] = "stopped"
    else:
        checks["relay"] = "ok" if runtime.relay.last_error is None else f"failing: {runtime.relay.last_error}"
    return {"service": runtime.spec.name, "ready": all(v == "ok" for v in checks.values()), "checks": checks}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when the database, the broker and the consumers are all working, else 503."""
    report = await readiness(request.app.state.runtime)
    return JSONResponse(report, status_code=200 if report["ready"] else 503)


router.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
