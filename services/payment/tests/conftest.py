"""Fixtures of the payment service tests: the app on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from payment_support import HarnessFactory, PaymentHarness
from sambang_payment.app import create_app
from sambang_payment.settings import PaymentSettings
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import BusProbe, FakeClock, SettingsFactory


@pytest.fixture
def clock() -> FakeClock:
    """The test's one clock: every payment app of the test reads it, the test moves it."""
    return FakeClock()


@pytest.fixture
async def payment_harness(make_settings: SettingsFactory, clock: FakeClock) -> AsyncIterator[HarnessFactory]:
    """Start payment apps on PostgreSQL + RabbitMQ (several may share one database and the test's
    clock); all stopped after."""
    async with AsyncExitStack() as stack:
        shared: dict[str, RuntimeSettings] = {}

        async def start(
            *,
            backend: str = "postgres+amqp",
            share: str | None = None,
            payment: PaymentSettings | None = None,
            **overrides: Any,
        ) -> PaymentHarness:
            if share is not None and share in shared:
                settings = shared[share]
            else:
                settings = make_settings("payment", backend, **overrides)
                if share is not None:
                    shared[share] = settings
            app = create_app(
                settings, clock=clock, payment_settings=payment or PaymentSettings(sweep_interval_seconds=3600)
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=30)
            )
            # On the embedded bus the probe listens on the app's own in-memory broker.
            broker = app.state.runtime.transport if settings.amqp_url.startswith("memory://") else None
            probe = await stack.enter_async_context(BusProbe(settings, keys=("payment.#",), transport=broker))
            return PaymentHarness(app, client, probe, clock)

        yield start
