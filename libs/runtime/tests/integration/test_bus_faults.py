"""The bus loses nothing and applies nothing twice: outbox -> broker -> inbox under faults."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import (
    Harness,
    effect_rows,
    emit_cancellations,
    probe_spec,
    producer_spec,
)
from sambang_contracts import ApplicationCancelled, CancelReason, dump_event, new_event
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.bus.transport import OutgoingMessage
from sambang_runtime.outbox import OutboxRelay
from sambang_runtime.ownservers import OwnRabbit, own_rabbit
from sambang_runtime.testing import eventually
from sqlalchemy import func, select


async def all_applied_once(consumer: Any, ids: list[str]) -> bool:
    rows = await effect_rows(consumer)
    return all(rows.get(i) == 1 for i in ids)


async def outbox_count(runtime: Any) -> int:
    o = runtime.spec.tables.outbox
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(o))).scalar_one())


async def parked(h: Harness, consumer: Any) -> int:
    return (await consumer.transport.queue_depths(consumer.consumer.queue))["parked"]


def raw_event(receipt: str | None = None) -> OutgoingMessage:
    receipt = receipt or generate_receipt_number("BLT", dt.date(2026, 12, 1))
    ev = new_event(ApplicationCancelled(receipt_number=receipt, reason=CancelReason.OFFICER), source="sambang/queue")
    return OutgoingMessage(ev.id, ev.type, dump_event(ev), ev.subject, ev.office)


async def test_events_flow_from_outbox_to_inbox_and_apply_once(harness: Harness) -> None:
    consumer = await harness.start(probe_spec(harness.probe))
    producer = await harness.start(producer_spec())
    ids = await emit_cancellations(producer, 50)
    await eventually(lambda: all_applied_once(consumer, ids), what="50 effects")
    assert await outbox_count(producer) == 0
    assert len(await effect_rows(consumer)) == 50


async def test_malformed_message_is_parked_and_later_messages_keep_flowing(harness: Harness) -> None:
    consumer = await harness.start(probe_spec(harness.probe))
    garbage = OutgoingMessage("not-an-event", "queue.application.cancelled", b"{not json", None, None)
    missing_id = OutgoingMessage(
        "x",
        "queue.application.cancelled",
        b'{"specversion":"1.0","type":"queue.application.cancelled","source":"sambang/x"}',
    )
    await consumer.transport.publish_batch([garbage, missing_id])
    producer = await harness.start(producer_spec())
    ids = await emit_cancellations(producer, 5)
    await eventually(lambda: all_applied_once(consumer, ids), what="later events applied")

    async def two_parked() -> bool:
        return await parked(harness, consumer) == 2

    await eventually(two_parked, what="both malformed messages parked")


async def test_unknown_event_type_is_parked_not_lost(harness: Harness) -> None:
    spec = probe_spec(harness.probe)
    spec.handlers = {**spec.handlers, "queue.mystery.#": spec.handlers["queue.application.cancelled"]}
    consumer = await harness.start(spec)
    ok = raw_event()
    body = ok.body.replace(b'"queue.application.cancelled"', b'"queue.mystery.happened"')
    await consumer.transport.publish_batch([OutgoingMessage(ok.event_id, "queue.mystery.happened", body)])

    async def one_parked() -> bool:
        return await parked(harness, consumer) == 1

    await eventually(one_parked, what="unknown type parked")
    assert await effect_rows(consumer) == {}


async def test_crash_after_commit_before_publish_is_published_after_restart(harness: Harness) -> None:
    consumer = await harness.start(probe_spec(harness.probe))
    producer = await harness.start(producer_spec())
    await producer.relay.stop()  # the relay dies before it could publish
    ids = await emit_cancellations(producer, 20)
    await harness.crash(producer)
    await asyncio.sleep(0.3)
    assert await effect_rows(consumer) == {}
    restarted = await harness.start(producer_spec())
    await eventually(lambda: all_applied_once(consumer, ids), what="events published after restart")
    assert await outbox_count(restarted) == 0


async def test_consumer_killed_after_commit_before_ack_applies_once_on_redelivery(harness: Harness) -> None:
    first = await harness.start(probe_spec(harness.probe))
    assert first.consumer is not None
    acked: list[str] = []

    async def never_ack(d: Any) -> None:  # the process dies right after its commit
        acked.append(d.event_id)

    first.consumer._ack = never_ack  # type: ignore[method-assign]
    producer = await harness.start(producer_spec())
    ids = await emit_cancellations(producer, 10)
    await eventually(lambda: all_applied_once(first, ids), what="effects committed by the first consumer")
    await harness.crash(first)
    second = await harness.start(probe_spec(harness.probe))

    async def redelivered_and_acked() -> bool:
        depths = await second.transport.queue_depths(second.settings.queue_name)
        return depths["ready"] == 0 and sum(harness.probe.calls.values()) == 10

    await eventually(redelivered_and_acked, what="redelivered messages acknowledged")
    assert await all_applied_once(second, ids)


async def test_consumer_killed_mid_handler_redelivers_unacked_messages(harness: Harness) -> None:
    harness.probe.gate = asyncio.Event()  # handlers hang: messages are delivered, not acked
    first = await harness.start(probe_spec(harness.probe))
    producer = await harness.start(producer_spec())
    ids = await emit_cancellations(producer, 10)

    async def delivered() -> bool:
        return sum(harness.probe.calls.values()) > 0

    await eventually(delivered, what="delivery to the first consumer")
    first_task_owner = first
    harness.probe.gate.set()
    harness.probe.gate = asyncio.Event()
    await harness.crash(first_task_owner)
    harness.probe.gate = None
    second = await harness.start(probe_spec(harness.probe))
    await eventually(lambda: all_applied_once(second, ids), what="all applied after redelivery")


async def test_same_event_delivered_five_times_concurrently_applies_once(harness: Harness) -> None:
    replicas = [await harness.start(probe_spec(harness.probe))]
    if harness.amqp:
        replicas.append(await harness.start(probe_spec(harness.probe)))  # a competing replica
    msg = raw_event()
    await replicas[0].transport.publish_batch([msg] * 5)

    async def all_acked() -> bool:
        depths = await replicas[0].transport.queue_depths(replicas[0].settings.queue_name)
        return depths["ready"] == 0 and await effect_rows(replicas[0]) == {msg.event_id: 1}

    await eventually(all_acked, what="five deliveries settled")
    await asyncio.sleep(0.3)
    assert await effect_rows(replicas[0]) == {msg.event_id: 1}


async def test_handler_that_always_fails_is_parked_after_the_limit_and_replayable(harness: Harness) -> None:
    poisoned = generate_receipt_number("BLT", dt.date(2026, 12, 1))
    harness.probe.poison.add(poisoned)
    consumer = await harness.start(probe_spec(harness.probe), max_retries=2)
    producer = await harness.start(producer_spec())
    [bad_id] = await emit_cancellations(producer, 1, receipts=[poisoned])
    good = await emit_cancellations(producer, 3)
    await eventually(lambda: all_applied_once(consumer, good), what="healthy events not blocked")

    async def is_parked() -> bool:
        return await parked(harness, consumer) == 1

    await eventually(is_parked, what="poisoned event parked")
    # first try + 2 retries, plus one more when the first try was inside a batch
    assert harness.probe.calls[bad_id] in (3, 4)
    harness.probe.poison.clear()  # the bug is fixed; replay the parked event
    moved = await consumer.transport.replay_parked(consumer.settings.queue_name)
    assert moved == 1
    await eventually(lambda: all_applied_once(consumer, [bad_id, *good]), what="replayed event applied")


async def test_poison_event_in_a_batch_does_not_roll_back_its_neighbours(harness: Harness) -> None:
    harness.probe.gate = asyncio.Event()
    poisoned = generate_receipt_number("BLT", dt.date(2026, 12, 2))
    harness.probe.poison.add(poisoned)
    consumer = await harness.start(probe_spec(harness.probe), max_retries=0)
    producer = await harness.start(producer_spec())
    receipts = [generate_receipt_number("BLT", dt.date(2026, 12, 2)) for _ in range(9)]
    receipts.insert(4, poisoned)
    ids = await emit_cancellations(producer, 10, receipts=receipts)
    await asyncio.sleep(0.3)
    harness.probe.gate.set()  # release one batch holding all ten
    healthy = [i for i, r in zip(ids, receipts, strict=True) if r != poisoned]
    await eventually(lambda: all_applied_once(consumer, healthy), what="neighbours applied")

    async def is_parked() -> bool:
        return await parked(harness, consumer) == 1

    await eventually(is_parked, what="poison parked")


async def test_unroutable_event_is_kept_flagged_in_the_outbox(harness: Harness) -> None:
    producer = await harness.start(producer_spec())  # nobody is bound to queue.application.cancelled
    [eid] = await emit_cancellations(producer, 1)
    o = producer.spec.tables.outbox

    async def flagged() -> bool:
        async with producer.engine.connect() as conn:
            row = (await conn.execute(select(o.c.unroutable_at).where(o.c.event_id == eid))).first()
        return row is not None and row[0] is not None

    await eventually(flagged, what="unroutable event flagged, not deleted")


async def test_two_relays_on_one_outbox_publish_each_event_once(harness: Harness) -> None:
    if not harness.amqp:
        pytest.skip("two relays on one database is a PostgreSQL deployment (SKIP LOCKED)")
    consumer = await harness.start(probe_spec(harness.probe))
    producer = await harness.start(producer_spec())
    await producer.relay.stop()
    ids = await emit_cancellations(producer, 300)
    relays = [
        OutboxRelay(producer.engine, producer.spec.tables, producer.transport, service="producer", batch_max=20)
        for _ in range(2)
    ]
    counts = await asyncio.gather(*(_drain_counting(r) for r in relays))
    assert sum(counts) == 300, counts  # each row handled by exactly one relay
    assert all(c > 0 for c in counts), counts
    await eventually(lambda: all_applied_once(consumer, ids), what="300 effects")
    assert sum(harness.probe.calls.values()) == 300  # no event delivered twice


async def _drain_counting(relay: OutboxRelay) -> int:
    total = 0
    while True:
        n = await relay.publish_pending()
        if n == 0:
            return total
        total += n
        await asyncio.sleep(0)


@pytest.fixture
def own_node(harness: Harness) -> Iterator[OwnRabbit | None]:
    """A RabbitMQ node of the test's own for the amqp backend: stopping the shared broker would fail
    every other test running against it (and did hang a CI run once)."""
    if not harness.amqp:
        yield None
        return
    with own_rabbit(name="sambang-restart") as node:
        yield node


def _ctl(node: OwnRabbit, *args: str) -> None:
    done = node.ctl(*args, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-400:]


@pytest.mark.broker_restart
@pytest.mark.timeout(240)
async def test_broker_outage_holds_events_in_the_outbox_and_delivers_them_once_after(
    harness: Harness, own_node: OwnRabbit | None
) -> None:
    on_node = {"amqp_url": own_node.url} if own_node is not None else {}
    consumer = await harness.start(probe_spec(harness.probe), **on_node)
    producer = await harness.start(producer_spec(), **on_node)
    before = await emit_cancellations(producer, 10)
    await eventually(lambda: all_applied_once(consumer, before), what="events before the outage")
    if own_node is not None:
        await asyncio.to_thread(_ctl, own_node, "stop_app")
    else:
        assert harness.broker is not None
        harness.broker.set_available(False)
    try:
        during = await emit_cancellations(producer, 20)  # the database still takes them
        await asyncio.sleep(1.0)
        assert await outbox_count(producer) == 20  # held, not lost
        report = await producer.readiness()
        assert report["checks"]["broker"] == "down"
    finally:
        if own_node is not None:
            await asyncio.to_thread(_ctl, own_node, "start_app")
            await asyncio.to_thread(_ctl, own_node, "await_startup")
        else:
            assert harness.broker is not None
            harness.broker.set_available(True)
    await eventually(lambda: all_applied_once(consumer, during), timeout=60, what="held events delivered")
    after = await emit_cancellations(producer, 5)  # consumption resumed, not only catch-up
    await eventually(lambda: all_applied_once(consumer, after), timeout=30, what="new events consumed")

    async def ready_again() -> bool:
        return bool((await consumer.readiness())["ready"])

    await eventually(ready_again, timeout=30, what="/readyz ready again")
    rows = await effect_rows(consumer)
    assert set(rows) == set(before + during + after)
    assert all(v == 1 for v in rows.values())


async def test_unroutable_event_reaches_a_consumer_that_starts_later(harness: Harness) -> None:
    producer = await harness.start(producer_spec())
    [eid] = await emit_cancellations(producer, 1)
    o = producer.spec.tables.outbox

    async def flagged() -> bool:
        async with producer.engine.connect() as conn:
            row = (await conn.execute(select(o.c.unroutable_at).where(o.c.event_id == eid))).first()
        return row is not None and row[0] is not None

    await eventually(flagged, what="unroutable event flagged")
    consumer = await harness.start(probe_spec(harness.probe))  # its queue exists from now on
    assert await producer.relay.reoffer_unroutable() == 1
    producer.relay.wake()
    await eventually(lambda: all_applied_once(consumer, [eid]), what="late consumer got the event")
    assert await outbox_count(producer) == 0


async def test_service_started_while_the_broker_is_down_consumes_once_it_is_back(harness: Harness) -> None:
    if harness.amqp:
        pytest.skip("covered with the in-memory broker; stopping RabbitMQ is the outage test's job")
    settings = harness.settings("probe")
    broker = harness.transport(settings)
    assert harness.broker is not None
    harness.broker.set_available(False)
    consumer = await harness.start(probe_spec(harness.probe))  # starts anyway, serving and reporting
    report = await consumer.readiness()
    assert report["checks"]["consumers"] == "not consuming" and not report["ready"]
    harness.broker.set_available(True)

    async def consuming() -> bool:
        return bool((await consumer.readiness())["ready"])

    await eventually(consuming, what="consumer started after the broker came back")
    producer = await harness.start(producer_spec())
    ids = await emit_cancellations(producer, 3)
    await eventually(lambda: all_applied_once(consumer, ids), what="events consumed")
    assert broker is harness.broker


async def test_partly_unconfirmed_batch_republishes_only_the_unconfirmed_events(harness: Harness) -> None:
    if harness.amqp:
        pytest.skip("a broker that nacks some messages of a batch is simulated by the in-memory broker")
    consumer = await harness.start(probe_spec(harness.probe))
    producer = await harness.start(producer_spec())
    await producer.relay.stop()
    ids = await emit_cancellations(producer, 5)
    assert harness.broker is not None
    harness.broker.nack_once.update(ids[1:3])
    assert await producer.relay.publish_pending() == 5
    assert await outbox_count(producer) == 2  # the confirmed three are gone, the nacked two kept
    assert await producer.relay.publish_pending() == 2
    assert await outbox_count(producer) == 0
    await eventually(lambda: all_applied_once(consumer, ids), what="all five applied once")
    assert sum(harness.probe.calls.values()) == 5  # nothing was published twice


async def test_a_commit_made_by_another_process_is_published_by_polling(harness: Harness) -> None:
    from sambang_runtime.db import create_engine
    from sambang_runtime.uow import UnitOfWorkFactory

    consumer = await harness.start(probe_spec(harness.probe))
    producer = await harness.start(producer_spec(), relay_poll_seconds=0.5)
    await asyncio.sleep(0.5)  # the relay has done its first round and is waiting
    other_engine = create_engine(producer.url)  # another process's writes: no in-process wake
    try:
        other = UnitOfWorkFactory(other_engine, producer.spec.tables, "queue")
        async with other() as uow:
            ev = uow.emit(
                ApplicationCancelled(
                    receipt_number=generate_receipt_number("BLT", dt.date(2026, 12, 3)), reason=CancelReason.APPLICANT
                )
            )
            await uow.commit()
        await eventually(lambda: all_applied_once(consumer, [ev.id]), timeout=10, what="polled relay published")
    finally:
        await other_engine.dispose()
