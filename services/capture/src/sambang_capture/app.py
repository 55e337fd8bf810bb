"""Composition root of the capture service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sambang_runtime.bus.transport import Transport
from sambang_runtime.clock import Clock
from sambang_runtime.service import ServiceDescriptor, ServiceSpec, create_service_app, settings_for
from sambang_runtime.settings import RuntimeSettings

from .api import ROUTERS
from .background.retention import run_retention
from .background.rotation import rotate_data_key
from .context import CaptureContext
from .errors import ERRORS, NAME
from .handlers import HANDLERS
from .models import bus_tables, metadata
from .settings import CaptureSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec(context: CaptureContext | None = None) -> ServiceSpec:
    """What makes this service itself: tables, handlers, routes, errors, the retention loop, its context."""
    return ServiceSpec(
        name=NAME,
        metadata=metadata,
        tables=bus_tables,
        handlers=HANDLERS,
        routers=ROUTERS,
        migrations=MIGRATIONS,
        background=[run_retention],
        rotate_data_key=rotate_data_key,
        errors=ERRORS,
        context=context or CaptureContext(),
        title="Sambang capture",
        description=(
            "document check, photo, fingerprints and signature with quality checks, exceptions approved once by a "
            "supervisor, interview, violations, nonconformances; biometrics sealed with a data key per application "
            "and crypto-shredded after the office's retention; the daily purge report; the internal biometric bundle"
        ),
    )


def create_app(
    settings: RuntimeSettings | None = None,
    *,
    transport: Transport | None = None,
    clock: Clock | None = None,
    capture_settings: CaptureSettings | None = None,
) -> FastAPI:
    """The capture service app; tests pass their own clock and capture settings."""
    return create_service_app(
        spec(CaptureContext(capture_settings)), settings or settings_for(NAME), transport=transport, clock=clock
    )


DESCRIPTOR = ServiceDescriptor(
    name=NAME,
    port=8002,
    prefixes=("/v1/captures", "/internal/v1/captures"),
    create_app=create_app,
    migrations=MIGRATIONS,
    spec=spec,
)
