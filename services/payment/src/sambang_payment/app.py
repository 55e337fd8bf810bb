"""Composition root of the payment service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sambang_runtime.bus.transport import Transport
from sambang_runtime.service import ServiceDescriptor, ServiceSpec, create_service_app, settings_for
from sambang_runtime.settings import RuntimeSettings

from .api import router
from .handlers import HANDLERS
from .models import bus_tables, metadata

NAME = "payment"
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
        title="Sambang payment",
        description="fee schedule, bills and billing codes, bank notifications, settlement reconciliation",
    )


def create_app(settings: RuntimeSettings | None = None, *, transport: Transport | None = None) -> FastAPI:
    """The payment service app."""
    return create_service_app(spec(), settings or settings_for(NAME), transport=transport)


DESCRIPTOR = ServiceDescriptor(
    name=NAME, port=8003, prefixes=("/v1/fees", "/v1/bills", "/v1/payments", "/v1/reconciliations", "/v1/discrepancies", "/v1/partners",), create_app=create_app, migrations=MIGRATIONS, spec=spec
)
