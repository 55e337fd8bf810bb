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
from collections.abc import Iterator
from pathlib import Path

import httpx
import office as drive
import pytest
from run import ISSUANCE, RunServers, finish, log, scenario
from sambang_runtime.service import discover_services
from servers import OwnPostgres, OwnRabbit, own_servers
from stack import Stack, kill_service, ready

JOURNEYS = int(os.environ.get("SAMBANG_FAULTS_JOURNEYS", "200"))
SIMKIM_DOWN = float(os.environ.get("SAMBANG_FAULTS_SIMKIM_DOWN_SECONDS", "60"))
OUTAGE = float(os.environ.get("SAMBANG_FAULTS_OUTAGE_SECONDS", "10"))


@pytest.fixture(scope="module")
def own() -> Iterator[tuple[OwnPostgres, OwnRabbit]]:
    with own_servers() as pair:
        yield pair


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
    async with scenario(RunServers(mq.url, pg.url), tmp_path) as run:
        office, everyone = await drive.run_journeys(
            run.client, run.stack.front_door, JOURNEYS, spread_seconds=min(120.0, JOURNEYS * 0.5), links_from=mq.url
        )
        done = await faults(run.client, run.stack, pg, mq, everyone)
        out = await finish(run, office, everyone)
        log("reconciliation", faults=done, journeys=JOURNEYS, **out.report.numbers)
        assert not out.failed, f"{len(out.failed)} journeys failed, e.g. {out.failed[:3]}"
        assert not out.report.problems, out.report.problems
        assert len(out.receipts) == JOURNEYS
        with contextlib.suppress(Exception):
            (Path(os.environ.get("SAMBANG_FAULTS_REPORT", tmp_path / "report.json"))).write_text(
                json.dumps({"faults": done, "journeys": JOURNEYS, "seconds": round(out.seconds), **out.report.numbers})
            )
