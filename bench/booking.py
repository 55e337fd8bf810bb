"""A booking rush over HTTP against the queue service, beside a raw asyncpg loop on the same machine.

The queue service runs as it is deployed: uvicorn (uvloop) in its own process on a loopback port,
on PostgreSQL and RabbitMQ, so client and server do not share an event loop. The client fires
thousands of concurrent booking attempts (httpx, bounded concurrency) at a handful of slots.

Rounds (saturation), three by default: a rush over HTTP, then the raw loop on slots of its own,
seconds apart, so both meet the same machine (a shared one drifts by a third between minutes).
The rush gives bookings per second and p50/p99 latency of every attempt; the round's ratio is HTTP
bookings/s over raw. Raw: an asyncpg loop doing what one booking must do at minimum (UPDATE slot …
booked < quota RETURNING, INSERT application, in one transaction) at the same concurrency.
Then (latency): attempts offered at half the median round's booking rate; p50/p99.
Finally `oversold` (places taken beyond a quota) and `counter_mismatch` (a slot whose `booked`
disagrees with its applications), both must be 0. The last line is one JSON object: the median
round's figures, every round's rates and ratios, and `ratio` (the median).

    python bench/booking.py [--replicas 2] [--rounds 3] [--attempts 6000] [--slots 5] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import string
import time
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import _harness as h
import asyncpg
import httpx
from _harness import pct
from sambang_runtime.auth import DEV_HS256_SECRET, issue_dev_token
from sambang_runtime.db import asyncpg_dsn, drop_database, ensure_database
from sambang_runtime.settings import RuntimeSettings

OFFICE = "BNC"
POOL = 20


def server_settings(url: str, run: str) -> RuntimeSettings:
    """The settings of the queue service under test."""
    return h.bench_settings(
        "queue", url, run, database_pool_size=POOL, relay_thread=os.environ.get("BENCH_RELAY_THREAD", "1") == "1"
    )


def serve() -> None:
    """The server process: the queue app under uvicorn with uvloop, as `python -m sambang_queue` runs it.

    With BENCH_PROFILE=<file> the server runs under pyinstrument (pip install it; not a requirement)
    and writes its profile there when stopped.
    """
    from sambang_queue.app import create_app

    args = h.server_args()
    app = create_app(server_settings(args.serve, args.run))
    target = os.environ.get("BENCH_PROFILE")
    profiler: Any = None
    if target:
        import pyinstrument  # type: ignore[import-not-found,unused-ignore]

        profiler = pyinstrument.Profiler(async_mode="disabled", interval=0.0005)
        profiler.start()
    try:
        h.serve(app, args.port)
    finally:
        # uvicorn re-raises the stopping signal when it returns: write the profile first.
        if profiler is not None and target:
            profiler.stop()
            with open(target, "w") as f:
                f.write(profiler.output_text(unicode=False, color=False, show_all=False))


def nik() -> str:
    """A random NIK."""
    return "35" + "".join(random.choices(string.digits, k=14))


def booking(slot_id: int) -> dict[str, Any]:
    """One applicant's booking body."""
    return {
        "office": OFFICE,
        "slot_id": slot_id,
        "service_type": "NEW",
        "passport_type": "ELECTRONIC",
        "priority_category": "NONE",
        "applicant": {
            "full_name": "Siti Aminah",
            "nik": nik(),
            "birth_date": "1990-05-17",
            "email": "siti@example.id",
            "phone": "081234567890",
            "language": "id",
        },
    }


class EventLag:
    """Consumes the events the service publishes and keeps, per event, the time from its emission
    (the event's own `time`, set before its commit) to its delivery here: what a consumer waits."""

    def __init__(self) -> None:
        self.lags: list[float] = []

    def take(self) -> list[float]:
        """The lags since the last call (seconds)."""
        taken, self.lags = self.lags, []
        return taken

    async def start(self, run: str) -> Any:
        """A queue bound to every event type on the bench exchange, consumed here.

        Not ``sambang_runtime.testing.BusProbe``: that one parses and acknowledges every event, CPU the
        load generator would then not spend on the rush it measures (and its client CPU figure)."""
        import aio_pika

        conn = await aio_pika.connect_robust(h.amqp_url())
        ch = await conn.channel()
        await ch.set_qos(prefetch_count=1000)
        ex = await ch.declare_exchange(f"bench.events.{run}", aio_pika.ExchangeType.TOPIC, durable=True)
        q = await ch.declare_queue(f"bench.sink.{run}", auto_delete=True)
        await q.bind(ex, "#")

        async def on_message(message: Any) -> None:
            # Cheap on purpose (no ack, no JSON parse): this runs in the load generator's process.
            at = message.body.find(b'"time":"') + 8
            sent = dt.datetime.fromisoformat(message.body[at : message.body.index(b'"', at)].decode())
            self.lags.append((dt.datetime.now(dt.UTC) - sent).total_seconds())

        await q.consume(on_message, no_ack=True)
        return conn


async def drain(lag: EventLag, expected: int, patience: float = 60.0) -> dict[str, Any]:
    """Wait until `expected` events arrived (or `patience` seconds passed); their lag's p50/p99 and the count."""
    got: list[float] = []
    deadline = time.perf_counter() + patience
    while len(got) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        got += lag.take()
    return {"events": len(got), "expected": expected, "p50_ms": pct(got, 50), "p99_ms": pct(got, 99)}


async def plan(client: httpx.AsyncClient, day: dt.date, quotas: list[int]) -> list[int]:
    """Slots of `quotas` on `day` (sessions of 30 minutes from 08:00); returns their ids."""
    sup = {
        "Authorization": f"Bearer {issue_dev_token(DEV_HS256_SECRET, sub='bench', office=OFFICE, roles=['supervisor'])}"
    }
    sessions = [
        {
            "start": f"{8 + i // 2:02d}:{30 * (i % 2):02d}",
            "end": f"{8 + (i + 1) // 2:02d}:{30 * ((i + 1) % 2):02d}",
            "quota": q,
        }
        for i, q in enumerate(quotas)
    ]
    body = {
        "date_from": day.isoformat(),
        "date_to": day.isoformat(),
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "sessions": sessions,
    }
    r = await client.put(f"/v1/offices/{OFFICE}/slots", json=body, headers=sup)
    r.raise_for_status()
    listed = (
        await client.get(f"/v1/offices/{OFFICE}/slots", params={"from": day.isoformat(), "to": day.isoformat()})
    ).json()
    return [s["slot_id"] for s in listed]


class Connection:
    """One keep-alive HTTP/1.1 connection that POSTs JSON: the load generator's client.

    httpx spends more CPU per request than the service does at this concurrency (measured here:
    about 7 ms a request at 64 connections, the bare FastAPI endpoint about 1 ms), and on a 2-core
    machine the client then measures itself. This client costs a few tens of microseconds.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any]) -> int:
        """POST and return the status (the body is read and dropped); 599 when the connection broke.

        A kept-alive connection the server closed while it sat idle (uvicorn closes them after 5 s)
        breaks on its next request before any answer: that request is sent once more on a new
        connection, as HTTP clients do. A second break counts as 599.
        """
        for fresh in (self.writer is None, True):
            try:
                return await self._post(path, body)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                self.reader = self.writer = None
                if fresh:
                    break
        return 599

    async def _post(self, path: str, body: dict[str, Any]) -> int:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n\r\n"
        ).encode()
        self.writer.write(head + payload)
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        """Close the socket."""
        if self.writer is not None:
            self.writer.close()


async def rush(ports: list[int], slot_ids: list[int], attempts: int, concurrency: int) -> dict[str, Any]:
    """Phase 1: as many attempts as the service takes, `concurrency` in flight."""
    bodies = [booking(slot_ids[i % len(slot_ids)]) for i in range(attempts)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    index = 0

    async def worker(port: int) -> None:
        nonlocal index
        conn = Connection(port)
        while index < len(bodies):
            body = bodies[index]
            index += 1
            t0 = time.perf_counter()
            status = await conn.post("/v1/applications", body)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
        await conn.close()

    start = time.perf_counter()
    # Connections spread over the replicas, as a Service or an ingress spreads them.
    await asyncio.gather(*(worker(ports[i % len(ports)]) for i in range(concurrency)))
    elapsed = time.perf_counter() - start
    created = statuses.get(201, 0)
    return {
        "attempts": attempts,
        "created": created,
        "slot_full": statuses.get(409, 0),
        "other_statuses": {str(k): v for k, v in statuses.items() if k not in (201, 409)},
        "seconds": round(elapsed, 3),
        "bookings_per_second": round(created / elapsed, 1),
        "attempts_per_second": round(attempts / elapsed, 1),
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
    }


async def paced(ports: list[int], slot_ids: list[int], rate: float, seconds: float) -> dict[str, Any]:
    """Phase 2: attempts offered at a fixed rate; latency of each (on a pool of idle connections)."""
    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    idle: list[Connection] = []

    async def one(body: dict[str, Any]) -> None:
        conn = idle.pop() if idle else Connection(ports[len(latencies) % len(ports)])
        t0 = time.perf_counter()
        status = await conn.post("/v1/applications", body)
        latencies.append(time.perf_counter() - t0)
        idle.append(conn)
        statuses[status] = statuses.get(status, 0) + 1

    bodies = [booking(slot_ids[i % len(slot_ids)]) for i in range(total)]
    tasks = [asyncio.create_task(one(bodies[i])) async for i in h.offered(rate, total)]
    await asyncio.gather(*tasks)
    for conn in idle:
        await conn.close()
    return {
        "offered_rate": round(rate, 1),
        "attempts": total,
        "created": statuses.get(201, 0),
        "other_statuses": {str(k): v for k, v in statuses.items() if k != 201},
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
    }


async def oversold(dsn: str) -> dict[str, int]:
    """Places beyond a quota, and slots whose counter disagrees with their applications (both must be 0)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT s.id, s.quota, s.booked, count(a.receipt_number) AS apps FROM slot s "
            "LEFT JOIN application a ON a.slot_id = s.id AND a.active GROUP BY s.id"
        )
    finally:
        await conn.close()
    return {
        "oversold": sum(max(0, r["apps"] - r["quota"]) + max(0, r["booked"] - r["quota"]) for r in rows),
        "counter_mismatch": sum(1 for r in rows if r["booked"] != r["apps"]),
    }


async def raw_loop(dsn: str, slot_ids: list[int], attempts: int, concurrency: int) -> dict[str, Any]:
    """The floor: UPDATE slot … booked < quota RETURNING + INSERT application in one transaction."""
    pool = await asyncpg.create_pool(dsn, min_size=POOL, max_size=POOL)
    assert pool is not None
    now = dt.datetime.now(dt.UTC)
    filler = "v1.dev1." + "x" * 60
    insert = (
        "INSERT INTO application (receipt_number, office, slot_id, slot_date, slot_start, slot_end, service_type,"
        " passport_type, priority_category, walk_in, status, active, nik_hash, birth_hash, nik_enc, full_name_enc,"
        " birth_date_enc, email_enc, phone_enc, language, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, 'NEW', 'ELECTRONIC', 'NONE', false, 'BOOKED', true, $7, $8, $9, $9, $9, $9,"
        " $9, 'id', $10, $10)"
    )
    latencies: list[float] = []
    created = 0
    index = 0

    async def worker() -> None:
        nonlocal index, created
        async with pool.acquire() as conn:
            while index < attempts:
                i = index
                index += 1
                sid = slot_ids[i % len(slot_ids)]
                t0 = time.perf_counter()
                async with conn.transaction():
                    row = await conn.fetchrow(
                        "UPDATE slot SET booked = booked + 1 WHERE id = $1 AND booked < quota"
                        ' RETURNING date, start, "end"',
                        sid,
                    )
                    if row is not None:
                        await conn.execute(
                            insert,
                            f"RAW{uuid.uuid4().int % 10**13:013d}",
                            OFFICE,
                            sid,
                            row["date"],
                            row["start"],
                            row["end"],
                            uuid.uuid4().hex * 2,
                            uuid.uuid4().hex * 2,
                            filler,
                            now,
                        )
                        created += 1
                latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    await pool.close()
    return {
        "attempts": attempts,
        "created": created,
        "seconds": round(elapsed, 3),
        "bookings_per_second": round(created / elapsed, 1),
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
    }


async def main() -> None:
    """Start the servers; rounds of rush and raw loop, interleaved; a paced phase; print the figures."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--attempts", type=int, default=6000)
    ap.add_argument("--slots", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=3, help="rush and raw rounds, interleaved (median reported)")
    ap.add_argument(
        "--replicas",
        type=int,
        default=2,
        help="service processes behind the client (default 2: as deploy/k8s runs it, one per core here)",
    )
    args = ap.parse_args()
    if not 1 <= args.rounds <= 13:
        ap.error("--rounds: 1 to 13 (each round books two days of the 30-day window)")
    run = h.run_id()
    url = h.database_url(f"sambang_bench_queue_{run}")
    dsn = asyncpg_dsn(url)
    await ensure_database(url)
    lag = EventLag()
    amqp_conn = await lag.start(run)
    ports = [h.free_port() for _ in range(args.replicas)]
    procs: list[asyncio.subprocess.Process] = []
    base = h.base_url(ports[0])
    try:
        for port in ports:  # one after the other: the first one migrates the database
            procs.append(
                await h.start(
                    __file__, "--serve", url, "--run", run, "--port", str(port), ready=h.base_url(port), patience=30
                )
            )
        admin = issue_dev_token(DEV_HS256_SECRET, sub="bench", office=OFFICE, roles=["admin"])
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
            r = await client.put(
                f"/v1/offices/{OFFICE}/settings",
                json={"name": "Bench office", "timezone": "Asia/Jakarta"},
                headers={"Authorization": f"Bearer {admin}"},
            )
            r.raise_for_status()
            today = dt.datetime.now(ZoneInfo("Asia/Jakarta")).date()
            # A handful of slots whose quotas take most of the attempts: the rest meet slot_full.
            per_slot = int(args.attempts * 0.8) // args.slots
            # Every round books on days of its own (up to 30 days ahead: the booking window).
            days = iter(range(2, 31))
            warm_slots = await plan(client, today + dt.timedelta(days=next(days)), [10_000])
            warm = await rush(ports, warm_slots, 300 * len(ports), args.concurrency)  # warm pools and caches
            await drain(lag, warm["created"])
            # This machine is shared and its speed drifts: rush and raw loop take turns, and the
            # median of the rounds' ratios is reported, each ratio from two runs seconds apart.
            rounds: list[dict[str, Any]] = []
            for i in range(args.rounds):
                rush_slots = await plan(client, today + dt.timedelta(days=next(days)), [per_slot] * args.slots)
                raw_slots = await plan(client, today + dt.timedelta(days=next(days)), [per_slot] * args.slots)
                cpu0 = (sum(h.cpu_seconds(p.pid) for p in procs), time.process_time())
                http = await rush(ports, rush_slots, args.attempts, args.concurrency)
                http["event_lag"] = await drain(lag, http["created"])
                http["replicas"] = len(ports)
                http["cpu_ms_per_attempt"] = {
                    "server": round((sum(h.cpu_seconds(p.pid) for p in procs) - cpu0[0]) / args.attempts * 1000, 3),
                    "client": round((time.process_time() - cpu0[1]) / args.attempts * 1000, 3),
                }
                raw = await raw_loop(dsn, raw_slots, args.attempts, args.concurrency)
                ratio = http["bookings_per_second"] / raw["bookings_per_second"]
                rounds.append({"round": i + 1, "http": http, "raw": raw, "ratio": round(ratio, 3)})
                h.phase("round", rounds[-1])
            middle = sorted(rounds, key=lambda x: x["ratio"])[len(rounds) // 2]
            rate = max(1.0, middle["http"]["bookings_per_second"] / 2)
            paced_slots = await plan(
                client, today + dt.timedelta(days=next(days)), [int(rate * args.seconds) + 100] * args.slots
            )
            phase2 = await paced(ports, paced_slots, rate, args.seconds)
            phase2["event_lag"] = await drain(lag, phase2["created"])
            h.phase("half_rate", phase2)
        check = await oversold(dsn)
        ratio = middle["ratio"]
        h.report(
            {
                "bench": "booking",
                "http": {**middle["http"], "half_rate": phase2},
                "raw": middle["raw"],
                "rounds": [
                    {
                        "http_bookings_per_second": x["http"]["bookings_per_second"],
                        "raw_bookings_per_second": x["raw"]["bookings_per_second"],
                        "ratio": x["ratio"],
                    }
                    for x in rounds
                ],
                "oversold": check["oversold"],
                "counter_mismatch": check["counter_mismatch"],
                "ratio": ratio,
                "goals": {
                    "ratio_at_least": 0.25,
                    "ratio_goal": 0.33,
                    "half_rate_p99_ms_at_most": 250,
                    "oversold": 0,
                },
                "pass": ratio >= 0.25
                and phase2["p99_ms"] <= 250
                and check["oversold"] == 0
                and check["counter_mismatch"] == 0,
            }
        )
    finally:
        await h.stop(procs)
        await amqp_conn.close()
        await drop_database(url)


if __name__ == "__main__":
    h.main(main, serve=serve)
