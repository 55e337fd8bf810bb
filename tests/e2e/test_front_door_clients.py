"""Public look-ups through the real front door proxy: each applicant behind it is counted alone.

Queue and payment serve on TCP ports (uvicorn, in this process, on PostgreSQL and RabbitMQ) with
the front door of ``make up`` (``build_proxy``) in front of them, trusting only the front door's
address, 127.0.0.1. Applicants connect from other loopback addresses (127.0.0.2, 127.0.0.3...),
so the front door sees each one's own address, as nginx would see each applicant's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
import pytest
import uvicorn
from sambang_contracts.values import generate_receipt_number
from sambang_payment.app import create_app as create_payment
from sambang_queue.app import create_app as create_queue
from sambang_runtime.frontdoor import build_proxy
from sambang_runtime.launcher import FRONT_DOOR_PORT
from sambang_runtime.service import discover_services
from sambang_runtime.testing import Servers, isolated_settings
from stack import embedded, free_offset, serving
from starlette.types import ASGIApp

GUESSES = 60
Lifespan = Literal["on", "off"]


@dataclass
class Stack:
    """Where the front door and the services listen."""

    front_door: str
    queue: str
    payment: str


async def _serve(app: ASGIApp, port: int, *, lifespan: Lifespan = "on") -> tuple[uvicorn.Server, asyncio.Task[None]]:
    # proxy_headers off as run_service and the front door serve: the services' own rule decides alone.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan=lifespan, proxy_headers=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1200):  # up to 60 s: the services apply their migrations first
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    if not server.started:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)
        raise AssertionError(f"nothing listening on :{port}")
    return server, task


@pytest.fixture
async def stack(servers: Servers, tmp_path: Path) -> AsyncIterator[Stack]:
    """Queue and payment behind the proxying front door, on a random port offset."""
    offset = free_offset()
    uniq = uuid.uuid4().hex[:6]
    ports = {d.name: d.port + offset for d in discover_services()}
    common = {"trusted_proxies": "127.0.0.1/32", "log_level": "WARNING"}
    apps: list[tuple[ASGIApp, int, Lifespan]] = [
        (create_queue(isolated_settings(servers, tmp_path, "queue", uniq=uniq, **common)), ports["queue"], "on"),
        (create_payment(isolated_settings(servers, tmp_path, "payment", uniq=uniq, **common)), ports["payment"], "on"),
        (build_proxy(discover_services(), offset=offset), FRONT_DOOR_PORT + offset, "off"),
    ]
    running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
    try:
        for app, port, lifespan in apps:
            running.append(await _serve(app, port, lifespan=lifespan))
        yield Stack(
            front_door=f"http://127.0.0.1:{FRONT_DOOR_PORT + offset}",
            queue=f"http://127.0.0.1:{ports['queue']}",
            payment=f"http://127.0.0.1:{ports['payment']}",
        )
    finally:
        for server, _ in running:
            server.should_exit = True
        await asyncio.gather(*(task for _, task in running), return_exceptions=True)


def applicant(address: str) -> httpx.AsyncClient:
    """A client whose connections come from ``address`` (any 127.x.y.z is the loopback on Linux)."""
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=address), timeout=10)


async def guesses(client: httpx.AsyncClient, url: str, n: int, headers: dict[str, str] | None = None) -> list[int]:
    """``n`` look-ups with a wrong birth date (in the body: never in a URL), each of another receipt so
    the per-receipt lock stays out of it and the per-client limit is what answers; the codes in order."""
    codes = []
    for _ in range(n):
        fresh = f"{url.rsplit('/', 1)[0]}/{generate_receipt_number('BLT', dt.date.today())}/lookup"
        resp = await client.post(fresh, json={"birth_date": "1990-01-01"}, headers=headers)
        assert resp.status_code in (404, 429), resp.text
        if resp.status_code == 429:
            assert resp.json()["code"] == "rate_limited" and int(resp.headers["retry-after"]) >= 1
        codes.append(resp.status_code)
    return codes


def throttled_after_burst(codes: list[int], burst: int) -> bool:
    """The first ``burst`` pass, then (a refill aside) every guess is refused."""
    return codes[:burst] == [404] * burst and codes.count(429) >= len(codes) - burst - 3


@pytest.mark.timeout(180)
async def test_guesses_through_the_front_door_are_throttled_per_applicant(stack: Stack) -> None:
    receipt = generate_receipt_number("BLT", dt.date.today())
    status = f"{stack.front_door}/v1/applications/{receipt}"
    bill = f"{stack.front_door}/v1/bills/{receipt}"
    async with applicant("127.0.0.2") as guesser, applicant("127.0.0.3") as neighbour:
        # Queue: a burst of 10, then 30 a minute; payment: a burst of 10, then 10 a minute.
        for url in (status, bill):
            assert throttled_after_burst(await guesses(guesser, url, GUESSES), 10)
            # Claiming other addresses buys no new budget: the front door appends the one it saw.
            forged = [
                (await guesses(guesser, url, 1, {"X-Forwarded-For": f"127.0.0.{i}, 203.0.113.{i}"}))[0]
                for i in range(6, 12)
            ]
            assert forged.count(429) >= 5, forged  # one token may have come back meanwhile
        # The applicant next to them, behind the same front door, has a budget of their own.
        assert await guesses(neighbour, status, 5) == [404] * 5
        assert await guesses(neighbour, bill, 5) == [404] * 5


@pytest.mark.timeout(180)
async def test_a_client_bypassing_the_front_door_cannot_forge_its_address(stack: Stack) -> None:
    receipt = generate_receipt_number("BLT", dt.date.today())
    async with applicant("127.0.0.4") as direct, applicant("127.0.0.50") as victim:
        for base in (stack.queue, stack.payment):
            url = f"{base}{'/v1/applications/' if base == stack.queue else '/v1/bills/'}{receipt}"
            codes = [(await guesses(direct, url, 1, {"X-Forwarded-For": f"127.0.0.{50 + i}"}))[0] for i in range(12)]
            assert codes[:10] == [404] * 10 and codes[10:] == [429, 429]
        # The addresses it claimed were not charged: an applicant coming from one is not limited.
        assert await guesses(victim, f"{stack.front_door}/v1/applications/{receipt}", 3) == [404] * 3


@pytest.mark.timeout(180)
async def test_embedded_front_door_hands_each_service_the_real_client(tmp_path: Path) -> None:
    """`make run` dispatches in-process: what a client writes in X-Forwarded-For is never believed."""
    receipt = generate_receipt_number("BLT", dt.date.today())
    with embedded(tmp_path) as run:
        await serving(run)
        # From 127.0.0.1: the address uvicorn, left to itself, would take X-Forwarded-For from.
        async with applicant("127.0.0.1") as guesser, applicant("127.0.0.3") as neighbour:
            for path in ("/v1/applications/", "/v1/bills/"):
                url = run.url(f"{path}{receipt}")
                codes = [(await guesses(guesser, url, 1, {"X-Forwarded-For": f"198.51.100.{i}"}))[0] for i in range(14)]
                assert throttled_after_burst(codes, 10), codes
                assert await guesses(neighbour, url, 3) == [404] * 3
