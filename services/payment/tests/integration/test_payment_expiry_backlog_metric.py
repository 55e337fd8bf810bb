"""The bill-expiry backlog gauge on PostgreSQL and RabbitMQ: what the alert ``SambangBillExpiryBacklog`` reads."""

from __future__ import annotations

import asyncio

import pytest
from payment_support import HarnessFactory
from prometheus_client import REGISTRY
from sambang_payment.background import expiry
from sambang_payment.background.expiry import measure_expiry_backlog
from sambang_payment.settings import PaymentSettings
from sambang_runtime.testing import eventually
from sambang_runtime.uow import UnitOfWork


def backlog() -> float | None:
    """The exported backlog, as Prometheus would scrape it."""
    return REGISTRY.get_sample_value("sambang_bills_expiry_backlog")


def last_sweep() -> float:
    """The exported time of this process's last finished sweep round."""
    return REGISTRY.get_sample_value("sambang_bills_expiry_last_sweep_timestamp_seconds") or 0.0


async def test_the_backlog_counts_unpaid_bills_past_their_time_until_a_sweep_expires_them(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    for _ in range(3):
        await h.register()
    cancelled = await h.register()
    assert await measure_expiry_backlog(h.runtime) == 0  # nothing due yet
    assert backlog() == 0
    h.clock.advance(hours=2, seconds=1)
    await h.cancel(cancelled)  # a voided bill is not overdue: it must not count
    await h.settled()
    assert await measure_expiry_backlog(h.runtime) == 3
    assert backlog() == 3
    assert await h.sweep() == 3
    assert await measure_expiry_backlog(h.runtime) == 0
    assert backlog() == 0


async def test_a_failing_sweeper_leaves_its_backlog_on_the_gauge_and_stops_stamping_rounds(
    payment_harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await payment_harness(payment=PaymentSettings(sweep_interval_seconds=0.2))

    async def stamped() -> bool:
        return last_sweep() > 0

    await eventually(stamped, what="a first sweep round")

    async def broken(uow: UnitOfWork, *, batch: int, now: object) -> int:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(expiry, "expire_due_bills", broken)
    receipts = [await h.register(), await h.register()]
    h.clock.advance(hours=2, seconds=1)

    async def two_behind() -> bool:
        return backlog() == 2

    await eventually(two_behind, what="the backlog of the failing sweeper")
    await asyncio.sleep(0.5)  # a round that began before the patch may still stamp: let it land
    stuck_at = last_sweep()
    await asyncio.sleep(0.5)  # two more rounds, both failing
    assert backlog() == 2
    assert last_sweep() == stuck_at  # failed rounds are not stamped
    monkeypatch.undo()

    async def caught_up() -> bool:
        return backlog() == 0 and last_sweep() > stuck_at

    await eventually(caught_up, what="the sweeper caught up")
    for r in receipts:
        assert (await h.bill(r)).status == "EXPIRED"
