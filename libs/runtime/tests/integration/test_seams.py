"""The seams stores, routes and tests share: upsert and keep_latest on both databases, the receipt path,
the bounded body and the client limit, the bus probe with its absence proof, memory_uow."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from conftest import Harness, effect_rows, emit_cancellations, probe_spec, producer_spec
from fastapi import APIRouter, Depends, Request
from sambang_contracts import ApplicationCancelled, CancelReason
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.db import UtcDateTime, create_engine, drop_database, ensure_database, new_metadata
from sambang_runtime.http import ReceiptPath, client_rate_limit, read_limited_body
from sambang_runtime.ratelimit import RateLimiter
from sambang_runtime.service import create_service_app
from sambang_runtime.sql import keep_latest, upsert
from sambang_runtime.testing import BusProbe, FakeClock, Servers, memory_uow, wait_handled, wait_ready
from sqlalchemy import Column, Integer, String, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

copies = new_metadata()
office_copy = Table(
    "office_copy",
    copies,
    Column("office", String(3), primary_key=True),
    Column("name", String(50), nullable=False),
    Column("hits", Integer, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime(), nullable=False),
)
T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
RECEIPT = generate_receipt_number("BLT", dt.date(2026, 12, 1))


@pytest.fixture(params=["postgres", "sqlite"])
async def engine(request: pytest.FixtureRequest, servers: Servers, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = (
        servers.pg_url(f"seams_{id(request)}")
        if request.param == "postgres"
        else f"sqlite+aiosqlite:///{tmp_path}/s.db"
    )
    await ensure_database(url)
    eng = create_engine(url)
    async with eng.begin() as conn:
        await conn.run_sync(copies.create_all)
    yield eng
    await eng.dispose()
    await drop_database(url)


async def _rows(engine: AsyncEngine) -> dict[str, tuple[str, int, dt.datetime]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(office_copy))).all()
    return {r.office: (r.name, r.hits, r.updated_at) for r in rows}


async def test_upsert_inserts_ignores_updates_and_guards_on_both_databases(engine: AsyncEngine) -> None:
    row = {"office": "BLT", "name": "Blitar", "hits": 1, "updated_at": T0}
    async with engine.begin() as conn:
        await upsert(conn, office_copy, row, key=["office"])
        # DO NOTHING: the second insert of the same key changes nothing.
        await upsert(conn, office_copy, {**row, "name": "ignored"}, key=["office"])
    assert (await _rows(engine))["BLT"][0] == "Blitar"
    async with engine.begin() as conn:
        # No key: a conflict with any unique rule is ignored.
        assert (await upsert(conn, office_copy, {**row, "name": "any rule"}, key=())).rowcount == 0
        with pytest.raises(ValueError, match="key"):
            await upsert(conn, office_copy, row, key=(), update=["name"])
    async with engine.begin() as conn:
        await upsert(
            conn,
            office_copy,
            [{**row, "hits": 5}, {"office": "MLG", "name": "Malang", "hits": 1, "updated_at": T0}],
            key=["office"],
            update=lambda excluded: {"hits": office_copy.c.hits + excluded.hits},
        )
        # A guarded update whose condition fails writes nothing.
        result = await upsert(
            conn, office_copy, {**row, "name": "never"}, key=["office"], update=["name"], where=office_copy.c.hits > 99
        )
        assert result.rowcount == 0
    rows = await _rows(engine)
    assert rows["BLT"][:2] == ("Blitar", 6) and rows["MLG"][:2] == ("Malang", 1)


async def test_keep_latest_never_lets_a_late_event_overwrite_a_newer_copy(engine: AsyncEngine) -> None:
    newer = {"office": "BLT", "name": "Blitar (new)", "updated_at": T0 + dt.timedelta(hours=1)}
    older = {"office": "BLT", "name": "Blitar (old)", "updated_at": T0}
    async with engine.begin() as conn:
        assert await keep_latest(conn, office_copy, newer, key=["office"])
        assert not await keep_latest(conn, office_copy, older, key=["office"])
    assert (await _rows(engine))["BLT"][0] == "Blitar (new)"
    async with engine.begin() as conn:
        assert await keep_latest(conn, office_copy, {**newer, "name": "Blitar (same time)"}, key=["office"])
        later = {**newer, "name": "Blitar (later)", "updated_at": T0 + dt.timedelta(hours=2)}
        assert await keep_latest(conn, office_copy, later, key=["office"])
    assert (await _rows(engine))["BLT"][:1] == ("Blitar (later)",)
    with pytest.raises(ValueError, match="version"):
        async with engine.begin() as conn:
            await keep_latest(conn, office_copy, {"office": "BLT", "name": "x"}, key=["office"])


async def test_receipt_path_body_limit_and_client_limit_answer_common_problems(harness: Harness) -> None:
    router = APIRouter(prefix="/v1/seams")
    limiter = RateLimiter(capacity=2, rate_per_second=0.001)

    @router.get("/{receipt_number}", dependencies=[Depends(client_rate_limit(lambda _c: limiter))])
    async def read(receipt: ReceiptPath) -> dict[str, str]:
        """Echo a valid receipt."""
        return {"receipt": receipt}

    @router.post("/body")
    async def body(request: Request) -> dict[str, int]:
        """Count a bounded body."""
        return {"size": len(await read_limited_body(request, 10))}

    spec = dataclasses.replace(probe_spec(harness.probe), routers=[router], handlers={})
    settings = harness.settings("seams")
    app = create_service_app(spec, settings, transport=harness.transport(settings), configure_logs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        await wait_ready(client)
        assert (await client.get(f"/v1/seams/{RECEIPT}")).json() == {"receipt": RECEIPT}
        typo = RECEIPT[:-1] + str((int(RECEIPT[-1]) + 1) % 10)
        bad = await client.get(f"/v1/seams/{typo}", headers={"Accept-Language": "en"})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_receipt_number"
        assert typo not in bad.json()["detail"]  # the value is never echoed in the words
        limited = await client.get(f"/v1/seams/{RECEIPT}")
        assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        assert (await client.post("/v1/seams/body", content=b"0123456789")).json() == {"size": 10}
        big = await client.post("/v1/seams/body", content=b"0123456789x")
        assert big.status_code == 413 and big.json()["code"] == "payload_too_large" and big.json()["max_bytes"] == 10

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(5):
                yield b"abcd"  # no content-length: refused while streaming

        streamed = await client.post("/v1/seams/body", content=chunks())
        assert streamed.status_code == 413


async def test_bus_probe_records_waits_and_proves_absence_only_after_handling(harness: Harness) -> None:
    consumer = await harness.start(probe_spec(harness.probe))
    producer = await harness.start(producer_spec())
    settings = harness.settings("queue")
    async with BusProbe(settings, ("queue.application.#",), transport=harness.broker) as probe:
        ids = await emit_cancellations(producer, 2)
        found = await probe.wait_for("queue.application.cancelled", 2)
        assert {e.id for e in found} == set(ids)
        # The trigger was handled (its id is in the consumer's inbox) and nothing else was published.
        await probe.assert_absent("queue.application.registered", handled=(consumer, ids[0]))
        assert (await effect_rows(consumer))[ids[0]] == 1
        # An event that was published fails the absence check.
        with pytest.raises(AssertionError, match="should not have been"):
            await probe.assert_absent("queue.application.cancelled", handled=(consumer, ids[1]))
        # A barrier returns only after what was routed before it arrived.
        more = await emit_cancellations(producer, 1)
        await wait_handled(consumer, more[0])
        await probe.barrier()
        assert more[0] in {e.id for e in probe.events}
    with pytest.raises(AssertionError, match="timed out"):
        await wait_handled(consumer, "no-such-event", timeout=0.3)


async def test_memory_uow_runs_a_change_and_writes_the_outbox_without_a_server() -> None:
    clock = FakeClock(T0)
    spec = producer_spec()
    async with memory_uow(spec, clock=clock) as uow:
        assert uow.now() == T0
        uow.emit(ApplicationCancelled(receipt_number=RECEIPT, reason=CancelReason.APPLICANT))
        assert [e.type for e in uow.events] == ["queue.application.cancelled"]
        await uow.commit()
        conn = await uow.session.connection()
        rows = (await conn.execute(select(spec.tables.outbox.c.event_type))).all()
    assert [r[0] for r in rows] == ["queue.application.cancelled"]
