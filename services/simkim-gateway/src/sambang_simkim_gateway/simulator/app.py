"""Composition root of the SIMKIM simulator (its own app: port 8099, prefix ``/simkim/``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sambang_runtime.bus.transport import Transport
from sambang_runtime.clock import Clock
from sambang_runtime.service import ServiceDescriptor, ServiceSpec, create_service_app, settings_for
from sambang_runtime.settings import RuntimeSettings

from .api import ROUTERS
from .context import SimulatorContext
from .errors import ERRORS, NAME
from .models import bus_tables, metadata
from .settings import SimulatorSettings

#: services/simkim-gateway/simulator-migrations: the simulator's own Alembic history.
MIGRATIONS = Path(__file__).resolve().parents[3] / "simulator-migrations"


def spec(context: SimulatorContext | None = None) -> ServiceSpec:
    """What makes the simulator itself: tables, routes, errors, its context (no handlers: it hears no events)."""
    return ServiceSpec(
        name=NAME,
        metadata=metadata,
        tables=bus_tables,
        handlers={},
        routers=ROUTERS,
        migrations=MIGRATIONS,
        errors=ERRORS,
        context=context or SimulatorContext(),
        title="SIMKIM simulator",
        description="SIMKIM as the gateway sees it, with injectable faults (development and tests only)",
    )


def create_app(
    settings: RuntimeSettings | None = None,
    *,
    transport: Transport | None = None,
    clock: Clock | None = None,
    simulator_settings: SimulatorSettings | None = None,
) -> FastAPI:
    """The simulator app; it refuses to run in production (its admin endpoints take no token)."""
    settings = settings or settings_for(NAME)
    if settings.environment == "production":
        raise ValueError("the SIMKIM simulator is for development and tests: it never runs in production")
    return create_service_app(spec(SimulatorContext(simulator_settings)), settings, transport=transport, clock=clock)


DESCRIPTOR = ServiceDescriptor(
    name=NAME,
    port=8099,
    prefixes=("/simkim/v1", "/simkim/_admin"),
    create_app=create_app,
    migrations=MIGRATIONS,
    spec=spec,
    development_only=True,
)
