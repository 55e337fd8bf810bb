"""`make up` on real RabbitMQ and PostgreSQL: a crashed service comes back by itself while the others
keep serving, SIGTERM stops every process, and the front door counts each applicant alone."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import steps
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.service import discover_services
from sambang_runtime.testing import BusProbe, Servers
from stack import OFFICE, Stack, bus_probe, children, launched, officer, ready, service_pid, until


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


async def bookable_slot(client: httpx.AsyncClient, up: Stack, places: int) -> int:
    """A seeded BLT slot with room for ``places`` bookings."""
    today = dt.datetime.now(ZoneInfo("Asia/Jakarta")).date()
    resp = await client.get(
        f"{up.front_door}/v1/offices/{OFFICE}/slots",
        params={"from": (today + dt.timedelta(days=1)).isoformat(), "to": (today + dt.timedelta(days=14)).isoformat()},
    )
    assert resp.status_code == 200, resp.text
    slot = next(s for s in resp.json() if s["available"] >= places)
    return int(slot["slot_id"])


def bills_issued(probe: BusProbe) -> dict[str, set[str]]:
    """Every payment.bill.issued event the probe got: receipt -> distinct event ids."""
    issued: dict[str, set[str]] = {}
    for event in probe.of("payment.bill.issued"):
        issued.setdefault(str(event.subject), set()).add(event.id)
    return issued


@pytest.mark.timeout(300)
async def test_up_restarts_a_killed_service_while_the_others_keep_serving(servers: Servers, tmp_path: Path) -> None:
    with launched(servers, tmp_path) as up:
        async with httpx.AsyncClient(timeout=15) as client:
            await ready(client, up)
            async with bus_probe(up, keys=("payment.bill.issued",)) as probe:
                slot_id = await bookable_slot(client, up, places=15)

                async def book() -> str:
                    return await steps.book(client, up.front_door, steps.new_applicant(), slot_id)

                receipts = [await book() for _ in range(5)]

                payment = service_pid(up, "payment")
                queue = service_pid(up, "queue")
                assert payment and queue, children(up.proc.pid)
                os.kill(payment, signal.SIGKILL)

                async def payment_down() -> dict[str, Any] | None:
                    resp = await client.get(f"{up.front_door}/readyz")
                    body: dict[str, Any] = resp.json()
                    return body if resp.status_code == 503 else None

                down = await until("the front door to report payment down", payment_down, up, timeout=20)
                assert down["down"] == ["payment"] and down["services"]["payment"]["status"] == "down"
                assert down["services"]["queue"]["status"] == "up"
                # Check-in's side keeps answering while billing is away.
                receipts += [await book() for _ in range(5)]
                status = await client.get(f"{up.front_door}/v1/applications/{receipts[-1]}", headers=officer())
                assert status.status_code == 200 and status.json()["status"]

                # Payment comes back by itself, as a new process; queue was never touched.
                await until("payment restarted", lambda: _new_pid(up, "payment", payment), up, timeout=60)
                await ready(client, up)
                assert service_pid(up, "queue") == queue
                receipts += [await book() for _ in range(5)]

                # Every application is billed, exactly once, including those booked while payment was down.
                for receipt in receipts:

                    async def billed(receipt: str = receipt) -> bool:
                        resp = await client.get(f"{up.front_door}/v1/bills/{receipt}", headers=officer())
                        return resp.status_code == 200 and resp.json()["receipt_number"] == receipt

                    await until(f"the bill of {receipt}", billed, up, timeout=60)

                async def all_issued() -> bool:
                    return set(receipts) <= set(bills_issued(probe))

                await until("payment.bill.issued of every receipt", all_issued, up, timeout=30)
                # A second bill of an application would come from payment handling its registration again
                # (redelivered after the kill), before the registrations booked after the restart: its event
                # is on the exchange before the last bill's. The barrier proves the probe has all of them.
                await probe.barrier()
                issued = bills_issued(probe)
                assert {r: len(issued[r]) for r in receipts} == dict.fromkeys(receipts, 1)
                assert set(issued) == set(receipts)

        assert '"event": "supervisor.child_exited"' in up.output()
        assert '"child": "payment"' in up.output()
        # SIGTERM stops the launcher and every process it started, promptly.
        pids = list(children(up.proc.pid))
        assert len(pids) == len(discover_services()) + 1, children(up.proc.pid)  # + the front door
        started = time.monotonic()
        up.proc.send_signal(signal.SIGTERM)
        code = up.proc.wait(timeout=30)
        assert time.monotonic() - started < 20
        assert code == 0, up.output()
        assert not [pid for pid in pids if alive(pid)]


async def _new_pid(up: Stack, service: str, old: int) -> bool:
    pid = service_pid(up, service)
    return pid is not None and pid != old


def applicant(address: str) -> httpx.AsyncClient:
    """A client connecting from ``address`` (any 127.x.y.z is the loopback on Linux)."""
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=address), timeout=15)


@pytest.mark.timeout(240)
async def test_up_front_door_counts_each_applicant_alone(servers: Servers, tmp_path: Path) -> None:
    """make up trusts its own front door (loopback): the applicant behind it is the client counted."""
    with launched(servers, tmp_path) as up:
        async with applicant("127.0.0.2") as guesser, applicant("127.0.0.3") as neighbour:
            await ready(guesser, up)
            for path in ("/v1/applications/", "/v1/bills/"):
                # Birth dates travel in bodies; each guess another receipt, so the per-client limit answers.
                def url(path: str = path) -> str:
                    fresh = generate_receipt_number(OFFICE, dt.date.today())
                    return f"{up.front_door}{path}{fresh}/lookup"

                codes = [
                    (
                        await guesser.post(
                            url(), json={"birth_date": "1990-01-01"}, headers={"X-Forwarded-For": f"127.0.0.{9 + i}"}
                        )
                    ).status_code
                    for i in range(14)
                ]
                assert codes[:10] == [404] * 10 and codes[10:].count(429) >= 3, codes
                other = await neighbour.post(url(), json={"birth_date": "1990-01-01"})
                assert other.status_code == 404
