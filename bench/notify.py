"""Latency from queue.visit.checked_in published to a sambang officer's tablet stream receiving it.

The notifier runs as deployed: two replicas by default, each uvicorn (uvloop) in its own process on
PostgreSQL and RabbitMQ. One tablet (a server-sent-events client) is connected to each replica; a
publisher puts priority check-ins on the exchange at a fixed rate, as the queue service's relay does
(persistent, publisher confirms). Each check-in must reach every tablet: measured from just before
the publish to the tablet parsing the event (through each replica's own fan-out queue, the stream
table and the stream). Raw baseline in the same run, on the same broker and rate: plain aio-pika,
publish to an exclusive auto-delete queue (the kind a replica's fan-out queue is), consumer callback.
The first second of each path warms up and is not measured. The last line is one JSON object.

    python bench/notify.py [--replicas 2] [--rate 10] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import _harness as h
import aio_pika
import httpx
from _harness import pct
from sambang_contracts import Lane, PriorityCategory, VisitCheckedIn, dump_event, new_event
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.auth import DEV_HS256_SECRET, issue_dev_token
from sambang_runtime.db import drop_database, ensure_database
from sambang_runtime.migrations import upgrade_to_head

OFFICE = "BLT"
WARMUP_SECONDS = 1.0
MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "notifier" / "migrations"


def check_in(n: int, run: str) -> tuple[str, bytes]:
    """A priority check-in event (its visit id, its body)."""
    visit = f"bench-{run}-{n}"
    ev = new_event(
        VisitCheckedIn(
            receipt_number=generate_receipt_number(OFFICE, dt.date(2026, 12, 1)),
            visit_id=visit,
            ticket=f"P{n % 1000:03d}",
            lane=Lane.PRIORITY,
            seat=f"P{n % 12 + 1}",
            priority_category=PriorityCategory.ELDERLY,
            paid=True,
            checked_in_at=dt.datetime.now(dt.UTC),
        ),
        source="sambang/queue",
    )
    return visit, dump_event(ev)


def message(body: bytes) -> aio_pika.Message:
    """As the queue service's relay publishes an event."""
    return aio_pika.Message(
        body,
        content_type="application/cloudevents+json",
        message_id=str(uuid.uuid4()),
        type="queue.visit.checked_in",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers={"subject": None, "office": OFFICE, "x-sambang-attempt": 0},
    )


class Tablet:
    """An officer's tablet: reads the stream and notes when each visit's alert arrived."""

    def __init__(self, base: str) -> None:
        token = issue_dev_token(DEV_HS256_SECRET, sub="bench-officer", office=OFFICE, roles=["sambang_officer"])
        self.url = f"{base}/v1/streams/officers?office={OFFICE}"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.arrived: dict[str, float] = {}
        self.connected = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Read the stream until cancelled."""
        data = ""
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client,
            client.stream("GET", self.url, headers=self.headers) as response,
        ):
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith(": connected"):
                    self.connected.set()
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "" and data:
                    self.arrived[json.loads(data)["visit_id"]] = time.perf_counter()
                    data = ""


async def paced(rate: float, seconds: float, publish: Any, run: str) -> dict[str, float]:
    """Offer check-ins at ``rate`` for ``seconds``; returns when each was handed to the broker."""
    sent: dict[str, float] = {}
    tasks = []
    async for i in h.offered(rate, int(rate * seconds)):
        visit, body = check_in(i, run)
        sent[visit] = time.perf_counter()
        tasks.append(asyncio.create_task(publish(body)))
    await asyncio.gather(*tasks)
    return sent


def latencies(sent: dict[str, float], arrived: dict[str, float], rate: float) -> list[float]:
    """Arrival minus publish of each measured event (the warm-up's events left out)."""
    skip = int(rate * WARMUP_SECONDS)
    order = sorted(sent, key=sent.__getitem__)[skip:]
    return [arrived[v] - sent[v] for v in order if v in arrived]


async def notifier_path(args: argparse.Namespace, run: str) -> dict[str, Any]:
    """The replicas, one tablet on each, the publisher; latency per tablet and over all."""
    url = h.database_url(f"sambang_bench_notifier_{run}")
    await ensure_database(url)
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, url)  # before the replicas: they would race to migrate
    env = {
        **os.environ,
        "SAMBANG_ENVIRONMENT": "test",
        "SAMBANG_DATABASE_URL": url,
        "SAMBANG_AMQP_URL": h.amqp_url(),
        "SAMBANG_EXCHANGE": f"bench.events.{run}",
        "SAMBANG_QUEUE_PREFIX": f"bench.{run}",
        "SAMBANG_LOG_LEVEL": "WARNING",
        "SAMBANG_LOG_JSON": "true",
        "SAMBANG_HOST": "127.0.0.1",
    }
    procs: list[asyncio.subprocess.Process] = []
    tablets: list[Tablet] = []
    conn = await aio_pika.connect_robust(h.amqp_url())
    try:
        for _ in range(args.replicas):
            port = h.free_port()
            base = h.base_url(port)
            procs.append(await h.start("-m", "sambang_notifier", env={**env, "SAMBANG_PORT": str(port)}, ready=base))
            tablets.append(Tablet(base))
        for t in tablets:
            t.task = asyncio.create_task(t.run())
            await asyncio.wait_for(t.connected.wait(), 30)
        channel = await conn.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(f"bench.events.{run}", aio_pika.ExchangeType.TOPIC, durable=True)

        async def publish(body: bytes) -> None:
            await exchange.publish(message(body), "queue.visit.checked_in")

        cpu_before = [h.cpu_seconds(p.pid) for p in procs]
        sent = await paced(args.rate, args.seconds + WARMUP_SECONDS, publish, run)
        await h.until(lambda: all(len(t.arrived) >= len(sent) for t in tablets), 30)
        cpu_ms = [
            round((h.cpu_seconds(p.pid) - b) / len(sent) * 1000, 2) for p, b in zip(procs, cpu_before, strict=True)
        ]
        per_tablet = [latencies(sent, t.arrived, args.rate) for t in tablets]
        every = [x for lat in per_tablet for x in lat]
        measured = len(sent) - int(args.rate * WARMUP_SECONDS)
        return {
            "replicas": args.replicas,
            "offered_rate": args.rate,
            "events": measured,
            "delivered_to_every_tablet": sum(1 for v in sent if all(v in t.arrived for t in tablets))
            - (len(sent) - measured),
            "p50_ms": pct(every, 50),
            "p99_ms": pct(every, 99),
            "max_ms": round(max(every) * 1000, 2) if every else None,
            "replica_cpu_ms_per_event": cpu_ms,
            "per_tablet": [
                {"delivered": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99)} for lat in per_tablet
            ],
        }
    finally:
        for t in tablets:
            if t.task is not None:
                t.task.cancel()
                await asyncio.gather(t.task, return_exceptions=True)
        await conn.close()
        await h.stop(procs)
        await drop_database(url)


async def raw_path(args: argparse.Namespace, run: str) -> dict[str, Any]:
    """Plain aio-pika: publish with confirms, consume from an exclusive auto-delete queue, same rate."""
    name = f"bench.raw.{run}"
    async with h.raw_queue(h.amqp_url(), name, "queue.visit.checked_in", quorum=False) as (exchange, queue):
        arrived: dict[str, float] = {}

        async def on_message(m: aio_pika.abc.AbstractIncomingMessage) -> None:
            at = time.perf_counter()
            await m.ack()
            arrived[json.loads(m.body)["data"]["visit_id"]] = at

        await queue.consume(on_message)

        async def publish(body: bytes) -> None:
            await exchange.publish(message(body), "queue.visit.checked_in")

        sent = await paced(args.rate, args.seconds + WARMUP_SECONDS, publish, run + "raw")
        await h.until(lambda: len(arrived) >= len(sent), 30)
        lat = latencies(sent, arrived, args.rate)
        return {"offered_rate": args.rate, "delivered": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99)}


async def main() -> None:
    """Both paths, then the JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=2, help="notifier processes, one tablet on each (default 2)")
    ap.add_argument("--rate", type=float, default=10.0, help="check-ins per second (an office sees a few a minute)")
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args()
    run = h.run_id()
    ours = await notifier_path(args, run)
    h.phase("notifier", ours)
    raw = await raw_path(args, run)
    h.phase("raw", raw)
    h.report(
        {
            "bench": "notify",
            "measured": "queue.visit.checked_in handed to RabbitMQ -> parsed by the tablet's SSE client",
            "tablets": ours,
            "raw": raw,
            "warmup_seconds_not_measured": WARMUP_SECONDS,
            "goals": {"every_tablet_gets_every_check_in": True, "p99_ms_at_most": 250},
            "pass": ours["delivered_to_every_tablet"] == ours["events"] and ours["p99_ms"] <= 250,
        }
    )


if __name__ == "__main__":
    h.main(main)  # in a vhost of the run's own, which the replicas inherit
