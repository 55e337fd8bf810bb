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
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
from reconcile import declare_probe, dsn, reconcile, settled, unsent_settled
from sambang_runtime.service import discover_services
from servers import PostgresPair, RabbitCluster, postgres_pair, rabbit_cluster

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
import office as drive
import steps
from stack import Stack, launched, ready

JOURNEYS = int(os.environ.get("SAMBANG_FAULTS_CLUSTER_JOURNEYS", "120"))
NODE_DOWN = float(os.environ.get("SAMBANG_FAULTS_NODE_DOWN_SECONDS", "15"))
PROMOTE_AFTER = float(os.environ.get("SAMBANG_FAULTS_PROMOTE_AFTER_SECONDS", "5"))
LEASE = 30
ISSUANCE = 1.0


class ClusterServers:
    """What ``stack.launched`` needs of a ``Servers``: the cluster's node list and the pair's URL."""

    def __init__(self, cluster: RabbitCluster, pair: PostgresPair) -> None:
        self.run_id = uuid.uuid4().hex[:6]
        self.base_pg = pair.url
        self.databases: list[str] = []
        self._amqp = cluster.url

    def amqp_url(self) -> str:
        return self._amqp


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[RabbitCluster, PostgresPair]]:
    with rabbit_cluster(3) as cluster, postgres_pair() as pair:
        yield cluster, pair


def log(what: str, **fields: object) -> None:
    print(json.dumps({"t": round(time.time(), 1), "fault": what, **fields}), file=sys.stderr, flush=True)


@dataclass
class BookingProbe:
    """Books one application every ``every`` seconds from addresses of its own; keeps what was accepted."""

    base: str
    slot_id: int
    every: float = 0.1
    accepted: list[tuple[float, str]] = field(default_factory=list)
    refused: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        clients = [
            httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=f"127.0.2.{i}"), timeout=10)
            for i in range(1, 33)
        ]
        try:
            n = 0
            while not self.stop.is_set():
                n += 1
                body = steps.booking(steps.new_applicant(), self.slot_id)
                try:
                    resp = await clients[n % len(clients)].post(
                        f"{self.base}/v1/applications", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
                    )
                except httpx.HTTPError:
                    self.refused += 1
                else:
                    if resp.status_code == 201:
                        self.accepted.append((time.time(), str(resp.json()["receipt_number"])))
                    else:
                        self.refused += 1
                await asyncio.sleep(self.every)
        finally:
            for c in clients:
                await c.aclose()

    def first_after(self, moment: float) -> float | None:
        return next((t for t, _ in self.accepted if t > moment), None)


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
        "promotion_to_first_booking_seconds": round(first - promoted, 2),
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
    servers = ClusterServers(cluster, pair)
    uniq = uuid.uuid4().hex[:6]
    exchange, prefix = f"sambang.events.{uniq}", f"sambang.{uniq}"
    await declare_probe(cluster.url, exchange)
    await drive.declare_links(cluster.url, exchange)
    env = {
        "SAMBANG_EXCHANGE": exchange,
        "SAMBANG_QUEUE_PREFIX": prefix,
        "SAMBANG_DATABASE_POOL_SIZE": "10",
        "SAMBANG_NOTIFIER_DISPATCH_POLL_SECONDS": "0.5",
        "SAMBANG_NOTIFIER_SENDING_LEASE_SECONDS": str(LEASE),
        "SAMBANG_NOTIFIER_HOUSEKEEPING_SECONDS": "5",
    }
    started = time.monotonic()
    with launched(servers, tmp_path, env=env) as stack:  # type: ignore[arg-type]
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:
            await ready(client, stack, timeout=180)
            await drive.call(client, "PUT", stack.url("/simkim/_admin/issuance"), json={"delay_seconds": ISSUANCE})
            replicas = {
                d.name: await asyncio.to_thread(cluster.quorum_members, f"{prefix}.{d.name}")
                for d in discover_services()
                if d.spec is not None and d.spec().handlers
            }
            log("quorum queue replicas", **replicas)
            office, everyone = await drive.run_journeys(
                client,
                stack.front_door,
                JOURNEYS,
                spread_seconds=min(90.0, JOURNEYS * 0.5),
                links_from=cluster.url,
            )
            slot_id = await steps.slot_today(client, stack.front_door)
            probe = BookingProbe(stack.front_door, slot_id)
            probing = asyncio.create_task(probe.run())
            try:
                figures = await faults(client, stack, cluster, pair, probe)
            finally:
                probe.stop.set()
                await probing
            await asyncio.wait_for(everyone, timeout=1800)
            took = time.monotonic() - started
            failed = [(j.applicant.receipt, j.error) for j in office.journeys if j.error]
            log("journeys ended", seconds=round(took), failed=len(failed), retried=drive.COUNTS.retried)
            databases = {
                d.name: next(db for db in servers.databases if db.endswith("_" + d.name.replace("-", "_")))
                for d in discover_services()
            }
            await settled(cluster.url, pair.url, databases, prefix, timeout=120)
            await unsent_settled(pair.url, databases["notifier"], timeout=LEASE * 4)
            receipts = [j.applicant.receipt for j in office.journeys if j.applicant.receipt]
            report = await reconcile(cluster.url, pair.url, databases, prefix, receipts)
            missing = await bookings_present(pair.url, databases["queue"], [r for _, r in probe.accepted])
            log(
                "reconciliation",
                journeys=JOURNEYS,
                probe_bookings=len(probe.accepted),
                probe_refused=probe.refused,
                **report.numbers,
            )
            assert all(n == len(cluster.nodes) for n in replicas.values()), replicas
            assert not failed, f"{len(failed)} journeys failed, e.g. {failed[:3]}"
            assert not missing, f"{len(missing)} accepted bookings are not in the promoted database: {missing[:3]}"
            assert not report.problems, report.problems
            assert len(receipts) == JOURNEYS
            assert pair.promoted
            with contextlib.suppress(Exception):
                out = Path(os.environ.get("SAMBANG_FAULTS_CLUSTER_REPORT", tmp_path / "cluster-report.json"))
                out.write_text(
                    json.dumps(
                        {
                            "journeys": JOURNEYS,
                            "seconds": round(took),
                            "quorum_replicas": replicas,
                            "probe_bookings": len(probe.accepted),
                            **figures,
                            **report.numbers,
                        }
                    )
                )
