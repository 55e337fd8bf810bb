"""The circuit breaker's one row: read on every call, written only when its state changes.

The rules are in ``domain.py``; this module only reads and writes them. Writes lock the row, so failures
counted by two replicas at once add up, and a conditional update hands the one probe to one replica.
"""

from __future__ import annotations

import datetime as dt

from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import RowMapping, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import Breaker, BreakerState
from ..models import circuit_breaker

SIMKIM = "simkim"


def _from_row(m: RowMapping | None) -> Breaker:
    if m is None:
        return Breaker()
    return Breaker(
        state=BreakerState(m["state"]),
        failures=int(m["failures"]),
        open_seconds=float(m["open_seconds"]),
        retry_at=m["retry_at"],
        probe_until=m["probe_until"],
    )


async def read(uow: UnitOfWork, name: str = SIMKIM) -> Breaker:
    """The breaker as last written (closed when never written)."""
    conn = await uow.session.connection()
    row = (await conn.execute(select(circuit_breaker).where(circuit_breaker.c.name == name))).mappings().first()
    return _from_row(row)


async def lock(uow: UnitOfWork, name: str = SIMKIM) -> Breaker:
    """The breaker, row-locked for this transaction (created closed on first use)."""
    conn = await uow.session.connection()
    await _ensure(conn, name, uow.now())
    locked = select(circuit_breaker).where(circuit_breaker.c.name == name).with_for_update()
    return _from_row((await conn.execute(locked)).mappings().one())


async def write(uow: UnitOfWork, b: Breaker, name: str = SIMKIM) -> None:
    """Store the breaker locked by ``lock``."""
    conn = await uow.session.connection()
    await conn.execute(
        update(circuit_breaker)
        .where(circuit_breaker.c.name == name)
        .values(
            state=b.state.value,
            failures=b.failures,
            open_seconds=b.open_seconds,
            retry_at=b.retry_at,
            probe_until=b.probe_until,
            updated_at=uow.now(),
        )
    )


async def take_probe(uow: UnitOfWork, probing: Breaker, name: str = SIMKIM) -> bool:
    """Claim the one probe: True for the replica whose update found the breaker still due for a probe."""
    conn = await uow.session.connection()
    now = uow.now()
    result = await conn.execute(
        update(circuit_breaker)
        .where(
            circuit_breaker.c.name == name,
            or_(
                and_(
                    circuit_breaker.c.state == BreakerState.OPEN.value,
                    or_(circuit_breaker.c.retry_at.is_(None), circuit_breaker.c.retry_at <= now),
                ),
                and_(
                    circuit_breaker.c.state == BreakerState.HALF_OPEN.value,
                    or_(circuit_breaker.c.probe_until.is_(None), circuit_breaker.c.probe_until <= now),
                ),
            ),
        )
        .values(state=probing.state.value, probe_until=probing.probe_until, updated_at=now)
    )
    return bool(result.rowcount == 1)


async def _ensure(conn: AsyncConnection, name: str, now: dt.datetime) -> None:
    await upsert(
        conn,
        circuit_breaker,
        {"name": name, "state": BreakerState.CLOSED.value, "failures": 0, "open_seconds": 0.0, "updated_at": now},
        key=["name"],
    )
