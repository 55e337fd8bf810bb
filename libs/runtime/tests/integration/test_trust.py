"""The bus trusts only its owners, and carries no personal data in the clear (#16).

A ``payment.confirmed`` published with ``source: sambang/queue`` once marked a bill paid: consumers now
park an event whose source is not the owner of its type, count it and apply nothing. The applicant's
personal fields are sealed in the producer's outbox rows and on the broker, and opened by the consumer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from conftest import Harness, effect_rows, probe_spec, producer_spec
from sambang_contracts import ApplicationCancelled, CancelReason, dump_event, new_event
from sambang_contracts.examples import EXAMPLES
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.bus.transport import OutgoingMessage
from sambang_runtime.crypto import DecryptionError, cipher_from_settings, generate_key
from sambang_runtime.metrics import EVENTS_FORGED
from sambang_runtime.sealing import open_body, seal_body
from sambang_runtime.testing import eventually
from sqlalchemy import select


async def parked(consumer: Any) -> int:
    return int((await consumer.transport.queue_depths(consumer.consumer.queue))["parked"])


async def test_an_event_with_a_forged_source_is_parked_counted_and_not_applied(harness: Harness) -> None:
    consumer = await harness.start(probe_spec(harness.probe))
    receipt = generate_receipt_number("BLT", dt.date(2026, 12, 1))
    before = EVENTS_FORGED.labels("probe", "queue.application.cancelled")._value.get()
    forged = new_event(
        ApplicationCancelled(receipt_number=receipt, reason=CancelReason.OFFICER), source="sambang/payment"
    )
    honest = new_event(
        ApplicationCancelled(receipt_number=receipt, reason=CancelReason.OFFICER), source="sambang/queue"
    )
    await consumer.transport.publish_batch(
        [OutgoingMessage(ev.id, ev.type, dump_event(ev), ev.subject, ev.office) for ev in (forged, honest)]
    )

    async def honest_applied() -> bool:
        return (await effect_rows(consumer)).get(honest.id) == 1

    await eventually(honest_applied, what="the owner's event applied")

    async def one_parked() -> bool:
        return await parked(consumer) == 1

    await eventually(one_parked, what="the forged event parked")
    assert forged.id not in await effect_rows(consumer)
    assert EVENTS_FORGED.labels("probe", "queue.application.cancelled")._value.get() == before + 1


async def test_personal_fields_are_sealed_in_the_outbox_and_on_the_bus(harness: Harness) -> None:
    producer = await harness.start(producer_spec())
    registered = EXAMPLES["queue.application.registered"]
    applicant = registered.applicant  # type: ignore[attr-defined]
    async with producer.uow() as uow:
        ev = uow.emit(registered)
        await uow.commit()
    outbox = producer.spec.tables.outbox
    async with producer.engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.body).where(outbox.c.event_id == ev.id))).all()
    bodies = [bytes(r[0]) if not isinstance(r[0], str) else r[0].encode() for r in rows]
    assert len(bodies) == 1
    sealed = seal_body(dump_event(ev), ev.id, ev.type, producer.cipher)
    for body in [*bodies, sealed]:
        for secret in (applicant.nik, applicant.full_name, applicant.birth_date.isoformat()):
            assert secret.encode() not in body
        opened = open_body(body, producer.cipher)
        assert applicant.nik.encode() in opened
    # Without the key nothing opens: another cipher refuses, it does not guess.
    stranger = cipher_from_settings(f"k9:{generate_key()}", generate_key())
    try:
        open_body(sealed, stranger)
    except Exception as exc:  # SealingError wraps the DecryptionError
        assert isinstance(exc, ValueError)
    else:
        raise AssertionError("a stranger's key opened a sealed event")
    assert issubclass(DecryptionError, ValueError)
