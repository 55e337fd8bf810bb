"""Complete journeys per minute through the whole system, the latency of each event hop, and check-in
to tablet alert, beside raw RabbitMQ and PostgreSQL rates measured in the same run.

The system runs as `make up` runs it (`launcher up`: each service its own process, the front door in
front), on the shared servers in a RabbitMQ virtual host and databases of this run's own, removed
afterwards. Journeys are driven over REST as in tests/faults/office.py: applicants book, pay (the demo
bank's webhook), confirm arrival and check in; counters call whatever ticket is next and serve it
(documents, twelve biometric uploads, interview); SIMKIM (the simulator, issuance delay 0) issues; the
applicant collects. A journey counts when its passport was handed over.

- journeys_per_minute: completed journeys / (last hand-over - first booking) * 60.
- hops: for every event and every service whose queue binds it, inbox ``received_at`` (the consumer's
  commit) minus the event's ``time`` (set just before the producer's commit); p50/p99 per event type.
- tablet alert: priority applicants check in while a Sambang officer's tablet follows
  /v1/streams/officers (SSE); from sending the check-in to the alert of that receipt on the stream.
- raw: plain aio-pika publish-with-confirms and consume on a quorum queue (events/s), and plain asyncpg
  single-row inserts, each its own transaction, at 16 connections (rows/s).

    python bench/journey.py [--journeys 40] [--priority 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import _harness as h
import asyncpg
import httpx
from _harness import pct
from bus import raw_throughput

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "faults"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import office as drive  # noqa: E402
import steps  # noqa: E402
from reconcile import dsn, rows  # noqa: E402
from sambang_runtime.service import discover_services  # noqa: E402
from sambang_runtime.settings import RuntimeSettings  # noqa: E402
from sambang_runtime.testing import BusProbe, Servers  # noqa: E402
from stack import OFFICE, launched, officer, ready  # noqa: E402


async def raw_pg(base: str, n: int, concurrency: int = 16) -> dict[str, Any]:
    """Plain asyncpg: n single-row inserts, each its own transaction, over ``concurrency`` connections."""
    from sambang_runtime.db import drop_database, ensure_database

    name = f"sambang_bench_raw_{h.run_id()}"
    url = h.database_url(name, base)
    await ensure_database(url)
    try:
        pool = await asyncpg.create_pool(dsn(base, name), min_size=concurrency, max_size=concurrency)
        async with pool.acquire() as c:
            await c.execute(
                "CREATE TABLE t (id bigserial primary key, event_id text unique, body bytea, at timestamptz)"
            )
        body = b"x" * 600
        left = n

        async def worker() -> None:
            nonlocal left
            async with pool.acquire() as c:
                while left > 0:
                    left -= 1
                    await c.execute("INSERT INTO t (event_id, body, at) VALUES ($1, $2, now())", uuid.uuid4().hex, body)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        await pool.close()
    finally:
        await drop_database(url)
    return {
        "rows": n,
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "rows_per_second": round(n / elapsed, 1),
    }


async def hop_latencies(pg: str, databases: dict[str, str], times: dict[str, float]) -> dict[str, Any]:
    """Inbox ``received_at`` minus the event's own time, per event type (and in all), over every consumer."""
    per_type: dict[str, list[float]] = defaultdict(list)
    for d in discover_services():
        if d.spec is None or not d.spec().handlers or d.name not in databases:
            continue
        for r in await rows(pg, databases[d.name], "SELECT event_id, event_type, received_at FROM inbox_message"):
            t0 = times.get(r["event_id"])
            if t0 is not None:
                per_type[r["event_type"]].append(r["received_at"].timestamp() - t0)
    every = [v for vs in per_type.values() for v in vs]
    return {
        "all": {"hops": len(every), "p50_ms": pct(every, 50), "p99_ms": pct(every, 99)},
        "by_event": {
            t: {"hops": len(vs), "p50_ms": pct(vs, 50), "p99_ms": pct(vs, 99)} for t, vs in sorted(per_type.items())
        },
    }


async def tablet_alerts(client: httpx.AsyncClient, base: str, n: int, slot_id: int) -> dict[str, Any]:
    """Priority applicants check in while a tablet follows the officers' stream: check-in -> alert."""
    head = officer("sambang_officer", sub="tablet-1")
    t = (
        await drive.call(
            client,
            "POST",
            f"{base}/v1/streams/tickets",
            ok=(201,),
            json={"stream": "officers", "office": OFFICE},
            headers=head,
        )
    ).json()
    seen: dict[str, float] = {}

    async def follow() -> None:
        async with client.stream("GET", f"{base}{t['url']}", timeout=None) as resp:
            async for line in resp.aiter_lines():
                if line.startswith("data:"):
                    with contextlib.suppress(ValueError):
                        data = json.loads(line[5:])
                        receipt = data.get("receipt_number")
                        if receipt and receipt not in seen:
                            seen[receipt] = time.perf_counter()

    follower = asyncio.create_task(follow())
    await asyncio.sleep(1)
    sent: dict[str, float] = {}
    try:
        for _ in range(n):
            a = steps.new_applicant(priority_category="ELDERLY", birth_date="1950-05-17")
            await steps.book(client, base, a, slot_id)
            await steps.pay(client, base, a.receipt)
            await steps.confirm_arrival(client, base, a)
            sent[a.receipt] = time.perf_counter()
            await steps.check_in(client, base, a)
        await h.until(lambda: set(sent) <= set(seen), 30, every=0.1)
    finally:
        follower.cancel()
        with contextlib.suppress(BaseException):
            await follower
    lat = [seen[r] - sent[r] for r in sent if r in seen]
    return {"checkins": n, "alerted": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99)}


async def measure(args: argparse.Namespace, servers: Servers, tmp: Path) -> dict[str, Any]:
    uniq = h.run_id()
    exchange = f"sambang.events.{uniq}"
    env = {"SAMBANG_EXCHANGE": exchange, "SAMBANG_QUEUE_PREFIX": f"sambang.{uniq}", "SAMBANG_LOG_LEVEL": "ERROR"}
    bus = RuntimeSettings(environment="test", amqp_url=servers.amqp_url(), exchange=exchange)
    out: dict[str, Any] = {"bench": "journey"}
    with launched(servers, tmp, env=env) as stack:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:
            await ready(client, stack, timeout=180)
            # The probe keeps every event, with its own time (set just before its producer committed).
            async with BusProbe(bus, keys=("#",)) as probe:
                await drive.call(client, "PUT", stack.url("/simkim/_admin/issuance"), json={"delay_seconds": 0})
                office, everyone = await drive.run_journeys(client, stack.front_door, args.journeys)
                await everyone
                done = [j for j in office.journeys if not j.error and "collected" in j.at]
                first = min(j.at["book"] for j in office.journeys)
                last = max(j.at["collected"] for j in done) if done else time.time()
                minutes = (last - first) / 60
                reached = ["booked", "billed", "paid", "arrival_mail", "checked_in", "verified", "captured", "issued"]
                out["journeys"] = {
                    "started": args.journeys,
                    "completed": len(done),
                    "failed": [j.error for j in office.journeys if j.error][:3],
                    "minutes": round(minutes, 2),
                    "journeys_per_minute": round(len(done) / minutes, 1) if minutes else 0,
                    "journey_seconds_p50": round(pct([j.at["collected"] - j.at["book"] for j in done], 50) / 1000, 1),
                    "time_to_bill_p50_ms": pct([j.at["billed"] - j.at["booked"] for j in done], 50),
                    "steps_reached": {s: sum(1 for j in office.journeys if s in j.at) for s in reached},
                }
                slot_id = await steps.slot_today(client, stack.front_door)
                out["checkin_to_tablet_alert"] = await tablet_alerts(client, stack.front_door, args.priority, slot_id)
                await asyncio.sleep(2)
                databases = {
                    d.name: next(db for db in servers.databases if db.endswith("_" + d.name.replace("-", "_")))
                    for d in discover_services()
                }
                times = {e.id: e.time.timestamp() for e in probe.events}
                out["hops"] = await hop_latencies(servers.base_pg, databases, times)
    out["raw"] = {
        "rabbitmq": await raw_throughput(servers.amqp_url(), args.raw_events, h.run_id()),
        "postgresql": await raw_pg(servers.base_pg, args.raw_rows),
    }
    out["machine"] = "2 cores shared with other work (noisy); services on one machine with both servers"
    out["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--journeys", type=int, default=40)
    ap.add_argument("--priority", type=int, default=10)
    ap.add_argument("--raw-events", type=int, default=10000)
    ap.add_argument("--raw-rows", type=int, default=5000)
    args = ap.parse_args()
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        servers = Servers(stack)  # own vhost and databases on the shared servers, removed afterwards
        try:
            result = await measure(args, servers, Path(tmp))
        finally:
            await servers.cleanup()
    h.report(result)


if __name__ == "__main__":
    h.main(main, vhost=False, loop="asyncio")  # Servers makes the run's own vhost and databases
