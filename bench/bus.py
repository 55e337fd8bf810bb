"""Events per second through outbox -> RabbitMQ -> inbox consumer, beside raw aio-pika.

Both paths use quorum queues and publisher confirms on the same broker in the same run.
Phase 1 (throughput): N events are put in the outbox in bulk, then the relay publishes them
and the consumer handles them with their inbox rows; raw: publish N with confirms and
consume-and-ack N. Phase 2 (latency): events offered at a fixed rate (default 200/s), each
committed in its own transaction as a service would, delivery latency measured at the
consumer's acknowledgement (after its commit). The last line is one JSON object.

    python bench/bus.py [--events 20000] [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import sys
import time
from typing import Any

import _harness as h
import aio_pika
from _harness import pct
from sambang_contracts import ApplicationCancelled, CancelReason, CloudEvent, dump_event, new_event
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.db import drop_database, new_metadata
from sambang_runtime.outbox import define_bus_tables
from sambang_runtime.service import ServiceRuntime, ServiceSpec
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import Servers
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import insert

# Filled in by main(): the same servers the tests use, in a virtual host of this run's own.
AMQP = ""
PG = ""
WARMUP_SECONDS = 2.0


def sample_body() -> tuple[str, bytes]:
    """A realistic event body."""
    ev = new_event(
        ApplicationCancelled(
            receipt_number=generate_receipt_number("BLT", dt.date(2026, 12, 1)), reason=CancelReason.APPLICANT
        ),
        source="sambang/queue",  # its owner: consumers park any other source
    )
    return ev.id, dump_event(ev)


# -- raw aio-pika -------------------------------------------------------------------------------
async def raw_throughput(url: str, n: int, run: str) -> dict[str, Any]:
    """Publish n with confirms (pipelined) and consume-and-ack n on a quorum queue (bench/journey.py too)."""
    key = "queue.application.cancelled"
    async with h.raw_queue(url, f"bench.raw.{run}", key, quorum=True, prefetch=200) as (ex, q):
        bodies = [sample_body()[1] for _ in range(n)]
        got = 0
        done = asyncio.Event()

        async def on_msg(m: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal got
            await m.ack()
            got += 1
            if got >= n:
                done.set()

        await q.consume(on_msg)
        start = time.perf_counter()
        window = 500
        for i in range(0, n, window):
            await asyncio.gather(
                *(
                    ex.publish(aio_pika.Message(b, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), key)
                    for b in bodies[i : i + window]
                )
            )
        await done.wait()
        elapsed = time.perf_counter() - start
    return {"events": n, "seconds": round(elapsed, 3), "events_per_second": round(n / elapsed, 1)}


async def raw_latency(rate: float, seconds: float, run: str) -> dict[str, Any]:
    """Offer events at a fixed rate; latency from publish start to the consumer's ack."""
    async with h.raw_queue(AMQP, f"bench.rawlat.{run}", "#", quorum=True, prefetch=200) as (ex, q):
        sent: dict[str, float] = {}
        lat: list[float] = []

        async def on_msg(m: aio_pika.abc.AbstractIncomingMessage) -> None:
            await m.ack()
            t0 = sent.get(m.message_id or "")
            if t0 is not None:
                lat.append(time.perf_counter() - t0)

        await q.consume(on_msg)
        total = int(rate * seconds)
        tasks = []
        async for _ in h.offered(rate, total):
            eid, body = sample_body()
            sent[eid] = time.perf_counter()
            tasks.append(asyncio.create_task(ex.publish(aio_pika.Message(body, message_id=eid), "queue.x.y")))
        await asyncio.gather(*tasks)
        await h.until(lambda: len(lat) >= total, 30)
    return {"offered_rate": rate, "delivered": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99)}


# -- ours: outbox -> relay -> RabbitMQ -> consumer with inbox ------------------------------------
class Sink:
    """The bench consumer: counts events and when each was acknowledged after commit."""

    def __init__(self) -> None:
        self.acked: dict[str, float] = {}
        self.emitted_at: dict[str, float] = {}
        self.done = asyncio.Event()
        self.expect = 0
        self.expect_wall: bool | None = None

    async def when_application_cancelled_count(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """A handler that does no work of its own: what is measured is the plumbing."""
        self.emitted_at[event.id] = event.time.timestamp()


async def ours(n: int, rate: float, seconds: float, run: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Throughput and fixed-rate latency of the real pipeline on PostgreSQL and RabbitMQ."""
    producer_md, consumer_md = new_metadata(), new_metadata()
    ptables, ctables = define_bus_tables(producer_md), define_bus_tables(consumer_md)
    sink = Sink()
    # Named after the owner of the events it emits: consumers park an event whose source is not its owner.
    pspec = ServiceSpec(name="queue", metadata=producer_md, tables=ptables)
    cspec = ServiceSpec(
        name="benchconsumer",
        metadata=consumer_md,
        tables=ctables,
        handlers={"queue.application.cancelled": [sink.when_application_cancelled_count]},
    )
    urls = {s: h.database_url(f"sambang_bench_{run}_{s}", PG) for s in ("p", "c")}

    def settings(name: str, url: str) -> RuntimeSettings:
        return bench_settings(name, url, run)

    producer = ServiceRuntime(pspec, settings("benchproducer", urls["p"]))
    consumer = ServiceRuntime(cspec, settings("benchconsumer", urls["c"]))
    try:
        await consumer.start()
        await producer.start()
        assert consumer.consumer is not None
        original_ack = consumer.consumer._ack

        async def timed_ack(d: Any) -> None:
            await original_ack(d)
            sink.acked[d.event_id] = time.perf_counter() if sink.expect_wall is None else time.time()
            if len(sink.acked) >= sink.expect:
                sink.done.set()

        consumer.consumer._ack = timed_ack  # type: ignore[method-assign]

        # Phase 1: bulk-filled outbox, measure relay -> broker -> consumer with inbox.
        await producer.relay.stop()
        rows = []
        now = dt.datetime.now(dt.UTC)
        for _ in range(n):
            eid, body = sample_body()
            rows.append(
                {
                    "event_id": eid,
                    "event_type": "queue.application.cancelled",
                    "subject": None,
                    "office": "BLT",
                    "body": body,
                    "created_at": now,
                    "attempts": 0,
                }
            )
        async with producer.engine.begin() as conn:
            for i in range(0, n, 5000):
                await conn.execute(insert(ptables.outbox), rows[i : i + 5000])
        sink.expect = n
        start = time.perf_counter()
        await producer.relay.start()
        await asyncio.wait_for(sink.done.wait(), timeout=600)
        elapsed = time.perf_counter() - start
        thr = {"events": n, "seconds": round(elapsed, 3), "events_per_second": round(n / elapsed, 1)}

        # Phase 2: fixed offered rate, one transaction per event as a service commits them. The
        # producing service (its commits and its relay) runs in its own process, as deployed.
        sink.acked.clear()
        sink.done.clear()
        # The first WARMUP_SECONDS of events warm both processes (connection pools, statement and
        # validator caches, as in a running service) and are delivered but not measured.
        total = int(rate * (seconds + WARMUP_SECONDS))
        sink.expect = total
        sink.expect_wall = True
        await producer.stop()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--produce",
            urls["p"],
            "--run",
            run,
            "--amqp",
            AMQP,
            "--rate",
            str(rate),
            "--seconds",
            str(seconds + WARMUP_SECONDS),
        )
        await asyncio.wait_for(sink.done.wait(), timeout=seconds + WARMUP_SECONDS + 60)
        await proc.wait()
        order = sorted(
            (sink.emitted_at[k], sink.acked[k] - sink.emitted_at[k]) for k in sink.acked if k in sink.emitted_at
        )
        lat = [v for _, v in order[int(rate * WARMUP_SECONDS) :]]
        print(
            json.dumps(
                {
                    "latency_by_second_ms": [
                        round(max(lat[i : i + int(rate)]) * 1000, 1) for i in range(0, len(lat), int(rate))
                    ]
                }
            ),
            file=sys.stderr,
        )
        latency = {
            "offered_rate": rate,
            "delivered": len(lat),
            "p50_ms": pct(lat, 50),
            "p99_ms": pct(lat, 99),
            "measured": "event time (just before commit) to consumer ack after its commit",
            "warmup_seconds_not_measured": WARMUP_SECONDS,
        }
        return thr, latency
    finally:
        await producer.stop()
        await consumer.stop()
        for url in urls.values():
            await drop_database(url)


def bench_settings(name: str, url: str, run: str) -> RuntimeSettings:
    """Settings of the bench's producer and consumer services."""
    return h.bench_settings(
        name, url, run, amqp_url=AMQP, consumer_prefetch=1000, consumer_batch_max=500, relay_batch_max=500
    )


async def produce(url: str, run: str, rate: float, seconds: float) -> None:
    """The producing service of phase 2: one committed transaction per event at a fixed rate."""
    md = new_metadata()
    runtime = ServiceRuntime(
        ServiceSpec(name="queue", metadata=md, tables=define_bus_tables(md)),  # the events' owner
        bench_settings("benchproducer", url, run),
    )
    await runtime.start()
    try:

        async def one() -> None:
            async with runtime.uow() as uow:
                uow.emit(
                    ApplicationCancelled(
                        receipt_number=generate_receipt_number("BLT", dt.date(2026, 12, 1)),
                        reason=CancelReason.APPLICANT,
                    )
                )
                await uow.commit()

        # A service in steady state has a warm connection pool; open it before measuring.
        from sqlalchemy import text

        async def touch() -> None:
            async with runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                await asyncio.sleep(0.05)

        await asyncio.gather(*(touch() for _ in range(10)))
        tasks = [asyncio.create_task(one()) async for _ in h.offered(rate, int(rate * seconds))]
        await asyncio.gather(*tasks)
        o = runtime.spec.tables.outbox
        from sqlalchemy import func, select

        for _ in range(600):
            async with runtime.engine.connect() as conn:
                if not (await conn.execute(select(func.count()).select_from(o))).scalar_one():
                    break
            await asyncio.sleep(0.05)
    finally:
        await runtime.stop()


async def main() -> None:
    """Run both paths and print the figures."""
    global AMQP, PG
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--produce", help=argparse.SUPPRESS)
    ap.add_argument("--run", help=argparse.SUPPRESS)
    ap.add_argument("--amqp", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.produce:
        AMQP = args.amqp
        await produce(args.produce, args.run, args.rate, args.seconds)
        return
    run = h.run_id()
    with contextlib.ExitStack() as stack:
        servers = Servers(stack)  # own vhost, removed afterwards: a run leaves nothing behind
        AMQP, PG = await asyncio.to_thread(servers.amqp_url), servers.base_pg
        try:
            await measure(args, run)
        finally:
            await servers.cleanup()


async def measure(args: argparse.Namespace, run: str) -> None:
    """Both paths, then the JSON line."""
    raw_thr = await raw_throughput(AMQP, args.events, run)
    h.phase("raw_throughput", raw_thr)
    our_thr, our_lat = await ours(args.events, args.rate, args.seconds, run)
    h.phase("ours", {"throughput": our_thr, "latency": our_lat})
    raw_lat = await raw_latency(args.rate, args.seconds, run)
    ratio = our_thr["events_per_second"] / raw_thr["events_per_second"]
    h.report(
        {
            "bench": "bus",
            "ours": {**our_thr, "latency": our_lat},
            "raw": {**raw_thr, "latency": raw_lat},
            "ratio": round(ratio, 3),
            "goals": {"ratio_at_least": 0.5, "p99_ms_at_200_per_s_at_most": 100},
            "pass": ratio >= 0.5 and our_lat["p99_ms"] <= 100,
        }
    )


if __name__ == "__main__":
    # Both paths run on uvloop, as the services do; the run makes its own vhost with ``Servers``.
    h.main(main, vhost=False)
