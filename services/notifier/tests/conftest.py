"""Fixtures of the notifier tests: real SMTP and SMS servers, notifier apps on PostgreSQL + RabbitMQ."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from notifier_support import Notifier, NotifierFactory, SmsProvider, SmtpCatcher, channel_settings
from sambang_notifier.app import create_app
from sambang_notifier.settings import NotifierSettings
from sambang_runtime.testing import AppStarter, FakeClock


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
async def start_notifier(start_app: AppStarter, smtp: SmtpCatcher, sms: SmsProvider) -> NotifierFactory:
    """Start notifier apps (``share=`` a name to run replicas on one database and queue); all stopped after
    (the runtime's ``start_app``)."""

    async def start(
        *,
        backend: str = "postgres+amqp",
        share: str | None = None,
        notifier: NotifierSettings | None = None,
        clock: FakeClock | None = None,
        **overrides: Any,
    ) -> Notifier:
        running = await start_app(
            create_app,
            "notifier",
            backend=backend,
            share=share,
            clock=clock,
            probe_keys=("notifier.#",),
            settings={"log_level": "WARNING", **overrides},
            notifier_settings=notifier or channel_settings(smtp, sms),
        )
        return Notifier(running.app, running.client, running.runtime, running.settings, running.clock, running.probe)

    return start
