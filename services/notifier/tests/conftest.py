"""Fixtures of the notifier tests: real SMTP and SMS servers, notifier apps on PostgreSQL + RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from notifier_support import Notifier, NotifierFactory, SmsProvider, SmtpCatcher, channel_settings
from sambang_notifier.app import create_app
from sambang_notifier.settings import NotifierSettings
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import BusProbe, FakeClock, SettingsFactory


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpCatcher]:
    """One real SMTP server for the run (tests use addresses of their own)."""
    catcher = SmtpCatcher()
    catcher.start()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="session")
def sms() -> Iterator[SmsProvider]:
    """One real HTTP SMS provider for the run (tests use numbers of their own)."""
    provider = SmsProvider()
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
async def start_notifier(
    make_settings: SettingsFactory, smtp: SmtpCatcher, sms: SmsProvider
) -> AsyncIterator[NotifierFactory]:
    """Start notifier apps (``share=`` a name to run replicas on one database and queue); all stopped after."""
    async with AsyncExitStack() as stack:
        shared: dict[str, RuntimeSettings] = {}

        async def start(
            *,
            backend: str = "postgres+amqp",
            share: str | None = None,
            notifier: NotifierSettings | None = None,
            clock: FakeClock | None = None,
            **overrides: Any,
        ) -> Notifier:
            if share is not None and share in shared:
                settings = shared[share]
            else:
                settings = make_settings("notifier", backend, log_level="WARNING", **overrides)
                if share is not None:
                    shared[share] = settings
            clock = clock or FakeClock()
            app = create_app(settings, clock=clock, notifier_settings=notifier or channel_settings(smtp, sms))
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=30)
            )
            runtime = app.state.runtime
            # On the embedded bus the probe's queue is declared on the app's own in-memory broker.
            broker = runtime.transport if settings.amqp_url.startswith("memory://") else None
            probe = await stack.enter_async_context(BusProbe(settings, keys=("notifier.#",), transport=broker))
            return Notifier(app, client, runtime, settings, clock, probe)

        yield start
