"""Journeys through the whole system while, in turn, every service is killed (SIGKILL, restarted by the
launcher), RabbitMQ is stopped and started, PostgreSQL is restarted and SIMKIM is down for a while;
then a reconciliation (reconcile.py) proves nothing was lost, doubled or left disagreeing.

Runs on a PostgreSQL cluster and a RabbitMQ node of its own (servers.py), never the shared ones.
Parameters (environment):

- SAMBANG_FAULTS_JOURNEYS: concurrent journeys (default 200, the target).
- SAMBANG_FAULTS_SIMKIM_DOWN_SECONDS: how long SIMKIM answers 503 (default 60).
- SAMBANG_FAULTS_OUTAGE_SECONDS: how long the broker and the database stay down (default 10).
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
from pathlib import Path

import httpx
import pytest
from reconcile import declare_probe, reconcile, settled, unsent_settled
from sambang_runtime.service import discover_services
from servers import OwnPostgres, OwnRabbit, own_servers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
import office as drive
from stack import Stack, kill_service, launched, ready

JOURNEYS = int(os.environ.get("SAMBANG_FAULTS_JOURNEYS", "200"))
SIMKIM_DOWN = float(os.environ.get("SAMBANG_FAULTS_SIMKIM_DOWN_SECONDS", "60"))
OUTAGE = float(os.environ.get("SAMBANG_FAULTS_OUTAGE_SECONDS", "10"))
LEASE = 30
ISSUANCE = 1.0  # seconds from SIMKIM's acceptance to issuance


class FaultServers:
    """What ``stack.launched`` needs of a ``Servers``: the suite's own PostgreSQL and RabbitMQ."""

    def __init__(self, pg: OwnPostgres, mq: OwnRabbit) -> None:
        self.run_id = uuid.uuid4().hex[:6]
        self.base_pg = pg.url
        self.databases: list[str] = []
        self._amqp = mq.url

    def amqp_url(self) -> str:
        return self._amqp


@pytest.fixture(scope="module")
def own() -> Iterator[tuple[OwnPostgres, OwnRabbit]]:
    with own_servers() as pair:
        yield pair


def log(what: str, **fields: object) -> None:
    print(json.dumps({"t": round(time.time(), 1), "fault": what, **fields}), file=sys.stderr, flush=True)


async def faults(
    client: httpx.AsyncClient, stack: Stack, pg: OwnPostgres, mq: OwnRabbit, until_done: asyncio.Task[None]
) -> list[str]:
    """Every fault in turn, each after the system is ready again; what was done."""
    done: list[str] = []

    async def calm(seconds: float = 5) -> None:
        await ready(client, stack, timeout=180)
        await asyncio.sleep(seconds)

    await asyncio.sleep(10)  # journeys under way
    for d in discover_services():
        old, new = await kill_service(stack, d.name)
        log("killed", service=d.name, old=old, new=new)
        done.append(f"SIGKILL {d.name}")
        await calm()
        if d.name == "simkim-simulator":  # its settings live in the process: set the issuance delay again
            await drive.call(client, "PUT", stack.url("/simkim/_admin/issuance"), json={"delay_seconds": ISSUANCE})
    log("rabbitmq stopping")
    await asyncio.to_thread(mq.stop)
    await asyncio.sleep(OUTAGE)
    await asyncio.to_thread(mq.start)
    log("rabbitmq started")
    done.append(f"RabbitMQ stopped {OUTAGE:.0f} s")
    await calm()
    log("postgresql stopping")
    await asyncio.to_thread(pg.stop, "fast")
    await asyncio.sleep(OUTAGE)
    await asyncio.to_thread(pg.start)
    log("postgresql started")
    done.append(f"PostgreSQL restarted ({OUTAGE:.0f} s down)")
    await calm()
    faults_url = stack.url("/simkim/_admin/faults")
    await drive.call(client, "PUT", faults_url, json={"down": True})
    log("simkim down")
    await asyncio.sleep(SIMKIM_DOWN)
    await drive.call(client, "PUT", faults_url, json={"down": False})
    log("simkim up")
    done.append(f"SIMKIM down {SIMKIM_DOWN:.0f} s")
    return done


@pytest.mark.timeout(3600)
async def test_journeys_survive_every_fault_and_reconcile(own: tuple[OwnPostgres, OwnRabbit], tmp_path: Path) -> None:
    pg, mq = own
    servers = FaultServers(pg, mq)
    uniq = uuid.uuid4().hex[:6]
    exchange, prefix = f"sambang.events.{uniq}", f"sambang.{uniq}"
    await declare_probe(mq.url, exchange)
    await drive.declare_links(mq.url, exchange)
    env = {
        "SAMBANG_EXCHANGE": exchange,
        "SAMBANG_QUEUE_PREFIX": prefix,
        "SAMBANG_DATABASE_POOL_SIZE": "10",
        "SAMBANG_NOTIFIER_DISPATCH_POLL_SECONDS": "0.5",
        # A send interrupted by the notifier's SIGKILL is recorded failed after this lease (at most once).
        "SAMBANG_NOTIFIER_SENDING_LEASE_SECONDS": str(LEASE),
        "SAMBANG_NOTIFIER_HOUSEKEEPING_SECONDS": "5",
    }
    started = time.monotonic()
    with launched(servers, tmp_path, env=env) as stack:  # type: ignore[arg-type]
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:
            await ready(client, stack, timeout=180)
            await drive.call(client, "PUT", stack.url("/simkim/_admin/issuance"), json={"delay_seconds": ISSUANCE})
            office, everyone = await drive.run_journeys(
                client, stack.front_door, JOURNEYS, spread_seconds=min(120.0, JOURNEYS * 0.5), links_from=mq.url
            )
            done = await faults(client, stack, pg, mq, everyone)
            await asyncio.wait_for(everyone, timeout=1800)
            took = time.monotonic() - started
            failed = [(j.applicant.receipt, j.error) for j in office.journeys if j.error]
            log("journeys ended", seconds=round(took), failed=len(failed), retried=drive.COUNTS.retried)
            databases = {
                d.name: next(db for db in servers.databases if db.endswith("_" + d.name.replace("-", "_")))
                for d in discover_services()
            }
            await settled(mq.url, pg.url, databases, prefix, timeout=120)
            await unsent_settled(pg.url, databases["notifier"], timeout=LEASE * 4)
            receipts = [j.applicant.receipt for j in office.journeys if j.applicant.receipt]
            report = await reconcile(mq.url, pg.url, databases, prefix, receipts)
            log("reconciliation", faults=done, journeys=JOURNEYS, **report.numbers)
            assert not failed, f"{len(failed)} journeys failed, e.g. {failed[:3]}"
            assert not report.problems, report.problems
            assert len(receipts) == JOURNEYS
            with contextlib.suppress(Exception):
                (Path(os.environ.get("SAMBANG_FAULTS_REPORT", tmp_path / "report.json"))).write_text(
                    json.dumps({"faults": done, "journeys": JOURNEYS, "seconds": round(took), **report.numbers})
                )
