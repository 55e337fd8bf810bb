"""UnitOfWork.run_atomic and execute_unique on PostgreSQL (one statement) and SQLite (the portable path)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sambang_contracts import ApplicationCancelled, CancelReason, parse_event
from sambang_runtime.db import create_engine, ensure_database, new_metadata
from sambang_runtime.outbox import define_bus_tables
from sambang_runtime.testing import Servers
from sambang_runtime.uow import AtomicChange, UniqueViolation, UnitOfWork, UnitOfWorkFactory
from sqlalchemy import Boolean, Column, Index, Integer, String, Table, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

metadata = new_metadata()
tables = define_bus_tables(metadata)
counter = Table(
    "counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("free", Integer, nullable=False),
)
item = Table(
    "item",
    metadata,
    Column("code", String(8), primary_key=True),
    Column("owner", String(8), nullable=False),
    Column("active", Boolean, nullable=False),
)
Index("uq_item_active_owner", item.c.owner, unique=True, postgresql_where=text("active"), sqlite_where=text("active"))

RECEIPT = "BLT2612010421733"


class Probe:
    """A unit-of-work factory on a fresh database, counting the relay wakes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.factory = UnitOfWorkFactory(engine, tables, "probe")
        self.wakes = 0

        def wake() -> None:
            self.wakes += 1

        self.factory.on_commit = wake

    async def rows(self, table: Table) -> list[Any]:
        """Every committed row of a table."""
        async with self.engine.connect() as conn:
            return list((await conn.execute(select(table))).all())

    async def free(self) -> int:
        """Places left on the counter."""
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(counter.c.free).where(counter.c.id == 1))).scalar_one())

    async def outbox_size(self) -> int:
        """Rows in the outbox."""
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(tables.outbox))).scalar_one())


@pytest.fixture(params=["postgres", "sqlite"])
async def probe(request: pytest.FixtureRequest, servers: Servers, tmp_path: Path) -> AsyncIterator[Probe]:
    """A probe on each backend, its counter at two free places."""
    name = f"atomic{uuid.uuid4().hex[:6]}"
    url = servers.pg_url(name) if request.param == "postgres" else f"sqlite+aiosqlite:///{tmp_path}/{name}.db"
    await ensure_database(url)
    engine = create_engine(url, pool_size=2)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(counter).values(id=1, free=2))
    yield Probe(engine)
    await engine.dispose()


def take_one(code: str, owner: str) -> AtomicChange:
    """Take a place of the counter and record an item for it, or nothing when no place is left."""

    async def portable(conn: AsyncConnection) -> bool:
        taken = await conn.execute(
            update(counter).where(counter.c.id == 1, counter.c.free > 0).values(free=counter.c.free - 1)
        )
        if taken.rowcount != 1:
            return False
        await conn.execute(insert(item).values(code=code, owner=owner, active=True))
        return True

    return AtomicChange(
        ctes=(
            "taken AS (UPDATE counter SET free = free - 1 WHERE id = $1 AND free > 0 RETURNING id), "
            "items AS (INSERT INTO item (code, owner, active)"
            " SELECT CAST($2 AS VARCHAR(8)), CAST($3 AS VARCHAR(8)), true FROM taken RETURNING 1)"
        ),
        args=(1, code, owner),
        guard="taken",
        portable=portable,
    )


def cancelled(uow: UnitOfWork) -> str:
    """Emit one event; returns its id."""
    return uow.emit(ApplicationCancelled(receipt_number=RECEIPT, reason=CancelReason.APPLICANT)).id


async def test_run_atomic_writes_the_change_and_its_events_together_and_wakes_the_relay_once(probe: Probe) -> None:
    async with probe.factory() as uow:
        first, second = cancelled(uow), cancelled(uow)
        assert await uow.run_atomic(take_one("i1", "ann")) is True
        assert uow.events == []
    assert [(r.code, r.owner) for r in await probe.rows(item)] == [("i1", "ann")]
    assert await probe.free() == 1
    outbox = await probe.rows(tables.outbox)
    assert sorted(r.event_id for r in outbox) == sorted([first, second])
    assert {parse_event(r.body).id for r in outbox} == {first, second}
    assert {r.event_type for r in outbox} == {"queue.application.cancelled"} and all(r.attempts == 0 for r in outbox)
    assert probe.wakes == 1


async def test_a_refused_change_writes_nothing_and_drops_its_events(probe: Probe) -> None:
    for code in ("i1", "i2"):
        async with probe.factory() as uow:
            assert await uow.run_atomic(take_one(code, code))
    wakes = probe.wakes
    async with probe.factory() as uow:
        cancelled(uow)
        assert await uow.run_atomic(take_one("i3", "i3")) is False
        assert uow.events == []
    async with probe.factory() as uow:
        # What the unit of work wrote before goes with the refused change.
        await (await uow.session.connection()).execute(insert(item).values(code="early", owner="eve", active=False))
        assert await uow.run_atomic(take_one("i4", "i4")) is False
    assert sorted(r.code for r in await probe.rows(item)) == ["i1", "i2"]
    assert await probe.free() == 0
    assert await probe.outbox_size() == 0
    assert probe.wakes == wakes


@pytest.mark.parametrize(("code", "owner", "rule"), [("i1", "bob", "pk_item"), ("i2", "ann", "uq_item_active_owner")])
async def test_a_broken_unique_rule_rolls_back_everything_and_is_named_alike_on_both_backends(
    probe: Probe, code: str, owner: str, rule: str
) -> None:
    async with probe.factory() as uow:
        assert await uow.run_atomic(take_one("i1", "ann"))
    async with probe.factory() as uow:
        cancelled(uow)
        with pytest.raises(UniqueViolation) as caught:
            await uow.run_atomic(take_one(code, owner))
        assert caught.value.constraint == rule and caught.value.table == "item"
        assert uow.events == []
    assert [r.code for r in await probe.rows(item)] == ["i1"]
    assert await probe.free() == 1
    assert await probe.outbox_size() == 0


async def test_run_atomic_joins_and_commits_the_transaction_the_unit_of_work_already_holds(probe: Probe) -> None:
    async with probe.factory() as uow:
        conn = await uow.session.connection()
        assert (await conn.execute(select(counter.c.free))).scalar_one() == 2
        await conn.execute(insert(item).values(code="early", owner="eve", active=False))
        cancelled(uow)
        assert await uow.run_atomic(take_one("i1", "ann"))
    assert sorted(r.code for r in await probe.rows(item)) == ["early", "i1"]
    assert await probe.outbox_size() == 1 and probe.wakes == 1


async def test_a_unit_of_work_can_try_again_after_a_unique_violation(probe: Probe) -> None:
    async with probe.factory() as uow:
        assert await uow.run_atomic(take_one("i1", "ann"))
    async with probe.factory() as uow:
        await (await uow.session.connection()).execute(select(counter.c.free))
        with pytest.raises(UniqueViolation):
            await uow.run_atomic(take_one("i1", "bob"))
        cancelled(uow)
        assert await uow.run_atomic(take_one("i2", "bob"))
    assert sorted(r.code for r in await probe.rows(item)) == ["i1", "i2"]
    assert await probe.outbox_size() == 1


async def test_execute_unique_names_the_broken_rule_and_rolls_the_unit_of_work_back(probe: Probe) -> None:
    async with probe.factory() as uow:
        await uow.execute_unique(insert(item).values(code="i1", owner="ann", active=True))
        await uow.commit()
    async with probe.factory() as uow:
        await uow.execute_unique(update(counter).values(free=9))
        cancelled(uow)
        with pytest.raises(UniqueViolation) as caught:
            await uow.execute_unique(insert(item).values(code="i2", owner="ann", active=True))
        assert caught.value.constraint == "uq_item_active_owner"
        assert uow.events == []
        await uow.commit()
    assert await probe.free() == 2
    assert [r.code for r in await probe.rows(item)] == ["i1"]
    assert await probe.outbox_size() == 0
