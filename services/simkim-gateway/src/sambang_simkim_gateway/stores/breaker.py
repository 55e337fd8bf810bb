"""The circuit breaker's one row: read on every call, written only when its state changes.

The rules are in ``domain.py``; this module only reads and writes them. Writes lock the row, so failures
counted by two replicas at once add up, and a conditional update hands the one probe to one replica.

Every read and write also tells Prometheus what this replica last saw (``sambang_simkim_breaker_open``) and
when (``sambang_simkim_breaker_checked_timestamp_seconds``): a replica that has had no SIMKIM work for a
while keeps an old view, so the alert only believes views younger than a few open periods.
"""

from __future__ import annotations

import datetime as dt

from prometheus_client import Gauge
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import RowMapping, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import Breaker, BreakerState
from ..models import circuit_breaker

SIMKIM = "simkim"

BREAKER_OPEN = Gauge(
    "sambang_simkim_breaker_open",
    "1 while the circuit breaker in front of SIMKIM is open or probing (as this replica last saw it), else 0",
)
BREAKER_CHECKED = Gauge(
    "sambang_simkim_breaker_checked_timestamp_seconds",
    "When this replica last read or wrote the circuit breaker (Unix time)",
)


def observe(b: Breaker) -> Breaker:
    """Export the breaker as this replica sees it now (open or half open count as open); returns it."""
    BREAKER_OPEN.set(0 if b.state is BreakerState.CLOSED else 1)
    BREAKER_CHECKED.set_to_current_time()  # wall time: Prometheus compares it with time()
    return b


def _from_row(m: RowMapping | None) -> Breaker:
    if m is None:
        return observe(Breaker())
    return observe(
        Breaker(
            state=BreakerState(m["state"]),
            failures=int(m["failures"]),
            open_seconds=float(m["open_seconds"]),
            retry_at=m["retry_at"],
            probe_until=m["probe_until"],
        )
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
    observe(b)


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
    won = bool(result.rowcount == 1)
    if won:
        observe(probing)
    return won


async def _ensure(conn: AsyncConnection, name: str, now: dt.datetime) -> None:
    await upsert(
        conn,
        circuit_breaker,
        {"name": name, "state": BreakerState.CLOSED.value, "failures": 0, "open_seconds": 0.0, "updated_at": now},
        key=["name"],
    )
