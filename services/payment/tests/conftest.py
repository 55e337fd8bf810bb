"""Fixtures of the payment service tests: the app on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

from typing import Any

import pytest
from payment_support import HarnessFactory, PaymentHarness
from sambang_payment.app import create_app
from sambang_payment.settings import PaymentSettings
from sambang_runtime.testing import AppStarter, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """The test's one clock: every payment app of the test reads it, the test moves it."""
    return FakeClock()


@pytest.fixture
async def payment_harness(start_app: AppStarter, clock: FakeClock) -> HarnessFactory:
    """Start payment apps on PostgreSQL + RabbitMQ (several may share one database and the test's
    clock); all stopped after (the runtime's ``start_app``)."""

    async def start(
        *,
        backend: str = "postgres+amqp",
        share: str | None = None,
        payment: PaymentSettings | None = None,
        **overrides: Any,
    ) -> PaymentHarness:
        running = await start_app(
            create_app,
            "payment",
            backend=backend,
            share=share,
            clock=clock,
            probe_keys=("payment.#",),
            settings=overrides,
            payment_settings=payment or PaymentSettings(sweep_interval_seconds=3600),
        )
        return PaymentHarness(running.app, running.client, running.probe, clock)

    return start
