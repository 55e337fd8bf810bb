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
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from percentiles import pct
from sambang_contracts import Lane, PriorityCategory, VisitCheckedIn, dump_event, new_event
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.auth import DEV_HS256_SECRET, issue_dev_token
from sambang_runtime.db import drop_database, ensure_database
from sambang_runtime.migrations import upgrade_to_head
from sqlalchemy.engine import make_url

AMQP = os.environ.get("SAMBANG_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PG = os.environ.get("SAMBANG_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
OFFICE = "BLT"
WARMUP_SECONDS = 1.0
MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "notifier" / "migrations"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    begin = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
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


async def wait_ready(base: str, proc: asyncio.subprocess.Process) -> None:
    """Until the replica answers /readyz."""
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(600):
            if proc.returncode is not None:
                raise RuntimeError("a notifier replica exited")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("a notifier replica did not become ready")


async def notifier_path(args: argparse.Namespace, run: str) -> dict[str, Any]:
    """The replicas, one tablet on each, the publisher; latency per tablet and over all."""
    url = make_url(PG).set(database=f"sambang_bench_notifier_{run}").render_as_string(hide_password=False)
    await ensure_database(url)
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, url)  # before the replicas: they would race to migrate
    env = {
        **os.environ,
        "SAMBANG_ENVIRONMENT": "test",
        "SAMBANG_DATABASE_URL": url,
        "SAMBANG_AMQP_URL": AMQP,
        "SAMBANG_EXCHANGE": f"bench.events.{run}",
        "SAMBANG_QUEUE_PREFIX": f"bench.{run}",
        "SAMBANG_LOG_LEVEL": "WARNING",
        "SAMBANG_LOG_JSON": "true",
        "SAMBANG_HOST": "127.0.0.1",
    }
    procs: list[asyncio.subprocess.Process] = []
    tablets: list[Tablet] = []
    conn = await aio_pika.connect_robust(AMQP)
    try:
        for _ in range(args.replicas):
            port = free_port()
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "sambang_notifier", env={**env, "SAMBANG_PORT": str(port)}
                )
            )
            await wait_ready(f"http://127.0.0.1:{port}", procs[-1])
            tablets.append(Tablet(f"http://127.0.0.1:{port}"))
        for t in tablets:
            t.task = asyncio.create_task(t.run())
            await asyncio.wait_for(t.connected.wait(), 30)
        channel = await conn.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(f"bench.events.{run}", aio_pika.ExchangeType.TOPIC, durable=True)

        async def publish(body: bytes) -> None:
            await exchange.publish(message(body), "queue.visit.checked_in")

        cpu_before = [cpu_seconds(p.pid) for p in procs]
        sent = await paced(args.rate, args.seconds + WARMUP_SECONDS, publish, run)
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and any(len(t.arrived) < len(sent) for t in tablets):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        cpu_ms = [round((cpu_seconds(p.pid) - b) / len(sent) * 1000, 2) for p, b in zip(procs, cpu_before, strict=True)]
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
        for p in procs:
            if p.returncode is None:
                p.terminate()
        for p in procs:
            await p.wait()
        await drop_database(url)


async def raw_path(args: argparse.Namespace, run: str) -> dict[str, Any]:
    """Plain aio-pika: publish with confirms, consume from an exclusive auto-delete queue, same rate."""
    conn = await aio_pika.connect_robust(AMQP)
    try:
        pub = await conn.channel(publisher_confirms=True)
        cons = await conn.channel()
        exchange = await pub.declare_exchange(f"bench.raw.{run}", aio_pika.ExchangeType.TOPIC, auto_delete=True)
        queue = await cons.declare_queue(f"bench.raw.{run}", exclusive=True, auto_delete=True)
        await queue.bind(exchange, "queue.visit.checked_in")
        arrived: dict[str, float] = {}

        async def on_message(m: aio_pika.abc.AbstractIncomingMessage) -> None:
            at = time.perf_counter()
            await m.ack()
            arrived[json.loads(m.body)["data"]["visit_id"]] = at

        await queue.consume(on_message)

        async def publish(body: bytes) -> None:
            await exchange.publish(message(body), "queue.visit.checked_in")

        sent = await paced(args.rate, args.seconds + WARMUP_SECONDS, publish, run + "raw")
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and len(arrived) < len(sent):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        lat = latencies(sent, arrived, args.rate)
        return {"offered_rate": args.rate, "delivered": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99)}
    finally:
        await conn.close()


async def main() -> None:
    """Both paths, then the JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=2, help="notifier processes, one tablet on each (default 2)")
    ap.add_argument("--rate", type=float, default=10.0, help="check-ins per second (an office sees a few a minute)")
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args()
    run = uuid.uuid4().hex[:6]
    ours = await notifier_path(args, run)
    print(json.dumps({"phase": "notifier", **ours}), file=sys.stderr)
    raw = await raw_path(args, run)
    print(json.dumps({"phase": "raw", **raw}), file=sys.stderr)
    print(
        json.dumps(
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
    )


if __name__ == "__main__":
    import logging

    import uvloop
    from sambang_runtime.logs import configure_logging
    from sambang_runtime.testing import own_vhost

    configure_logging("WARNING", json=True)
    logging.getLogger().setLevel(logging.WARNING)
    with own_vhost() as AMQP:  # a vhost of this run's own, removed afterwards; the replicas inherit it
        uvloop.run(main())
