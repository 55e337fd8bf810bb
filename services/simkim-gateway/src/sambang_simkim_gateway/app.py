"""Composition root of the SIMKIM gateway."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sambang_runtime.auth import ServiceToken
from sambang_runtime.bus.transport import Transport
from sambang_runtime.clock import Clock
from sambang_runtime.service import ServiceDescriptor, ServiceSpec, create_service_app, settings_for
from sambang_runtime.settings import RuntimeSettings

from .api import ROUTERS
from .background.rotation import rotate_data_key
from .background.worker import run_worker
from .context import GatewayContext
from .errors import ERRORS, NAME
from .handlers import HANDLERS
from .models import bus_tables, metadata
from .settings import GatewaySettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec(context: GatewayContext | None = None) -> ServiceSpec:
    """What makes this service itself: tables, handlers, routes, errors, the worker, its context."""
    return ServiceSpec(
        name=NAME,
        metadata=metadata,
        tables=bus_tables,
        handlers=HANDLERS,
        routers=ROUTERS,
        migrations=MIGRATIONS,
        background=[run_worker],
        errors=ERRORS,
        context=context or GatewayContext(),
        rotate_data_key=rotate_data_key,
        title="Sambang SIMKIM gateway",
        description="readiness, one submission per application, cekal and duplicate holds, issuance and pickup date",
    )


def create_app(
    settings: RuntimeSettings | None = None,
    *,
    transport: Transport | None = None,
    clock: Clock | None = None,
    gateway_settings: GatewaySettings | None = None,
) -> FastAPI:
    """The gateway app; tests pass their own clock and gateway settings (SIMKIM and capture URLs, backoff)."""
    settings = settings or settings_for(NAME)
    gateway_settings = gateway_settings or GatewaySettings()
    if settings.production:
        gateway_settings.check_production()  # one line naming the variable (StartRefused)
    configured = gateway_settings.capture_token
    capture_token = ServiceToken.of(
        settings,
        configured.get_secret_value() if configured is not None else None,
        sub="simkim-gateway",
        variable="SAMBANG_SIMKIM_GATEWAY_CAPTURE_TOKEN",
        purpose="a service token for capture",
    )
    context = GatewayContext(gateway_settings, capture_token=capture_token)
    return create_service_app(spec(context), settings, transport=transport, clock=clock)


DESCRIPTOR = ServiceDescriptor(
    name=NAME,
    port=8004,
    prefixes=("/v1/submissions", "/v1/holds"),
    create_app=create_app,
    migrations=MIGRATIONS,
    spec=spec,
    # In compose and k8s its peers are found by service name; production points SIMKIM_URL at SIMKIM.
    deploy_env=(
        ("SAMBANG_SIMKIM_GATEWAY_SIMKIM_URL", "http://simkim-simulator:8099"),
        ("SAMBANG_SIMKIM_GATEWAY_CAPTURE_URL", "http://capture:8002"),
    ),
)
