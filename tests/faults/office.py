"""Many journeys at once through one office, driven over REST behind the front door, surviving faults.

``tests/e2e/steps.py`` drives one applicant step by step (its counters expect their own applicant's
ticket). Here applicants and counters run concurrently as in a real office: each applicant books
(with an Idempotency-Key), pays (the demo bank's webhook, the same NTPN on every retry), confirms
arrival, checks in and, once issued, takes a pickup ticket; counters call whatever ticket comes next
at their stage and serve it. Every call is retried while the system answers 5xx, 429 or not at all
(a service killed, the broker or the database restarting): a step whose answer was lost is repeated
and must be idempotent, and a counter that lost the ticket it called gets it back from
``409 counter_busy``. Timestamps of each step are kept (bench/journey.py reads them).

Used by tests/faults/test_faults.py and bench/journey.py.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

import steps
from reconcile import declare_quorum_queue
from stack import OFFICE, officer

RETRYABLE = {429, 500, 502, 503, 504}


class GaveUp(AssertionError):
    """A call kept failing past its deadline."""


@dataclass
class Counts:
    """How the system answered meanwhile (how many calls were repeated, and why)."""

    retried: dict[str, int] = field(default_factory=dict)

    def note(self, why: str) -> None:
        self.retried[why] = self.retried.get(why, 0) + 1


COUNTS = Counts()


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    ok: tuple[int, ...] = (200,),
    give_up_after: float = 240.0,
    **kwargs: Any,
) -> httpx.Response:
    """``method url``, repeated while the system is unavailable; the first answer in ``ok`` (or a 4xx, returned)."""
    deadline = time.monotonic() + give_up_after
    pause = 0.2
    while True:
        try:
            resp = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            COUNTS.note(type(exc).__name__)
        else:
            if resp.status_code in ok or (resp.status_code < 500 and resp.status_code not in RETRYABLE):
                return resp
            code = resp.json().get("code", "") if "json" in resp.headers.get("content-type", "") else ""
            if resp.status_code == 429:  # which door refused: a limit an office would meet too
                code += (
                    " " + method + " " + re.sub(r"/[A-Z]{3}\d{13}|/\d+|/[0-9a-f-]{36}", "/{id}", httpx.URL(url).path)
                )
            COUNTS.note(f"{resp.status_code} {code}".strip())
        if time.monotonic() > deadline:
            raise GaveUp(f"{method} {url} kept failing for {give_up_after:.0f} s")
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, 2.0)


def _must(resp: httpx.Response, *codes: int) -> Any:
    assert resp.status_code in codes, f"{resp.request.method} {resp.request.url.path}: {resp.status_code} {resp.text}"
    return resp.json() if resp.content else None


async def poll(what: str, check: Callable[[], Awaitable[Any]], timeout: float, every: float = 0.5) -> Any:
    """Until ``check`` returns something truthy (errors count as not yet)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if found := await check():
                return found
        except (httpx.HTTPError, AssertionError, KeyError, ValueError) as exc:
            last = exc
        await asyncio.sleep(every)
    raise GaveUp(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last!r})")


@dataclass
class Journey:
    """One applicant's way through the office, with when each step happened (time.time())."""

    applicant: steps.Applicant
    ntpn: str = field(default_factory=steps.ntpn)
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    ticket_id: str = ""
    pickup_id: str = ""
    at: dict[str, float] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    handed_over: asyncio.Event = field(default_factory=asyncio.Event)
    error: str = ""

    def mark(self, step: str) -> None:
        self.at[step] = time.time()


class Office:
    """One office's applicants and counters, over the front door at ``base``."""

    def __init__(self, client: httpx.AsyncClient, base: str, office: str = OFFICE, step_timeout: float = 300) -> None:
        self.client = client
        # Applicants come from addresses of their own (any 127.x.y.z is the loopback on Linux), as in an
        # office many phones do: the front door limits each client address, not the whole office.
        self.applicant_clients = [
            httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=f"127.0.1.{i}"), timeout=client.timeout)
            for i in range(1, 65)
        ]
        self.base = base
        self.office = office
        self.by_ticket: dict[str, Journey] = {}
        self.step_timeout = step_timeout
        self.journeys: list[Journey] = []
        #: receipt -> arrival token, from queue.arrival.link_issued (see ``follow_links``)
        self.links: dict[str, str] = {}
        self.stop = asyncio.Event()

    # -- the applicant --------------------------------------------------------------------------------
    async def applicant(self, j: Journey, slot_id: int) -> None:
        c, base, a = self.applicant_clients[hash(j.key) % len(self.applicant_clients)], self.base, j.applicant
        try:
            body = steps.booking(a, slot_id, self.office)
            j.mark("book")
            created = _must(
                await call(
                    c, "POST", f"{base}/v1/applications", ok=(201,), json=body, headers={"Idempotency-Key": j.key}
                ),
                201,
            )
            a.receipt = str(created["receipt_number"])
            j.mark("booked")

            async def billed() -> dict[str, Any] | None:
                resp = await c.get(f"{base}/v1/bills/{a.receipt}", headers=officer())
                return resp.json() if resp.status_code == 200 and resp.json().get("billing_code") else None

            issued = await poll(f"the bill of {a.receipt}", billed, self.step_timeout)
            j.mark("billed")
            raw = steps.bank_notification(issued["billing_code"], issued["amount"], j.ntpn)

            async def notify_bank() -> httpx.Response:
                headers = steps.bank_headers(raw)  # signed anew for each try
                return await c.post(f"{base}/v1/payments/notifications", content=raw, headers=headers)

            await poll(f"the bank's notification for {a.receipt}", _accepted(notify_bank), self.step_timeout)
            j.mark("paid")

            async def arrival_link() -> tuple[str, str] | None:
                resp = await c.get(f"{base}/v1/dev/mailbox", params={"to": a.email})
                box = resp.json() if resp.status_code == 200 else []
                found = next((m for m in box if "/arrival?" in m["text"]), None)
                if found:
                    return steps.arrival_token(found)
                # The development mail sink keeps mail in the notifier's memory: a mail sent before the
                # notifier was killed is gone from it (a real SMTP server keeps it). The link is also an
                # event (queue.arrival.link_issued); that it was mailed once is checked by the reconciliation.
                token = self.links.get(a.receipt)
                return (a.receipt, token) if token else None

            receipt, token = await poll(f"the arrival link of {a.receipt}", arrival_link, self.step_timeout)
            assert receipt == a.receipt
            j.mark("arrival_mail")
            _must(
                await call(c, "POST", f"{base}/v1/applications/{receipt}/arrival-confirmation", json={"token": token}),
                200,
            )
            j.mark("arrived")
            checked = await self._at_the_kiosk(c, "check-ins", a)
            j.ticket_id = checked["ticket_id"]
            self.by_ticket[j.ticket_id] = j
            j.mark("checked_in")

            async def issued_status() -> bool:
                page = await c.post(f"{base}/v1/applications/{a.receipt}/lookup", json={"birth_date": a.birth_date})
                return page.status_code == 200 and page.json()["status"] in ("ISSUED", "READY_FOR_PICKUP")

            await poll(f"{a.receipt} issued", issued_status, self.step_timeout * 2, every=1.0)
            j.mark("issued")
            ticket = await self._at_the_kiosk(c, "pickups", a)
            j.pickup_id = ticket["pickup_id"]
            self.by_ticket[ticket["ticket_id"]] = j
            j.mark("pickup_ticket")
            await asyncio.wait_for(j.handed_over.wait(), self.step_timeout)
            j.mark("collected")
        except Exception as exc:
            j.error = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            j.done.set()

    async def _at_the_kiosk(self, c: httpx.AsyncClient, what: str, a: steps.Applicant) -> dict[str, Any]:
        """The kiosk's ``check-ins`` or ``pickups`` for applicant ``a``; the ticket it gives."""
        resp = await call(
            c,
            "POST",
            f"{self.base}/v1/offices/{self.office}/{what}",
            ok=(200, 201),
            json={"receipt_number": a.receipt, "birth_date": a.birth_date},
            # The office's kiosks: each device has its own limit (30 at once, 60 a minute), and a day's
            # arrivals compressed into minutes need more than one, as a real office has.
            headers=officer("kiosk", self.office, sub=f"kiosk-{int(a.receipt[-4:]) % KIOSKS + 1}"),
        )
        ticket: dict[str, Any] = _must(resp, 200, 201)
        return ticket

    # -- the counters ---------------------------------------------------------------------------------
    async def counter(self, stage: str, name: str) -> None:
        """Call the next ticket of ``stage`` and serve it, until told to stop."""
        role = steps.STAGE_ROLE[stage]
        sub = f"{role}-{name}"
        headers = officer(role, self.office, sub=sub)
        url = f"{self.base}/v1/offices/{self.office}/counters/{name}/call-next"
        while not self.stop.is_set():
            try:
                resp = await call(self.client, "POST", url, ok=(200, 204, 409), json={"stage": stage}, headers=headers)
            except GaveUp:
                continue
            if resp.status_code == 204:
                await asyncio.sleep(0.3)
                continue
            body = resp.json()
            if resp.status_code == 409 and body.get("code") != "counter_busy":
                raise AssertionError(f"call-next at {name}: {resp.text}")
            ticket_id = body["ticket_id"]  # a ticket this counter called, perhaps one whose answer was lost
            j = self.by_ticket.get(ticket_id)
            if j is None:  # its check-in answer is still on its way
                await asyncio.sleep(0.2)
                continue
            try:
                await self.serve(stage, j, ticket_id, sub)
            except Exception as exc:
                j.error = j.error or f"{stage}: {type(exc).__name__}: {exc}"[:500]
                if stage == "PICKUP":
                    j.handed_over.set()
                await self._complete(ticket_id, role, sub)  # free the counter, the journey is marked failed

    async def _complete(self, ticket_id: str, role: str, sub: str) -> None:
        resp = await call(
            self.client,
            "POST",
            f"{self.base}/v1/tickets/{ticket_id}/complete",
            ok=(200, 409),
            headers=officer(role, self.office, sub=sub),
        )
        _must(resp, 200, 409)  # 409: an earlier try, whose answer was lost, completed it

    async def serve(self, stage: str, j: Journey, ticket_id: str, sub: str) -> None:
        c, base, receipt = self.client, self.base, j.applicant.receipt
        role = steps.STAGE_ROLE[stage]
        h = officer(role, self.office, sub=sub)
        if stage == "VERIFICATION":
            j.mark("verification_called")

            async def summary() -> dict[str, Any] | None:
                resp = await c.get(f"{base}/v1/captures/{receipt}", headers=h)
                return resp.json() if resp.status_code == 200 else None

            known = await poll(f"capture to know {receipt}", summary, self.step_timeout)
            docs = [
                {"kind": req["kinds"][0], "holder": req["holder"], "status": "OK"}
                for req in known["documents"]["checklist"]
                if not req["met"]
            ]
            if docs:
                _must(await call(c, "POST", f"{base}/v1/captures/{receipt}/documents", json=docs, headers=h), 200, 201)
            await self._complete(ticket_id, role, sub)
            j.mark("verified")
        elif stage == "INTERVIEW":
            j.mark("interview_called")
            url = f"{base}/v1/captures/{receipt}"
            img = steps.images()
            uploads = [("photo", img.portrait_jpeg(), "image/jpeg")]
            uploads += [(f"fingerprints/{p}", img.fingerprint_png(p), "image/png") for p in range(1, 11)]
            uploads += [("signature", img.signature_png(), "image/png")]
            for path, data, kind in uploads:
                _must(await call(c, "PUT", f"{url}/{path}", content=data, headers={**h, "Content-Type": kind}), 200)
            resp = await call(
                c, "POST", f"{url}/interview", ok=(200, 201, 409), json={"decision": "APPROVED"}, headers=h
            )
            _must(resp, 200, 201, 409)
            resp = await call(c, "POST", f"{url}/complete", ok=(200, 201, 409), json={"mode": "COUNTER"}, headers=h)
            _must(resp, 200, 201, 409)
            await self._complete(ticket_id, role, sub)
            j.mark("captured")
        else:  # PICKUP
            resp = await call(
                c,
                "POST",
                f"{base}/v1/pickups/{j.pickup_id}/hand-over",
                ok=(200, 409),
                json={"identity_checked": True, "collected_by": "SELF"},
                headers=h,
            )
            if resp.status_code == 409:
                assert resp.json().get("code") == "already_collected", resp.text  # an earlier try's answer lost
            j.handed_over.set()


LINKS_QUEUE = "faults.arrival-links"


async def declare_links(amqp_url: str, exchange: str) -> None:
    """A durable queue of the arrival links (queue.arrival.link_issued), declared before the services start."""
    await declare_quorum_queue(amqp_url, exchange, LINKS_QUEUE, "queue.arrival.link_issued")


#: Kiosk devices of the simulated office.
KIOSKS = 8


async def follow_links(amqp_url: str, links: dict[str, str], stop: asyncio.Event) -> None:
    """Keep ``links`` (receipt -> token) from the links queue, across broker restarts, until ``stop``."""
    import aio_pika
    from sambang_contracts import parse_event
    from sambang_runtime.bus.nodes import connect_nodes

    connection = await connect_nodes(amqp_url, reconnect_interval=1)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(LINKS_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})

        async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                event = parse_event(message.body)
                links[str(event.data.receipt_number)] = event.data.token

        await queue.consume(keep)
        await stop.wait()


def _accepted(send: Callable[[], Awaitable[httpx.Response]]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        resp = await send()
        if resp.status_code in RETRYABLE:
            COUNTS.note(f"{resp.status_code} bank")
            return False
        assert resp.status_code in (200, 201, 202), resp.text
        return True

    return check


async def run_journeys(
    client: httpx.AsyncClient,
    base: str,
    n: int,
    *,
    counters: dict[str, int] | None = None,
    spread_seconds: float = 0.0,
    step_timeout: float = 300,
    links_from: str | None = None,
) -> tuple[Office, asyncio.Task[None]]:
    """Start ``n`` applicants (spread over ``spread_seconds``) and the counters; the office and the task
    that ends when every journey has ended (done or failed)."""
    slot_id = await poll(
        "the office ready for today's journeys",
        lambda: steps.prepare_office(client, base, quota=max(500, n + 10)),
        120,
        every=1.0,
    )
    office = Office(client, base, step_timeout=step_timeout)
    if links_from:  # an AMQP URL whose links queue (declare_links) the office reads too
        workers_stop = office.stop
        link_follower = asyncio.create_task(follow_links(links_from, office.links, workers_stop))
    sizes = counters or {"VERIFICATION": 6, "INTERVIEW": 6, "PICKUP": 4}
    workers = [
        asyncio.create_task(office.counter(stage, f"{stage[0]}{i}"))
        for stage, k in sizes.items()
        for i in range(1, k + 1)
    ]
    office.journeys = [Journey(steps.new_applicant()) for _ in range(n)]

    async def everyone() -> None:
        tasks = []
        for j in office.journeys:
            tasks.append(asyncio.create_task(office.applicant(j, slot_id)))
            if spread_seconds:
                await asyncio.sleep(spread_seconds / n)
        await asyncio.gather(*tasks)
        office.stop.set()
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for other in office.applicant_clients:
            await other.aclose()
        if links_from:
            await asyncio.gather(link_follower, return_exceptions=True)

    return office, asyncio.create_task(everyone())
