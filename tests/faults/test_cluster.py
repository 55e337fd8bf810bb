"""Journeys on the engines a country runs: a 3-node RabbitMQ cluster and a PostgreSQL primary with a
synchronous streaming standby, all of this run's own (``sambang_runtime.ownservers``).

The services get every node in one broker URL and both servers in one multi-host database URL
(``target_session_attrs=read-write``). While the journeys run, one RabbitMQ node is SIGKILLed and
started again, then another; then the PostgreSQL primary is crashed and the standby promoted. A probe
books an application every 100 ms across the failover and times the first booking accepted after the
crash. Afterwards the reconciliation (reconcile.py) must find nothing lost, doubled or disagreeing,
every quorum queue must have had a replica on each node, and every booking the probe was told was
accepted must be in the promoted database.

Parameters (environment):

- SAMBANG_FAULTS_CLUSTER_JOURNEYS: concurrent journeys (default 120).
- SAMBANG_FAULTS_NODE_DOWN_SECONDS: how long a killed RabbitMQ node stays down (default 15).
- SAMBANG_FAULTS_PROMOTE_AFTER_SECONDS: from the primary's crash to the standby's promotion, the time
  an operator (CloudNativePG: its failover delay and health checks) takes to decide (default 5).
- SAMBANG_FAULTS_REPORT: where to write the figures as JSON (docs/performance.md quotes them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import office as drive
import pytest
import steps
from reconcile import dsn
from run import RunServers, finish, log, scenario
from sambang_runtime.service import discover_services
from servers import PostgresPair, RabbitCluster, postgres_pair, rabbit_cluster
from stack import Stack, ready

JOURNEYS = int(os.environ.get("SAMBANG_FAULTS_CLUSTER_JOURNEYS", "120"))
NODE_DOWN = float(os.environ.get("SAMBANG_FAULTS_NODE_DOWN_SECONDS", "15"))
PROMOTE_AFTER = float(os.environ.get("SAMBANG_FAULTS_PROMOTE_AFTER_SECONDS", "5"))


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[RabbitCluster, PostgresPair]]:
    with rabbit_cluster(3) as cluster, postgres_pair() as pair:
        yield cluster, pair


@dataclass
class BookingProbe:
    """Books one application every ``every`` seconds from addresses of its own (enough that the
    per-client limit never answers); keeps when each accepted booking was sent and answered."""

    base: str
    slot_id: int
    every: float = 0.1
    #: (sent, answered, receipt) of every booking answered 201
    accepted: list[tuple[float, float, str]] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        clients = [
            httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=f"127.0.2.{i}"), timeout=10)
            for i in range(1, 251)
        ]
        try:
            n = 0
            while not self.stop.is_set():
                n += 1
                body = steps.booking(steps.new_applicant(), self.slot_id)
                sent = time.time()
                try:
                    resp = await clients[n % len(clients)].post(
                        f"{self.base}/v1/applications", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
                    )
                except httpx.HTTPError as exc:
                    self.refused[type(exc).__name__] = self.refused.get(type(exc).__name__, 0) + 1
                else:
                    if resp.status_code == 201:
                        self.accepted.append((sent, time.time(), str(resp.json()["receipt_number"])))
                    else:
                        try:
                            code = f"{resp.status_code} {resp.json().get('code', '')}"
                        except ValueError:  # not a problem document (a proxy's page)
                            code = str(resp.status_code)
                        self.refused[code] = self.refused.get(code, 0) + 1
                await asyncio.sleep(self.every)
        finally:
            for c in clients:
                await c.aclose()

    def first_after(self, moment: float) -> float | None:
        """When the first booking sent after ``moment`` was answered accepted."""
        return next((answered for sent, answered, _ in self.accepted if sent > moment), None)


async def faults(
    client: httpx.AsyncClient, stack: Stack, cluster: RabbitCluster, pair: PostgresPair, probe: BookingProbe
) -> dict[str, object]:
    """Two RabbitMQ nodes lost in turn, then the PostgreSQL primary; what was done and measured."""

    async def calm(seconds: float = 5) -> None:
        await ready(client, stack, timeout=180)
        await asyncio.sleep(seconds)

    done: list[str] = []
    await asyncio.sleep(10)  # journeys under way
    for index in (0, 1):
        await asyncio.to_thread(cluster.kill, index)
        log("rabbitmq node killed", node=index, running=await asyncio.to_thread(cluster.running_nodes))
        await asyncio.sleep(NODE_DOWN)
        await asyncio.to_thread(cluster.restart, index)
        log("rabbitmq node back", node=index)
        done.append(f"RabbitMQ node {index} SIGKILLed, back after {NODE_DOWN:.0f} s")
        await calm(10)
    booked_before = len(probe.accepted)
    crashed = time.time()
    await asyncio.to_thread(pair.kill_primary)
    log("postgresql primary crashed")
    await asyncio.sleep(PROMOTE_AFTER)
    await asyncio.to_thread(pair.promote)
    promoted = time.time()
    log("standby promoted", seconds=round(promoted - crashed, 2))
    done.append(f"PostgreSQL primary crashed, standby promoted after {PROMOTE_AFTER:.0f} s")
    deadline = time.time() + 120
    while probe.first_after(promoted) is None and time.time() < deadline:
        await asyncio.sleep(0.1)
    first = probe.first_after(crashed)
    assert first is not None, "no booking was accepted within 2 minutes of the promotion"
    figures = {
        "crash_to_promotion_seconds": round(promoted - crashed, 2),
        "crash_to_first_booking_seconds": round(first - crashed, 2),
        # pg_ctl promote returns a moment after the standby takes writes: this may be slightly negative.
        "pg_ctl_promote_returned_to_first_booking_seconds": round(first - promoted, 2),
        "bookings_accepted_before_crash": booked_before,
    }
    log("first booking after the failover", **figures)
    return {"faults": done, **figures}


async def bookings_present(pg_url: str, database: str, receipts: list[str]) -> list[str]:
    """The receipts of ``receipts`` the queue service's database does not hold."""
    conn = await asyncpg.connect(dsn(pg_url, database))
    try:
        rows = await conn.fetch(
            "SELECT receipt_number FROM application WHERE receipt_number = ANY($1::text[])", receipts
        )
    finally:
        await conn.close()
    held = {r["receipt_number"] for r in rows}
    return [r for r in receipts if r not in held]


@pytest.mark.timeout(3600)
async def test_journeys_survive_lost_broker_nodes_and_a_database_failover(
    engines: tuple[RabbitCluster, PostgresPair], tmp_path: Path
) -> None:
    cluster, pair = engines
    async with scenario(RunServers(cluster.url, pair.url), tmp_path) as run:
        replicas = {
            d.name: await asyncio.to_thread(cluster.quorum_members, f"{run.prefix}.{d.name}")
            for d in discover_services()
            if d.spec is not None and d.spec().handlers
        }
        log("quorum queue replicas", **replicas)
        office, everyone = await drive.run_journeys(
            run.client, run.stack.front_door, JOURNEYS, spread_seconds=min(90.0, JOURNEYS * 0.5), links_from=cluster.url
        )
        probe = BookingProbe(run.stack.front_door, await steps.slot_today(run.client, run.stack.front_door))
        probing = asyncio.create_task(probe.run())
        try:
            figures = await faults(run.client, run.stack, cluster, pair, probe)
        finally:
            probe.stop.set()
            await probing
        out = await finish(run, office, everyone)
        queue_db = run.servers.service_databases()["queue"]
        missing = await bookings_present(pair.url, queue_db, [r for _, _, r in probe.accepted])
        log(
            "reconciliation",
            journeys=JOURNEYS,
            probe_bookings=len(probe.accepted),
            probe_refused=probe.refused,
            **out.report.numbers,
        )
        assert all(n == len(cluster.nodes) for n in replicas.values()), replicas
        assert not out.failed, f"{len(out.failed)} journeys failed, e.g. {out.failed[:3]}"
        assert not missing, f"{len(missing)} accepted bookings are not in the promoted database: {missing[:3]}"
        assert not out.report.problems, out.report.problems
        assert len(out.receipts) == JOURNEYS
        assert pair.promoted
        with contextlib.suppress(Exception):
            report = Path(os.environ.get("SAMBANG_FAULTS_CLUSTER_REPORT", tmp_path / "cluster-report.json"))
            numbers = {"journeys": JOURNEYS, "seconds": round(out.seconds), "quorum_replicas": replicas}
            report.write_text(
                json.dumps({**numbers, "probe_bookings": len(probe.accepted), **figures, **out.report.numbers})
            )
