"""Submissions to SIMKIM per second through the gateway, beside raw HTTP POSTs to the same simulator.

Three processes, as deployed: the gateway (uvicorn, PostgreSQL, RabbitMQ), the SIMKIM simulator with a
stand-in for capture's bundle endpoint (uvicorn, PostgreSQL), and this one, which plays queue, payment
and capture on the bus. The simulator answers every call after ``--latency-ms`` (50 by default).

- raw: plain httpx POSTs of the same applications (biodata and bundle, same size) to the simulator, at the
  gateway's concurrency: what the simulator's latency allows at best.
- burst: N applications get three readiness events; once the gateway holds them, the fourth
  (capture.interview.completed, APPROVED) of all N is published at once; the clock stops at the N-th
  ``simkim.submission.accepted``. Submissions per second, and latency from each application's last
  readiness event to its accepted event (includes the wait behind the others).
- paced: the fourth event at ``--paced-rate`` per second (well below capacity): the latency of one
  submission when nothing queues (capture fetch, sha256 check, SIMKIM call, outbox, relay, bus).

Every application must end accepted exactly once (the simulator's counts say so). The last line is one
JSON object with ``ratio`` = burst submissions/s over raw POSTs/s.

    python bench/gateway.py [--applications 400] [--concurrency 16] [--latency-ms 50] [--paced 100]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import random
import sys
import time
from typing import Any

import _harness as h
import aio_pika
import httpx
from _harness import pct
from sambang_contracts import (
    ApplicationRegistered,
    CaptureCompleted,
    EventData,
    InterviewCompleted,
    dump_event,
    new_event,
)
from sambang_contracts.bundles import BundleItem, CaptureBundle
from sambang_contracts.enums import CaptureItemKind
from sambang_contracts.events import CaptureItem
from sambang_contracts.examples import example_data
from sambang_contracts.values import generate_billing_code, generate_receipt_number
from sambang_runtime.db import drop_database
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import BusProbe
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

INTERVIEW_AT = dt.datetime(2026, 12, 7, 2, 30, tzinfo=dt.UTC)


def bundle_for(receipt: str) -> CaptureBundle:
    """A deterministic bundle per receipt (photo, two fingers, signature: about 9 KB), so the capture stand-in
    and this process agree without sharing state."""

    def data(kind: str, size: int) -> bytes:
        seed = hashlib.sha256(f"{receipt}:{kind}".encode()).digest()
        return (seed * (size // 32 + 1))[:size]

    def item(kind: CaptureItemKind, position: int | None, size: int) -> BundleItem:
        raw = data(f"{kind}{position}", size)
        return BundleItem(
            kind=kind, position=position, sha256=hashlib.sha256(raw).hexdigest(), content_type="image/png", data=raw
        )

    return CaptureBundle(
        receipt_number=receipt,
        items=[
            item(CaptureItemKind.PHOTO, None, 4000),
            item(CaptureItemKind.FINGERPRINT, 1, 2000),
            item(CaptureItemKind.FINGERPRINT, 2, 2000),
            item(CaptureItemKind.SIGNATURE, None, 1000),
        ],
    )


def nik_for(receipt: str) -> str:
    """A fictional NIK per receipt."""
    return "3505" + str(int(hashlib.sha256(receipt.encode()).hexdigest(), 16))[:12]


def readiness(receipt: str) -> list[EventData]:
    """The four readiness events of one application, the interview last: the contracts' examples (an
    elderly applicant, approved at interview) for this receipt, with its NIK and its bundle's items."""
    registered = example_data("queue.application.registered")
    captured = example_data("capture.completed")
    assert isinstance(registered, ApplicationRegistered) and isinstance(captured, CaptureCompleted)
    items = [
        CaptureItem(kind=i.kind, position=i.position, sha256=i.sha256, bytes=len(i.data), quality=80)
        for i in bundle_for(receipt).items
    ]
    this = {"receipt_number": receipt}
    return [
        registered.model_copy(
            update={**this, "applicant": registered.applicant.model_copy(update={"nik": nik_for(receipt)})}
        ),
        example_data("payment.confirmed").model_copy(update={**this, "billing_code": generate_billing_code()}),
        captured.model_copy(update={**this, "items": items, "exceptions": []}),
        example_data("capture.interview.completed").model_copy(update=this),
    ]


def runtime_settings(service: str, url: str, run: str) -> RuntimeSettings:
    """Settings of a benched app."""
    return h.bench_settings(service, url, run, database_pool_size=20)


def serve_gateway(url: str, run: str, port: int, simkim_port: int, capture_port: int, concurrency: int) -> None:
    """The gateway process, as ``python -m sambang_simkim_gateway`` runs it."""
    from sambang_simkim_gateway.app import create_app
    from sambang_simkim_gateway.settings import GatewaySettings

    app = create_app(
        runtime_settings("simkim-gateway", url, run),
        gateway_settings=GatewaySettings(
            simkim_url=f"http://127.0.0.1:{simkim_port}",
            capture_url=f"http://127.0.0.1:{capture_port}",
            concurrency=concurrency,
            # Issuance is not measured here: no polls in the way.
            issuance_poll_seconds=3600,
        ),
    )
    target = os.environ.get("BENCH_PROFILE")  # a file: the gateway's main thread under cProfile
    if not target:
        h.serve(app, port)
        return
    import cProfile
    import signal

    # uvicorn raises the stopping signal again once shut down: exit through `finally` to write the profile.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        h.serve(app, port)
    finally:
        profiler.disable()
        profiler.dump_stats(target)


def serve_simkim(url: str, run: str, simkim_port: int, capture_port: int) -> None:
    """The simulator and the capture stand-in, each on its port, in one process."""
    import uvicorn
    import uvloop
    from sambang_simkim_gateway.simulator.app import create_app
    from sambang_simkim_gateway.simulator.settings import SimulatorSettings
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    simulator = create_app(
        runtime_settings("simkim-simulator", url, run),
        simulator_settings=SimulatorSettings(issuance_delay_seconds=3600),
    )

    async def bundle(request: Request) -> Response:
        return Response(bundle_for(request.path_params["receipt"]).model_dump_json(), media_type="application/json")

    capture = Starlette(routes=[Route("/internal/v1/captures/{receipt}/bundle", bundle)])

    async def both() -> None:
        servers = [
            uvicorn.Server(
                uvicorn.Config(simulator, host="127.0.0.1", port=simkim_port, log_config=None, access_log=False)
            ),
            uvicorn.Server(
                uvicorn.Config(
                    capture, host="127.0.0.1", port=capture_port, log_config=None, access_log=False, lifespan="off"
                )
            ),
        ]
        await asyncio.gather(*(s.serve() for s in servers))

    uvloop.run(both())


def submission_body(receipt: str) -> str:
    """What the gateway sends SIMKIM for this receipt (for the raw baseline)."""
    from sambang_simkim_gateway.adapters.protocol import ApplicationSubmission, Biodata, Biometric, Interview

    registered, _, _, interviewed = readiness(receipt)
    assert isinstance(registered, ApplicationRegistered) and isinstance(interviewed, InterviewCompleted)
    return ApplicationSubmission(
        **registered.model_dump(include={"receipt_number", "office", "service_type", "passport_type"}),
        priority_category=registered.priority_category,
        validity_years=10,
        applicant=Biodata(**registered.applicant.model_dump(include={"full_name", "nik", "birth_date"})),
        interview=Interview(**interviewed.model_dump(include={"officer_id", "completed_at"})),
        biometrics=[Biometric(**i.model_dump()) for i in bundle_for(receipt).items],
    ).model_dump_json()


async def raw_posts(simkim_port: int, receipts: list[str], concurrency: int) -> dict[str, Any]:
    """Plain keep-alive httpx POSTs to the simulator at the gateway's concurrency."""
    bodies = [(r, submission_body(r)) for r in receipts]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=h.base_url(simkim_port), limits=limits, timeout=30) as client:

        async def one_by_one() -> None:
            while bodies:
                receipt, body = bodies.pop()
                t0 = time.perf_counter()
                r = await client.post(
                    "/simkim/v1/applications",
                    content=body,
                    headers={"Idempotency-Key": receipt, "Content-Type": "application/json"},
                )
                latencies.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(one_by_one() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {
        "posts": len(receipts),
        "statuses": statuses,
        "seconds": round(elapsed, 3),
        "posts_per_second": round(len(receipts) / elapsed, 1),
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
    }


class Bus:
    """This process on the bus: publishes as queue, payment and capture; hears simkim.submission.accepted."""

    def __init__(self, settings: RuntimeSettings) -> None:
        self.settings = settings
        self.accepted: dict[str, float] = {}
        self.accepted_count = 0
        self.waiters: list[tuple[int, asyncio.Event]] = []
        self.conn: aio_pika.abc.AbstractRobustConnection | None = None
        self.exchange: aio_pika.abc.AbstractExchange | None = None
        self.probe = BusProbe(settings, keys=("simkim.submission.accepted",), on_event=self._accepted)

    async def start(self) -> None:
        """Connect, bind the probe."""
        self.conn = await aio_pika.connect_robust(self.settings.amqp_url)
        channel = await self.conn.channel(publisher_confirms=True)
        self.exchange = await channel.declare_exchange(
            self.settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        await self.probe.start()

    def _accepted(self, event: Any) -> None:
        self.accepted_count += 1
        self.accepted.setdefault(event.subject, time.perf_counter())
        for count, waiter in self.waiters:
            if len(self.accepted) >= count:
                waiter.set()

    async def publish(self, data: EventData, source: str) -> float:
        """Publish one event as its service would; returns when it was handed over (after the confirm)."""
        assert self.exchange is not None
        ev = new_event(data, source=source)
        await self.exchange.publish(
            aio_pika.Message(
                dump_event(ev),
                content_type="application/cloudevents+json",
                message_id=ev.id,
                type=ev.type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers={"subject": ev.subject or "", "office": ev.office or ""},
            ),
            routing_key=ev.type,
        )
        return time.perf_counter()

    async def wait_accepted(self, count: int) -> None:
        """Until ``count`` distinct applications were accepted (at most five minutes)."""
        event = asyncio.Event()
        self.waiters.append((count, event))
        if len(self.accepted) >= count:
            event.set()
        await asyncio.wait_for(event.wait(), 300)

    async def close(self) -> None:
        """Disconnect."""
        await self.probe.close()
        if self.conn is not None:
            await self.conn.close()


SOURCES = ("sambang/queue", "sambang/payment", "sambang/capture", "sambang/capture")


async def prepare(bus: Bus, gateway_url: str, receipts: list[str]) -> None:
    """Publish the first three readiness events of every application and wait until the gateway holds them."""
    sem = asyncio.Semaphore(64)

    async def three(receipt: str) -> None:
        async with sem:
            for data, source in zip(readiness(receipt)[:3], SOURCES, strict=False):
                await bus.publish(data, source)

    await asyncio.gather(*(three(r) for r in receipts))
    engine = create_async_engine(gateway_url)
    from sambang_simkim_gateway.models import submission

    try:
        for _ in range(1200):
            async with engine.connect() as conn:
                held = (
                    await conn.execute(
                        select(func.count())
                        .select_from(submission)
                        .where(submission.c.receipt_number.in_(receipts), submission.c.captured.is_(True))
                    )
                ).scalar_one()
            if held == len(receipts):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("the gateway did not take the readiness events")
    finally:
        await engine.dispose()


async def burst(bus: Bus, gateway_url: str, receipts: list[str]) -> dict[str, Any]:
    """All last readiness events at once; submissions per second and latency to accepted."""
    await prepare(bus, gateway_url, receipts)
    before = len(bus.accepted)
    sent: dict[str, float] = {}

    async def last(receipt: str) -> None:
        sent[receipt] = await bus.publish(readiness(receipt)[3], "sambang/capture")

    start = time.perf_counter()
    await asyncio.gather(*(last(r) for r in receipts))
    await bus.wait_accepted(before + len(receipts))
    end = max(bus.accepted[r] for r in receipts)
    latencies = [bus.accepted[r] - sent[r] for r in receipts]
    elapsed = end - start
    return {
        "applications": len(receipts),
        "seconds": round(elapsed, 3),
        "submissions_per_second": round(len(receipts) / elapsed, 1),
        "latency_p50_ms": pct(latencies, 50),
        "latency_p99_ms": pct(latencies, 99),
    }


async def paced(bus: Bus, gateway_url: str, receipts: list[str], rate: float) -> dict[str, Any]:
    """Last readiness events at a steady rate below capacity: the latency of a submission that does not queue."""
    await prepare(bus, gateway_url, receipts)
    before = len(bus.accepted)
    sent: dict[str, float] = {}
    async for i in h.offered(rate, len(receipts)):
        sent[receipts[i]] = await bus.publish(readiness(receipts[i])[3], "sambang/capture")
    await bus.wait_accepted(before + len(receipts))
    latencies = [bus.accepted[r] - sent[r] for r in receipts]
    return {
        "applications": len(receipts),
        "rate_per_second": rate,
        "latency_p50_ms": pct(latencies, 50),
        "latency_p99_ms": pct(latencies, 99),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the three processes, run the phases, check exactly once, clean up."""
    run_id = h.run_id()
    gateway_url = h.database_url(f"sambang_bench_gateway_{run_id}")
    simkim_url = h.database_url(f"sambang_bench_simkim_{run_id}")
    gw_port, sim_port, cap_port = h.free_port(), h.free_port(), h.free_port()
    ports = ("--run", run_id, "--ports", f"{gw_port},{sim_port},{cap_port}")
    procs: list[asyncio.subprocess.Process] = []
    bus = Bus(runtime_settings("bench", gateway_url, run_id))
    try:
        procs.append(await h.start(__file__, "--serve-simkim", simkim_url, *ports, ready=h.base_url(sim_port)))
        sim_proc = procs[-1]
        concurrency = ("--concurrency", str(args.concurrency))
        procs.append(
            await h.start(__file__, "--serve-gateway", gateway_url, *ports, *concurrency, ready=h.base_url(gw_port))
        )
        gw_proc = procs[-1]
        async with httpx.AsyncClient(base_url=h.base_url(sim_port)) as admin:
            r = await admin.put("/simkim/_admin/faults", json={"latency_ms": args.latency_ms})
            r.raise_for_status()
        await bus.start()
        rng = random.Random()
        receipts: set[str] = set()
        total = 2 * args.applications + args.paced
        while len(receipts) < total:
            receipts.add(generate_receipt_number("BLT", INTERVIEW_AT.date(), rng))
        ordered = sorted(receipts)
        raw_receipts = ordered[: args.applications]
        burst_receipts = ordered[args.applications : 2 * args.applications]
        paced_receipts = ordered[2 * args.applications :]
        # CPU per call as well as rates: on a shared machine the rates move with the neighbours' load.
        sim_cpu = h.cpu_seconds(sim_proc.pid)
        raw = await raw_posts(sim_port, raw_receipts, args.concurrency)
        raw["simulator_cpu_ms_per_post"] = round((h.cpu_seconds(sim_proc.pid) - sim_cpu) * 1000 / len(raw_receipts), 2)
        h.phase("raw", raw)
        gw_cpu, sim_cpu = h.cpu_seconds(gw_proc.pid), h.cpu_seconds(sim_proc.pid)
        ours = await burst(bus, gateway_url, burst_receipts)
        n = len(burst_receipts)
        ours["gateway_cpu_ms_per_submission"] = round((h.cpu_seconds(gw_proc.pid) - gw_cpu) * 1000 / n, 2)
        ours["simulator_and_capture_cpu_ms_per_submission"] = round(
            (h.cpu_seconds(sim_proc.pid) - sim_cpu) * 1000 / n, 2
        )
        h.phase("burst", ours)
        slow = await paced(bus, gateway_url, paced_receipts, args.paced_rate)
        h.phase("paced", slow)
        await asyncio.sleep(1.0)  # room for a duplicate to show up, were there one
        async with httpx.AsyncClient(base_url=h.base_url(sim_port)) as admin:
            stats = (await admin.get("/simkim/_admin/stats")).json()
        ours_received = {r: stats["received_by_receipt"].get(r, 0) for r in burst_receipts + paced_receipts}
        return {
            "bench": "gateway",
            "simkim_latency_ms": args.latency_ms,
            "concurrency": args.concurrency,
            "ours": ours,
            "paced": slow,
            "raw": {"what": "httpx keep-alive POSTs of the same applications to the simulator", **raw},
            "ratio": round(ours["submissions_per_second"] / raw["posts_per_second"], 3),
            "exactly_once": {
                "accepted_events": bus.accepted_count,
                "applications": len(ours_received),
                "each_received_once": all(n == 1 for n in ours_received.values()),
            },
        }
    finally:
        await bus.close()
        await h.stop(reversed(procs))
        for url in (gateway_url, simkim_url):
            await drop_database(url)
        await h.remove_broker_objects(runtime_settings("simkim-gateway", gateway_url, run_id), exchange=False)


async def main() -> None:
    """Parse the arguments, run the benchmark, print the figures."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--applications", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--paced", type=int, default=100, help="applications in the paced phase")
    ap.add_argument("--paced-rate", type=float, default=20.0)
    h.report(await run(ap.parse_args()))


def serve() -> None:
    """One of the bench's server processes: ``--serve-gateway <url>`` or ``--serve-simkim <url>``."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve-gateway")
    ap.add_argument("--serve-simkim")
    ap.add_argument("--run")
    ap.add_argument("--ports")
    ap.add_argument("--concurrency", type=int)
    args = ap.parse_args()
    gw_port, sim_port, cap_port = (int(p) for p in args.ports.split(","))
    if args.serve_gateway:
        serve_gateway(args.serve_gateway, args.run, gw_port, sim_port, cap_port, args.concurrency)
    else:
        serve_simkim(args.serve_simkim, args.run, sim_port, cap_port)


if __name__ == "__main__":
    h.main(main, serve=serve)
