"""Composition root of the notifier service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sambang_runtime.auth import ServiceToken
from sambang_runtime.bus.transport import Transport
from sambang_runtime.clock import Clock
from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceDescriptor, ServiceRuntime, ServiceSpec, create_service_app, settings_for
from sambang_runtime.settings import RuntimeSettings

from .api import ROUTERS
from .background.dispatcher import run_dispatcher
from .background.housekeeping import run_housekeeping
from .background.reminders import run_reminders
from .background.rotation import rotate_data_key
from .background.streams import run_stream_recorder
from .context import NotifierContext
from .domain.defaults import DEFAULTS
from .errors import ERRORS, NAME
from .handlers import BROADCAST, HANDLERS
from .models import bus_tables, metadata
from .settings import NotifierSettings
from .stores import templates

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

log = get_logger(__name__)


async def seed_templates(runtime: ServiceRuntime) -> None:
    """Add the shipped templates that are missing or still an older shipped wording; an admin's edits stay."""
    async with runtime.uow() as uow:
        added = await templates.seed(uow, DEFAULTS, now=runtime.clock())
        await uow.commit()
    if added:
        log.info("templates.seeded", count=added)


def spec(context: NotifierContext | None = None) -> ServiceSpec:
    """What makes this service itself: tables, handler tables, routes, migrations, background loops."""
    return ServiceSpec(
        name=NAME,
        metadata=metadata,
        tables=bus_tables,
        handlers=HANDLERS,
        broadcast=BROADCAST,
        errors=ERRORS,
        routers=ROUTERS,
        migrations=MIGRATIONS,
        context=context or NotifierContext(NotifierSettings()),
        on_startup=[seed_templates],
        background=[run_dispatcher, run_stream_recorder, run_housekeeping, run_reminders],
        rotate_data_key=rotate_data_key,
        title="Sambang notifier",
        description="applicant e-mail and SMS in Bahasa Indonesia and English; live streams to tablets and displays",
    )


def create_app(
    settings: RuntimeSettings | None = None,
    *,
    transport: Transport | None = None,
    clock: Clock | None = None,
    notifier_settings: NotifierSettings | None = None,
) -> FastAPI:
    """The notifier app; tests pass a FakeClock, their own settings and their own channels' addresses."""
    settings = settings or settings_for(NAME)
    notifier_settings = notifier_settings or NotifierSettings()
    if settings.production:
        notifier_settings.check_production()  # one line naming the variable (StartRefused)
    configured = notifier_settings.capture_token
    capture_token = ServiceToken.of(
        settings,
        configured.get_secret_value() if configured is not None else None,
        sub="notifier",
        variable="SAMBANG_NOTIFIER_CAPTURE_TOKEN",
        purpose="a service token for capture's checklist",
    )
    context = NotifierContext(notifier_settings, environment=settings.environment, capture_token=capture_token)
    return create_service_app(spec(context), settings, transport=transport, clock=clock)


DESCRIPTOR = ServiceDescriptor(
    name=NAME,
    port=8005,
    prefixes=("/v1/notifications", "/v1/streams", "/v1/templates", "/v1/dev/mailbox"),
    create_app=create_app,
    migrations=MIGRATIONS,
    spec=spec,
    # In compose and k8s capture is found by service name (the checklist of the reminder the day before).
    deploy_env=(("SAMBANG_NOTIFIER_CAPTURE_URL", "http://capture:8002"),),
)
