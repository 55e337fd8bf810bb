"""Signed bank notifications per second, HTTP endpoint to ``payment.confirmed`` on the bus.

The payment service runs in its own process under uvicorn on a loopback port (as deployed), on
PostgreSQL and RabbitMQ; the bench process is the bank: a lean keep-alive HTTP/1.1 client (httpx's
pool costs more CPU than the service on a small machine). N unpaid bills are inserted, a partner
is registered through the API, then N signed notifications (one per bill, distinct NTPNs) are sent
over HTTP on ``--concurrency`` keep-alive connections. The
clock stops when the N-th ``payment.confirmed`` event arrives on a probe queue bound to the
exchange. Beside it, in the same run and on the same database, the baseline: a bare FastAPI app in
its own uvicorn process whose endpoint takes the same JSON body and does one INSERT on an asyncpg pool
of the same size (no signature, no bill, no outbox, no event), fed by the same client at the same
concurrency; ``ratio`` is ours over it. Also the raw rate of HMAC-SHA256 verification (``hmac.new`` +
``hmac.compare_digest`` over ``"<t>.<body>"``), the floor cost of the signature check alone.
The last line is one JSON object.

    python bench/payments.py [--notifications 3000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import json
import sys
import time
from pathlib import Path
from typing import Any

import _harness as h
import httpx
from _harness import pct
from fastapi import FastAPI, Request  # module level: FastAPI resolves the endpoint's annotations here
from sambang_contracts import ApprovalAction
from sambang_contracts.values import generate_billing_code, generate_receipt_number
from sambang_payment.app import create_app
from sambang_payment.domain.notifications import signature_header
from sambang_payment.models import BILL
from sambang_payment.settings import PaymentSettings
from sambang_runtime.approvals import issue_approval
from sambang_runtime.auth import Principal, issue_dev_token
from sambang_runtime.db import drop_database
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import BusProbe
from sqlalchemy.ext.asyncio import create_async_engine

# The notification body the end-to-end journeys pay with (tests/e2e/steps.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from steps import bank_notification


def raw_hmac_rate(seconds: float = 1.5) -> dict[str, Any]:
    """Verifications per second of a realistic notification: HMAC-SHA256 + constant-time compare."""
    secret = b"x" * 43
    body = bank_notification(generate_billing_code(), 950000, "0F1E2D3C4B5A6978")
    t = b"1800000000"
    expected = hmac.new(secret, t + b"." + body, hashlib.sha256).hexdigest()
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(1000):
            hmac.compare_digest(hmac.new(secret, t + b"." + body, hashlib.sha256).hexdigest(), expected)
        n += 1000
        if time.perf_counter() >= deadline:
            break
    elapsed = time.perf_counter() - start
    return {"verifications": n, "seconds": round(elapsed, 3), "verifications_per_second": round(n / elapsed, 1)}


def bench_settings(url: str, run_id: str, concurrency: int) -> RuntimeSettings:
    """Settings of the benched payment service."""
    return h.bench_settings("payment", url, run_id, database_pool_size=concurrency // 2 + 5)


def serve() -> None:
    """The server process: the payment app under uvicorn on a loopback port, or (``--bare``) the baseline."""
    args = h.server_args()
    if "--bare" in sys.argv:
        h.serve(bare_app(args.serve, args.concurrency // 2 + 5), args.port)
        return
    app = create_app(
        bench_settings(args.serve, args.run, args.concurrency),
        payment_settings=PaymentSettings(sweep_interval_seconds=3600),
    )
    h.serve(app, args.port)


BARE_TABLE = "bench_bare_notification"


def bare_app(url: str, pool_size: int) -> Any:
    """The baseline: FastAPI taking the notification's JSON and storing it with one INSERT, nothing else."""
    import contextlib as _contextlib
    from collections.abc import AsyncIterator

    import asyncpg
    from sambang_runtime.db import asyncpg_dsn

    pool: dict[str, asyncpg.Pool] = {}

    @_contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool["db"] = await asyncpg.create_pool(asyncpg_dsn(url), min_size=pool_size, max_size=pool_size)
        yield
        await pool["db"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def readyz() -> dict[str, bool]:
        return {"ready": True}

    @app.post("/v1/payments/notifications")
    async def notify(request: Request) -> dict[str, str]:
        body = await request.json()
        await pool["db"].execute(
            f"INSERT INTO {BARE_TABLE} (ntpn, body) VALUES ($1, $2)",
            body["ntpn"],
            json.dumps(body),
        )
        return {"outcome": "APPLIED"}

    return app


class KeepAlive:
    """One persistent HTTP/1.1 connection sending requests one after the other."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST and read the response (Content-Length framed, as uvicorn answers)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw.split(b" ", 2)[1])
        length = 0
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()


async def insert_bills(engine: Any, n: int) -> list[dict[str, Any]]:
    """N unpaid bills straight into the table (issuing bills is not what is measured)."""
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    rows = []
    codes: set[str] = set()
    while len(codes) < n:
        codes.add(generate_billing_code())
    for code in codes:
        rows.append(
            {
                "receipt_number": generate_receipt_number("BLT", today),
                "office": "BLT",
                "billing_code": code,
                "amount": 950_000,
                "items": [{"code": "PASPOR_ELEKTRONIK_10TH", "description": "bench", "amount": 950_000}],
                "schedule_name": "PP 45/2024",
                "validity_years": 10,
                "priority": False,
                "status": "UNPAID",
                "issued_at": now,
                "expires_at": now + dt.timedelta(hours=2),
                "birth_date_enc": "bench",
                "birth_date_index": "bench",
            }
        )
    # Receipt numbers are random: drop the rare twin rather than fail.
    unique = list({r["receipt_number"]: r for r in rows}.values())
    async with engine.begin() as conn:
        for i in range(0, len(unique), 2000):
            await conn.execute(BILL.insert(), unique[i : i + 2000])
    return unique


async def run(n: int, concurrency: int) -> dict[str, Any]:
    """Start the service, fire N signed notifications, wait for N payment.confirmed events."""
    run_id = h.run_id()
    url = h.database_url(f"sambang_bench_payment_{run_id}")
    settings = bench_settings(url, run_id, concurrency)
    port = h.free_port()
    serving = ("--serve", url, "--run", run_id, "--port", str(port), "--concurrency", str(concurrency))
    proc = await h.start(__file__, *serving, ready=h.base_url(port))
    confirmed: dict[str, float] = {}
    all_in = asyncio.Event()
    expected = n

    def record(event: Any) -> None:
        confirmed[event.data.ntpn] = time.perf_counter()
        if len(confirmed) >= expected:
            all_in.set()

    probe = BusProbe(settings, keys=("payment.confirmed",), on_event=record)
    engine = create_async_engine(url)
    clients = [KeepAlive(port) for _ in range(concurrency)]
    try:
        async with httpx.AsyncClient(base_url=h.base_url(port), timeout=60) as client:
            assert settings.auth_hs256_secret is not None
            # A bank partner is registered by a national admin with a second one's approval (four eyes).
            admin = issue_dev_token(settings.auth_hs256_secret, sub="bench", office="PST", roles=["national_admin"])
            second = Principal(sub="bench-approver", office="PST", roles=frozenset({"national_admin"}))
            approval = issue_approval(settings, second, action=ApprovalAction.PARTNER_CREATE, subject="BANKBENCH")
            r = await client.post(
                "/v1/partners",
                json={"partner_id": "BANKBENCH", "name": "Bench bank"},
                headers={"Authorization": f"Bearer {admin}", "X-Supervisor-Approval": approval.token},
            )
            r.raise_for_status()
            key_id, secret = r.json()["key_id"], r.json()["secret"]
        await probe.start()
        bills = await insert_bills(engine, n)
        expected = len(bills)
        bodies = []
        for i, bill in enumerate(bills):
            ntpn = f"B{run_id.upper()}{i:09d}"  # 16 capitals and digits
            bodies.append((ntpn, bank_notification(bill["billing_code"], bill["amount"], ntpn)))
        sent: dict[str, float] = {}
        http_latency: list[float] = []
        outcomes: dict[str, int] = {}
        pending = list(reversed(bodies))

        async def bank(conn_: KeepAlive) -> None:
            # Each connection sends its next notification when the previous one is answered.
            while pending:
                ntpn, body = pending.pop()
                headers = {
                    "X-Partner-Key": key_id,
                    "X-Signature": signature_header(secret, int(time.time()), body),
                    "Content-Type": "application/json",
                }
                t0 = time.perf_counter()
                sent[ntpn] = t0
                status, answer = await conn_.post("/v1/payments/notifications", body, headers)
                http_latency.append(time.perf_counter() - t0)
                outcome = json.loads(answer).get("outcome") if status == 200 else f"HTTP {status}"
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(bank(c) for c in clients))
        http_done = time.perf_counter() - start
        await asyncio.wait_for(all_in.wait(), timeout=120)
        elapsed = max(confirmed.values()) - start
        to_event = [confirmed[k] - sent[k] for k in confirmed if k in sent]
        return {
            "notifications": len(bills),
            "concurrency": concurrency,
            "outcomes": outcomes,
            "seconds": round(elapsed, 3),
            "notifications_per_second": round(len(bills) / elapsed, 1),
            "http_only_per_second": round(len(bills) / http_done, 1),
            "http_p50_ms": pct(http_latency, 50),
            "http_p99_ms": pct(http_latency, 99),
            "to_event_p50_ms": pct(to_event, 50),
            "to_event_p99_ms": pct(to_event, 99),
            "measured": "first request sent to the N-th payment.confirmed consumed from RabbitMQ",
        }
    finally:
        for c in clients:
            c.close()
        await h.stop([proc])
        await engine.dispose()
        await probe.close()
        await h.remove_broker_objects(settings)
        await drop_database(url)


async def run_bare(n: int, concurrency: int) -> dict[str, Any]:
    """The baseline server on a database of its own on the same server, the same bodies and client."""
    import asyncpg
    from sambang_runtime.db import asyncpg_dsn, ensure_database

    run_id = h.run_id()
    url = h.database_url(f"sambang_bench_bare_{run_id}")
    await ensure_database(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(f"CREATE TABLE {BARE_TABLE} (id bigserial PRIMARY KEY, ntpn text UNIQUE, body jsonb)")
    finally:
        await conn.close()
    port = h.free_port()
    serving = ("--serve", url, "--run", run_id, "--port", str(port), "--concurrency", str(concurrency), "--bare")
    proc = await h.start(__file__, *serving, ready=h.base_url(port))
    clients = [KeepAlive(port) for _ in range(concurrency)]
    pending = [bank_notification(generate_billing_code(), 950_000, f"R{run_id.upper()}{i:09d}") for i in range(n)]
    latency: list[float] = []
    statuses: dict[int, int] = {}
    try:

        async def bank(conn_: KeepAlive) -> None:
            while pending:
                body = pending.pop()
                t0 = time.perf_counter()
                status, _ = await conn_.post("/v1/payments/notifications", body, {"Content-Type": "application/json"})
                latency.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(bank(c) for c in clients))
        elapsed = time.perf_counter() - start
    finally:
        for c in clients:
            c.close()
        await h.stop([proc])
        await drop_database(url)
    assert statuses == {200: n}, f"the baseline must store every notification: {statuses}"
    return {
        "what": "bare FastAPI: the same JSON body, one INSERT on asyncpg, 200",
        "notifications": n,
        "statuses": statuses,
        "seconds": round(elapsed, 3),
        "notifications_per_second": round(n / elapsed, 1),
        "p50_ms": pct(latency, 50),
        "p99_ms": pct(latency, 99),
    }


async def main() -> None:
    """Run the measurements and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notifications", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=50)
    args = ap.parse_args()
    raw = raw_hmac_rate()
    h.phase("raw_hmac", raw)
    bare = await run_bare(args.notifications, args.concurrency)
    h.phase("bare", bare)
    ours = await run(args.notifications, args.concurrency)
    h.phase("ours", ours)
    h.report(
        {
            "bench": "payments",
            "ours": ours,
            "bare": bare,
            "hmac": {"what": "hmac.new(sha256) + hmac.compare_digest, one core", **raw},
            # Ours to the N-th payment.confirmed on the bus; the bare app only answers.
            "ratio": round(ours["notifications_per_second"] / bare["notifications_per_second"], 3),
            "ratio_http_only": round(ours["http_only_per_second"] / bare["notifications_per_second"], 3),
        }
    )


if __name__ == "__main__":
    h.main(main, serve=serve)
