"""Composition root of the queue service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sambang_runtime.bus.transport import Transport
from sambang_runtime.problems import problem_response
from sambang_runtime.service import ServiceDescriptor, ServiceSpec, create_service_app, settings_for
from sambang_runtime.settings import RuntimeSettings

from .api import ROUTERS
from .context import QueueContext
from .domain import Clock, RuleBroken
from .errors import problem
from .handlers import handler_table
from .models import bus_tables, metadata
from .seed import seed_development_office
from .settings import QueueSettings

NAME = "queue"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec(ctx: QueueContext | None = None) -> ServiceSpec:
    """What makes this service itself: tables, handlers, routes, migrations, the dev seed."""
    ctx = ctx or QueueContext()
    return ServiceSpec(
        name=NAME,
        metadata=metadata,
        tables=bus_tables,
        handlers=handler_table(ctx),
        routers=ROUTERS,
        migrations=MIGRATIONS,
        on_startup=[seed_development_office(ctx)],
        title="Sambang queue",
        description=(
            "offices, slots, pre-applications, arrival, check-in, tickets, sambang worklist, pickup, status, reports"
        ),
    )


async def _rule_broken(request: Request, exc: Exception) -> Response:
    """A domain rule refused the request: its code becomes a problem response."""
    assert isinstance(exc, RuleBroken)
    p = problem(exc.code, extra=exc.extra)
    return problem_response(request, p.status, p.code, p.detail_en, p.detail_id, extra=p.extra)


def create_app(
    settings: RuntimeSettings | None = None,
    *,
    transport: Transport | None = None,
    queue_settings: QueueSettings | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The queue service app; tests pass their own clock and queue settings."""
    ctx = QueueContext(queue_settings, clock) if clock is not None else QueueContext(queue_settings)
    app = create_service_app(spec(ctx), settings or settings_for(NAME), transport=transport)
    ctx.bind(app.state.runtime)
    app.state.queue = ctx
    app.add_exception_handler(RuleBroken, _rule_broken)
    return app


DESCRIPTOR = ServiceDescriptor(
    name=NAME,
    port=8001,
    prefixes=(
        "/v1/offices",
        "/v1/applications",
        "/v1/application-groups",
        "/v1/visits",
        "/v1/tickets",
        "/v1/pickups",
        "/v1/audit",
    ),
    create_app=create_app,
    migrations=MIGRATIONS,
    spec=spec,
)
