"""Fixtures of the capture tests: one app per module on PostgreSQL and RabbitMQ, and extra apps on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from capture_support import T0, CaptureHarness, running, settings_on
from sambang_capture.settings import CaptureSettings
from sambang_runtime.testing import Servers


@pytest.fixture(scope="module")
async def capture_pg(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CaptureHarness]:
    """One capture app per test module on PostgreSQL + RabbitMQ (tests isolate by office and receipt)."""
    async with running(settings_on(servers, tmp_path_factory.mktemp("capture"), "postgres+amqp")) as h:
        yield h


@pytest.fixture
def capture(capture_pg: CaptureHarness) -> CaptureHarness:
    """The PostgreSQL + RabbitMQ app with its clock back at T0."""
    capture_pg.clock.set(T0)
    return capture_pg


@pytest.fixture
def capture_app(servers: Servers, tmp_path: Path) -> Callable[..., Any]:
    """Build an extra app with its own settings (an async context manager)."""

    def make(backend: str = "postgres+amqp", capture: CaptureSettings | None = None, **overrides: Any) -> Any:
        return running(settings_on(servers, tmp_path, backend, **overrides), capture)

    return make
