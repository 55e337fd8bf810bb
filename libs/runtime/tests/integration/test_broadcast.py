"""Fan-out: every replica gets every broadcast event from a queue of its own, while the service queue's
replicas keep competing (each event applied once), on RabbitMQ and on the in-memory broker."""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import aiormq
import pytest
from conftest import Harness, emit_cancellations, producer_spec
from sambang_contracts import ApplicationCancelled, CancelReason, CloudEvent
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.bus.memory import InMemoryBroker
from sambang_runtime.db import new_metadata
from sambang_runtime.outbox import define_bus_tables
from sambang_runtime.service import ServiceRuntime, ServiceSpec
from sambang_runtime.testing import eventually
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Column, Integer, String, Table, func, insert, select

fan_metadata = new_metadata()
fan_tables = define_bus_tables(fan_metadata)
shared_effect = Table(
    "shared_effect",
    fan_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Not unique on purpose: an event applied by two replicas shows up as two rows.
    Column("event_id", String(36), nullable=False),
)


@dataclass
class Replica:
    """What one replica saw on its own queue (its ServiceSpec.context)."""

    seen: list[str] = field(default_factory=list)
    attempts: collections.Counter[str] = field(default_factory=collections.Counter)
    #: receipts whose broadcast handler always fails / fails once / emits an event
    poison: set[str] = field(default_factory=set)
    flaky: set[str] = field(default_factory=set)
    emitting: set[str] = field(default_factory=set)


def replica_of(uow: UnitOfWork) -> Replica:
    ctx = uow.context
    assert isinstance(ctx, Replica)
    return ctx


async def when_application_cancelled_record_effect(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The shared queue's work: once per event across the replicas."""
    conn = await uow.session.connection()
    await conn.execute(insert(shared_effect).values(event_id=event.id))


async def when_application_cancelled_note_on_this_replica(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The broadcast work: every replica, every event."""
    replica = replica_of(uow)
    replica.attempts[event.id] += 1
    if event.subject in replica.poison:
        raise RuntimeError("poisoned receipt (probe)")
    if event.subject in replica.flaky and replica.attempts[event.id] == 1:
        raise RuntimeError("fails once (probe)")
    if event.subject in replica.emitting:
        uow.emit(ApplicationCancelled(receipt_number=event.subject, reason=CancelReason.OFFICER))
    uow.after_commit(lambda: replica.seen.append(event.id))


def fan_spec(replica: Replica, *, shared: bool = True) -> ServiceSpec:
    """A service with a shared handler table and a broadcast table on the same key."""
    return ServiceSpec(
        name="fan",
        metadata=fan_metadata,
        tables=fan_tables,
        handlers={"queue.application.cancelled": [when_application_cancelled_record_effect]} if shared else {},
        broadcast={"queue.application.cancelled": [when_application_cancelled_note_on_this_replica]},
        context=replica,
    )


async def shared_rows(runtime: ServiceRuntime) -> collections.Counter[str]:
    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(select(shared_effect.c.event_id, func.count()).group_by("event_id"))).all()
    return collections.Counter({r[0]: r[1] for r in rows})


async def queue_exists(h: Harness, runtime: ServiceRuntime, name: str) -> bool:
    if not h.amqp:
        assert isinstance(h.broker, InMemoryBroker)
        return name in h.broker._queues
    conn = await aio_pika.connect(runtime.settings.amqp_url)
    try:
        channel = await conn.channel()
        try:
            await channel.declare_queue(name, passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            return False
        except aiormq.exceptions.ChannelLockedResource:
            return True  # it exists, exclusive to its replica's connection
        return True
    finally:
        await conn.close()


async def test_every_replica_gets_every_broadcast_event_while_the_service_queue_is_shared(harness: Harness) -> None:
    one, two = Replica(), Replica()
    a = await harness.start(fan_spec(one))
    # The in-memory broker serves one consumer per service queue (embedded mode runs one replica), so
    # there the second replica has only its broadcast queue; on RabbitMQ both compete on the shared queue.
    b = await harness.start(fan_spec(two, shared=harness.amqp))
    assert a.broadcast_consumer is not None and b.broadcast_consumer is not None
    assert a.broadcast_consumer.queue != b.broadcast_consumer.queue
    producer = await harness.start(producer_spec())
    ids = await emit_cancellations(producer, 30)

    async def everyone_saw_all() -> bool:
        return set(ids) <= set(one.seen) and set(ids) <= set(two.seen)

    await eventually(everyone_saw_all, what="both replicas saw all 30 events")

    async def applied_once() -> bool:
        rows = await shared_rows(a)
        return set(rows) == set(ids)

    await eventually(applied_once, what="the shared handler applied every event")
    rows = await shared_rows(a)
    assert all(n == 1 for n in rows.values()), "the shared queue's replicas must compete, not both apply"
    assert sorted(one.seen) == sorted(ids) and sorted(two.seen) == sorted(ids), "each replica saw each event once"
    for runtime in (a, b):
        assert (await runtime.readiness())["checks"]["consumers"] == "ok"


async def test_a_stopped_replicas_queue_is_deleted_and_the_other_keeps_receiving(harness: Harness) -> None:
    one, two = Replica(), Replica()
    a = await harness.start(fan_spec(one))
    b = await harness.start(fan_spec(two, shared=harness.amqp))
    assert a.broadcast_consumer is not None
    gone = a.broadcast_consumer.queue
    assert await queue_exists(harness, a, gone)
    await a.stop()
    harness.runtimes.remove(a)
    await eventually(lambda: _not(queue_exists(harness, b, gone)), what="the stopped replica's queue deleted")
    producer = await harness.start(producer_spec())
    ids = await emit_cancellations(producer, 5)

    async def survivor_saw_all() -> bool:
        return set(ids) <= set(two.seen)

    await eventually(survivor_saw_all, what="the remaining replica saw the events")
    assert not set(ids) & set(one.seen)


async def test_a_failing_broadcast_handler_is_retried_then_dropped_and_the_next_events_flow(harness: Harness) -> None:
    day = dt.date(2026, 12, 1)
    poisoned, flaky, fine = (generate_receipt_number("BLT", day) for _ in range(3))
    replica = Replica(poison={poisoned}, flaky={flaky})
    runtime = await harness.start(fan_spec(replica, shared=False))
    assert runtime.consumer is None and runtime.broadcast_consumer is not None
    consumer = runtime.broadcast_consumer
    producer = await harness.start(producer_spec())
    ids = await emit_cancellations(producer, 3, receipts=[poisoned, flaky, fine])
    poisoned_id, flaky_id, fine_id = ids

    async def the_good_ones_arrived() -> bool:
        return {flaky_id, fine_id} <= set(replica.seen)

    await eventually(the_good_ones_arrived, what="the flaky and the fine event handled")

    async def poison_given_up() -> bool:
        return replica.attempts[poisoned_id] >= consumer.attempts

    await eventually(poison_given_up, what="the poisoned event tried every attempt")
    later = await emit_cancellations(producer, 2)

    async def later_ones_arrived() -> bool:
        return set(later) <= set(replica.seen)

    await eventually(later_ones_arrived, what="events after the poisoned one flow")
    assert poisoned_id not in replica.seen
    assert replica.attempts[poisoned_id] == consumer.attempts
    assert replica.attempts[flaky_id] == 2, "failed once, then handled"


async def test_a_broadcast_handler_that_emits_is_refused_and_nothing_is_published(harness: Harness) -> None:
    receipt = generate_receipt_number("BLT", dt.date(2026, 12, 1))
    replica = Replica(emitting={receipt})
    runtime = await harness.start(fan_spec(replica, shared=False))
    producer = await harness.start(producer_spec())
    (emitting_id,) = await emit_cancellations(producer, 1, receipts=[receipt])

    async def tried() -> bool:
        return replica.attempts[emitting_id] >= 1

    await eventually(tried, what="the emitting handler ran")
    after = await emit_cancellations(producer, 1)

    async def next_one_arrived() -> bool:
        return set(after) <= set(replica.seen)

    await eventually(next_one_arrived, what="the next event handled")
    assert replica.attempts[emitting_id] == 1, "emitting is a bug: not retried"
    assert emitting_id not in replica.seen
    outbox = runtime.spec.tables.outbox
    async with runtime.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(outbox))).scalar_one() == 0


async def test_after_commit_callbacks_run_after_commit_and_never_after_rollback(harness: Harness) -> None:
    if harness.amqp:
        pytest.skip("a unit-of-work behaviour: one backend is enough")
    runtime = await harness.start(fan_spec(Replica(), shared=False))
    calls: list[str] = []
    async with runtime.uow() as uow:
        conn = await uow.session.connection()
        await conn.execute(insert(shared_effect).values(event_id="x"))
        uow.after_commit(lambda: calls.append("committed"))
        assert calls == []
        await uow.commit()
    assert calls == ["committed"]
    async with runtime.uow() as uow:
        uow.after_commit(lambda: calls.append("rolled back"))
        await uow.rollback()
        await uow.commit()  # nothing left to commit, and the dropped callback stays dropped
    async with runtime.uow() as uow:
        uow.after_commit(lambda: calls.append("left open"))
    assert calls == ["committed"]


async def _not(check: Any) -> bool:
    return not await check
