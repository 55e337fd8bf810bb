"""Composition root of the payment service."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from fastapi import FastAPI
from sambang_runtime.bus.transport import Transport
from sambang_runtime.logs import get_logger
from sambang_runtime.ratelimit import RateLimiter
from sambang_runtime.service import (
    ServiceDescriptor,
    ServiceRuntime,
    ServiceSpec,
    StartupHook,
    create_service_app,
    settings_for,
)
from sambang_runtime.settings import RuntimeSettings

from .api import router
from .billing import sweep_expired
from .handlers import PaymentHandlers
from .models import bus_tables, metadata
from .partners import seed_dev_partner
from .schedules import seed_if_empty
from .settings import PaymentSettings

NAME = "payment"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

log = get_logger(__name__)


async def seed_fee_schedule(runtime: ServiceRuntime) -> None:
    """Load the shipped PP 45/2024 schedule when no schedule exists yet."""
    async with runtime.uow() as uow:
        if await seed_if_empty(uow.session, dt.datetime.now(dt.UTC)):
            log.info("fees.seeded")
        await uow.commit()


async def seed_demo_partner(runtime: ServiceRuntime) -> None:
    """Development only: the BANKDEMO partner with its public dev secret, so the demo can pay."""
    if runtime.settings.environment != "development":
        return
    async with runtime.uow() as uow:
        if await seed_dev_partner(await uow.session.connection(), runtime.cipher, now=dt.datetime.now(dt.UTC)):
            log.warning("partner.dev_seeded", partner="BANKDEMO")
        await uow.commit()


def spec(handlers: PaymentHandlers | None = None) -> ServiceSpec:
    """What makes this service itself: tables, handlers, routes, migrations, startup hooks."""
    handlers = handlers or PaymentHandlers(PaymentSettings().default_timezone)
    hooks: list[StartupHook] = [seed_fee_schedule, seed_demo_partner]
    return ServiceSpec(
        name=NAME,
        metadata=metadata,
        tables=bus_tables,
        handlers=handlers.table(),
        routers=[router],
        migrations=MIGRATIONS,
        on_startup=hooks,
        title="Sambang payment",
        description="fee schedule, bills and billing codes, bank notifications, settlement reconciliation",
    )


async def run_expiry_sweeper(runtime: ServiceRuntime, settings: PaymentSettings) -> None:
    """Expire unpaid bills past their time, batch by batch, every ``sweep_interval_seconds``."""
    while True:
        try:
            while True:
                async with runtime.uow() as uow:
                    expired = await sweep_expired(uow, now=dt.datetime.now(dt.UTC), batch=settings.sweep_batch)
                    await uow.commit()
                if expired < settings.sweep_batch:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database hiccup must not end the sweeper
            log.error("bill.sweep_failed", error=type(exc).__name__, detail=str(exc)[:200])
        await asyncio.sleep(settings.sweep_interval_seconds)


def create_app(
    settings: RuntimeSettings | None = None,
    *,
    transport: Transport | None = None,
    payment_settings: PaymentSettings | None = None,
) -> FastAPI:
    """The payment service app."""
    payment_settings = payment_settings or PaymentSettings()
    service = spec(PaymentHandlers(payment_settings.default_timezone))

    async def expiry_sweeper(runtime: ServiceRuntime) -> None:
        """The bill expiry sweeper, run by the runtime for as long as the service runs."""
        await run_expiry_sweeper(runtime, payment_settings)

    service.background = [expiry_sweeper]
    app = create_service_app(service, settings or settings_for(NAME), transport=transport)
    app.state.payment_settings = payment_settings
    app.state.lookup_limiter = RateLimiter(payment_settings.lookup_burst, payment_settings.lookup_per_minute / 60)
    return app


DESCRIPTOR = ServiceDescriptor(
    name=NAME,
    port=8003,
    prefixes=("/v1/fees", "/v1/bills", "/v1/payments", "/v1/reconciliations", "/v1/discrepancies", "/v1/partners"),
    create_app=create_app,
    migrations=MIGRATIONS,
    spec=spec,
)
