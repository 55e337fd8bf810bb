"""Composition root of the payment service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sambang_runtime.bus.transport import Transport
from sambang_runtime.clock import Clock
from sambang_runtime.logs import get_logger
from sambang_runtime.service import (
    ServiceDescriptor,
    ServiceRuntime,
    ServiceSpec,
    create_service_app,
    settings_for,
)
from sambang_runtime.settings import RuntimeSettings

from .api import ROUTERS
from .background.expiry import run_expiry_sweeper
from .background.rotation import rotate_data_key
from .context import PaymentContext
from .errors import ERRORS
from .handlers import HANDLERS
from .models import bus_tables, metadata
from .settings import PaymentSettings
from .stores import partners, schedules

NAME = "payment"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

log = get_logger(__name__)


async def seed_fee_schedule(runtime: ServiceRuntime) -> None:
    """Load the shipped PP 45/2024 schedule when no schedule exists yet."""
    async with runtime.uow() as uow:
        if await schedules.seed_if_empty(uow, schedules.shipped_schedule(), now=uow.now()):
            log.info("fees.seeded")
        await uow.commit()


async def seed_demo_partner(runtime: ServiceRuntime) -> None:
    """Development only: the BANKDEMO partner with its public dev secret, so the demo can pay."""
    if not runtime.settings.development:
        return
    async with runtime.uow() as uow:
        if await partners.seed_dev_partner(uow, now=uow.now()):
            log.warning("partner.dev_seeded", partner=partners.DEV_PARTNER_ID)
        await uow.commit()


def spec(context: PaymentContext | None = None) -> ServiceSpec:
    """What makes this service itself: tables, handlers, errors, routes, migrations, hooks, its context."""
    return ServiceSpec(
        name=NAME,
        metadata=metadata,
        tables=bus_tables,
        handlers=HANDLERS,
        routers=ROUTERS,
        errors=ERRORS,
        migrations=MIGRATIONS,
        on_startup=[seed_fee_schedule, seed_demo_partner],
        background=[run_expiry_sweeper],
        rotate_data_key=rotate_data_key,
        context=context or PaymentContext(),
        title="Sambang payment",
        description="fee schedule, bills and billing codes, bank notifications, settlement reconciliation",
    )


def create_app(
    settings: RuntimeSettings | None = None,
    *,
    transport: Transport | None = None,
    clock: Clock | None = None,
    payment_settings: PaymentSettings | None = None,
) -> FastAPI:
    """The payment service app; tests pass their own clock and payment settings."""
    context = PaymentContext(payment_settings)
    return create_service_app(spec(context), settings or settings_for(NAME), transport=transport, clock=clock)


DESCRIPTOR = ServiceDescriptor(
    name=NAME,
    port=8003,
    prefixes=("/v1/fees", "/v1/bills", "/v1/payments", "/v1/reconciliations", "/v1/discrepancies", "/v1/partners"),
    create_app=create_app,
    migrations=MIGRATIONS,
    spec=spec,
)
