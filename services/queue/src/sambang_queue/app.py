"""Composition root of the queue service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sambang_runtime.bus.transport import Transport
from sambang_runtime.service import ServiceDescriptor, ServiceSpec, create_service_app, settings_for
from sambang_runtime.settings import RuntimeSettings

from .api import router
from .handlers import HANDLERS
from .models import bus_tables, metadata

NAME = "queue"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec() -> ServiceSpec:
    """What makes this service itself: tables, handlers, routes, migrations."""
    return ServiceSpec(
        name=NAME,
        metadata=metadata,
        tables=bus_tables,
        handlers=HANDLERS,
        routers=[router],
        migrations=MIGRATIONS,
        title="Sambang queue",
        description="offices, slots, pre-applications, arrival, check-in, tickets, sambang worklist, pickup, status, reports",
    )


def create_app(settings: RuntimeSettings | None = None, *, transport: Transport | None = None) -> FastAPI:
    """The queue service app."""
    return create_service_app(spec(), settings or settings_for(NAME), transport=transport)


DESCRIPTOR = ServiceDescriptor(
    name=NAME, port=8001, prefixes=("/v1/offices", "/v1/applications", "/v1/application-groups", "/v1/visits", "/v1/tickets", "/v1/pickups", "/v1/audit",), create_app=create_app, migrations=MIGRATIONS, spec=spec
)
