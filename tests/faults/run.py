"""What each fault scenario shares: its servers as ``stack.launched`` wants them, the bus names and the
services' settings of a run, the journeys' end, and the reconciliation afterwards."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from reconcile import Report, declare_probe, reconcile, settled, unsent_settled
from sambang_runtime.service import discover_services

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
import office as drive
from stack import Stack, launched, ready

#: A send interrupted by the notifier's SIGKILL is recorded failed after this lease (at most once).
LEASE = 30
#: Seconds from SIMKIM's acceptance to issuance.
ISSUANCE = 1.0


class RunServers:
    """What ``stack.launched`` needs of a ``Servers``: a broker URL (one node or a node list) and a
    PostgreSQL URL (one server or a multi-host URL) of the scenario's own."""

    def __init__(self, amqp_url: str, base_pg: str) -> None:
        self.run_id = uuid.uuid4().hex[:6]
        self.base_pg = base_pg
        self.databases: list[str] = []
        self._amqp = amqp_url

    def amqp_url(self) -> str:
        return self._amqp

    def service_databases(self) -> dict[str, str]:
        """Each service's database of this run, by service name."""
        return {
            d.name: next(db for db in self.databases if db.endswith("_" + d.name.replace("-", "_")))
            for d in discover_services()
        }


def log(what: str, **fields: object) -> None:
    print(json.dumps({"t": round(time.time(), 1), "fault": what, **fields}), file=sys.stderr, flush=True)


@dataclass
class Scenario:
    """A running stack on the scenario's servers, its client, and the bus names of the run."""

    servers: RunServers
    stack: Stack
    client: httpx.AsyncClient
    exchange: str
    prefix: str
    started: float


@asynccontextmanager
async def scenario(servers: RunServers, tmp_path: Path) -> AsyncIterator[Scenario]:
    """The probe and links queues declared before any service, then ``launcher up`` on ``servers``,
    ready, SIMKIM issuing after ``ISSUANCE`` seconds."""
    uniq = uuid.uuid4().hex[:6]
    exchange, prefix = f"sambang.events.{uniq}", f"sambang.{uniq}"
    await declare_probe(servers.amqp_url(), exchange)
    await drive.declare_links(servers.amqp_url(), exchange)
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
            yield Scenario(servers, stack, client, exchange, prefix, started)


@dataclass
class Outcome:
    """How the journeys ended and what the reconciliation found."""

    seconds: float
    failed: list[tuple[str, str]]
    receipts: list[str]
    report: Report


async def finish(run: Scenario, office: drive.Office, everyone: asyncio.Task[None]) -> Outcome:
    """Wait for every journey, for the bus and the notifier to settle, then reconcile."""
    await asyncio.wait_for(everyone, timeout=1800)
    took = time.monotonic() - run.started
    failed = [(j.applicant.receipt, j.error) for j in office.journeys if j.error]
    log("journeys ended", seconds=round(took), failed=len(failed), retried=drive.COUNTS.retried)
    amqp, pg = run.servers.amqp_url(), run.servers.base_pg
    databases = run.servers.service_databases()
    await settled(amqp, pg, databases, run.prefix, timeout=120)
    await unsent_settled(pg, databases["notifier"], timeout=LEASE * 4)
    receipts = [j.applicant.receipt for j in office.journeys if j.applicant.receipt]
    report = await reconcile(amqp, pg, databases, run.prefix, receipts)
    return Outcome(took, failed, receipts, report)
