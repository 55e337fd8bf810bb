"""The breaker gauge on PostgreSQL and RabbitMQ with the SIMKIM simulator over real HTTP: what the alert
``SambangSimkimBreakerOpen`` reads."""

from __future__ import annotations

import random
import time

from conftest import Capture, ProbedFactory
from gateway_support import Simkim, new_application
from prometheus_client import REGISTRY
from sambang_runtime.testing import eventually


def breaker_open() -> float | None:
    """The exported breaker state of this process (1 open or probing, 0 closed)."""
    return REGISTRY.get_sample_value("sambang_simkim_breaker_open")


def checked_at() -> float:
    """When this process last read or wrote the breaker, as exported."""
    return REGISTRY.get_sample_value("sambang_simkim_breaker_checked_timestamp_seconds") or 0.0


async def test_the_breaker_gauge_reads_1_while_simkim_is_down_and_0_once_it_answers_again(
    probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw, probe = await probed(max_attempts=30)
    await simkim.faults(down=True)
    app = new_application(rng)
    capture[0].bundles[app.receipt] = app.bundle
    started = time.time()
    await gw.publish(app.registered(), app.paid(), app.captured(), app.interviewed())

    async def opened() -> bool:
        return breaker_open() == 1

    await eventually(opened, 20, "the gauge shows the breaker open")
    assert checked_at() >= started  # a fresh view, so the alert believes it

    await simkim.faults(down=False)

    async def closed() -> bool:
        return breaker_open() == 0

    await eventually(closed, 30, "the gauge shows the breaker closed")
    await probe.wait_for("simkim.submission.accepted", subject=app.receipt, timeout=30)
    assert breaker_open() == 0
