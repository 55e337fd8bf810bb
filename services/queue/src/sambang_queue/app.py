"""Composition root of the queue service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sambang_runtime.bus.transport import Transport
from sambang_runtime.clock import Clock
from sambang_runtime.service import ServiceDescriptor, ServiceSpec, create_service_app, settings_for
from sambang_runtime.settings import RuntimeSettings

from .api import ROUTERS
from .background.rotation import rotate_data_key
from .context import QueueContext
from .errors import ERRORS
from .handlers import HANDLERS
from .models import bus_tables, metadata
from .seed import seed_development_office
from .settings import QueueSettings

NAME = "queue"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec(context: QueueContext | None = None) -> ServiceSpec:
    """What makes this service itself: tables, handlers, routes, errors, migrations, the dev seed."""
    return ServiceSpec(
        name=NAME,
        metadata=metadata,
        tables=bus_tables,
        handlers=HANDLERS,
        routers=ROUTERS,
        migrations=MIGRATIONS,
        on_startup=[seed_development_office],
        errors=ERRORS,
        context=context or QueueContext(),
        rotate_data_key=rotate_data_key,
        title="Sambang queue",
        description=(
            "offices, slots, pre-applications, arrival, check-in, tickets, sambang worklist, pickup, status, reports"
        ),
    )


def create_app(
    settings: RuntimeSettings | None = None,
    *,
    transport: Transport | None = None,
    clock: Clock | None = None,
    queue_settings: QueueSettings | None = None,
) -> FastAPI:
    """The queue service app; tests pass their own clock (FakeClock) and queue settings."""
    settings = settings or settings_for(NAME)
    context = QueueContext(queue_settings, public_base_url=settings.public_base_url)
    return create_service_app(spec(context), settings, transport=transport, clock=clock)


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
        "/v1/lines",
        "/v1/approvals",
    ),
    create_app=create_app,
    migrations=MIGRATIONS,
    spec=spec,
)
