"""Helpers of the notifier tests: a real SMTP server (aiosmtpd), a real HTTP SMS provider, a real HTTP server
for the streams (uvicorn), a server-sent-events reader, events as the other services publish them.
(A module of its own, not conftest: several conftest modules exist.)"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import json
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from sambang_contracts import (
    Applicant,
    ApplicationRegistered,
    CloudEvent,
    EventData,
    Language,
    NotificationChannel,
    PassportType,
    PriorityCategory,
    ServiceType,
    Slot,
    dump_event,
    new_event,
    owner_of,
)
from sambang_contracts.values import generate_receipt_number
from sambang_notifier.settings import NotifierSettings
from sambang_notifier.stores.notifications import NewMessage
from sambang_runtime.auth import issue_dev_token
from sambang_runtime.bus.transport import OutgoingMessage
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import BusProbe, FakeClock, eventually

DAY = dt.date(2026, 12, 1)
SMS_KEY = "sms-test-key"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unique_address(tag: str = "a") -> str:
    """An e-mail address no other test uses."""
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.id"


def unique_phone() -> str:
    """An Indonesian mobile number no other test uses."""
    return "0812" + str(uuid.uuid4().int)[:8]


# -- a real SMTP server ----------------------------------------------------------------------------------
class SmtpCatcher:
    """aiosmtpd on its own thread, as a mail relay would be: keeps what it accepts; refuses on a plan per address."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        #: address -> SMTP replies to give its next RCPT TOs, in order (then accept)
        self.plans: dict[str, list[str]] = {}
        self.refusals: list[str] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, server_hostname="catcher")

    def start(self) -> None:
        """Serve."""
        self._controller.start()

    def stop(self) -> None:
        """Stop serving."""
        self._controller.stop()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        """Refuse as planned for this address, else accept."""
        with self._lock:
            plan = self.plans.get(address.lower())
            if plan:
                reply = plan.pop(0)
                self.refusals.append(f"{address.lower()} {reply}")
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Keep the message."""
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages to an address."""
        with self._lock:
            return [m for m in self.messages if str(m["To"]).lower() == address.lower()]


def body(message: EmailMessage, subtype: str) -> str:
    """The plain or HTML body of a caught message."""
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())


# -- a real HTTP SMS provider -------------------------------------------------------------------------------
@dataclass
class SmsProvider:
    """An HTTP server on its own thread that records each SMS posted to it (and can refuse numbers)."""

    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where the notifier posts."""
        return f"http://127.0.0.1:{self.port}/v1/sms"

    def start(self) -> None:
        """Serve."""
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                payload = json.loads(self.rfile.read(length))
                payload["_authorization"] = self.headers.get("authorization")
                payload["_path"] = self.path
                status = provider.statuses.get(payload.get("to", ""), 202)
                if status < 300:
                    provider.received.append(payload)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status":"queued"}')

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: numbers would otherwise go to stderr

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def to(self, number: str) -> list[dict[str, Any]]:
        """Texts sent to a number."""
        return [m for m in self.received if m.get("to") == number]


# -- a real HTTP server for the streams ---------------------------------------------------------------------
@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """Serve a started app (its lifespan is the fixture's) with uvicorn on a free port; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", log_config=None, access_log=False, timeout_graceful_shutdown=3
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: _true(server.started or task.done()), 30, "uvicorn started")
        if task.done():
            task.result()
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def _true(value: bool) -> bool:
    return value


@dataclass
class Sse:
    """One server-sent event as a client reads it."""

    id: str | None
    event: str
    data: Any


class SseReader:
    """Reads a server-sent-events stream in the background, as a tablet's EventSource would."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self.events: list[Sse] = []
        self.status: int | None = None
        self.connected = asyncio.Event()
        self.closed = asyncio.Event()
        self.error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SseReader:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(_first(self.connected.wait(), self.closed.wait()), 15)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Drop the connection (a tablet losing its network)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self) -> None:
        event: dict[str, Any] = {}
        try:
            async with (
                httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client,
                client.stream("GET", self.url, headers=self.headers) as response,
            ):
                self.status = response.status_code
                if response.status_code != 200:
                    await response.aread()
                    self.events.append(Sse(None, "http_error", response.json()))
                    return
                async for line in response.aiter_lines():
                    if line == "":
                        if "event" in event or "data" in event:
                            raw = event.get("data", "")
                            self.events.append(Sse(event.get("id"), event.get("event", "message"), json.loads(raw)))
                        event = {}
                        continue
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "":
                        if value == "connected":
                            self.connected.set()
                        continue
                    if name == "data":
                        event["data"] = event.get("data", "") + value
                    elif name in ("id", "event"):
                        event[name] = value
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the test looks at it
            self.error = exc
        finally:
            self.closed.set()

    def of(self, kind: str) -> list[Sse]:
        """Events of one kind."""
        return [e for e in self.events if e.event == kind]

    async def wait_for(self, kind: str, count: int = 1, timeout: float = 15) -> list[Sse]:
        """Until ``count`` events of a kind arrived."""

        async def enough() -> bool:
            return len(self.of(kind)) >= count

        await eventually(enough, timeout, f"{count} x {kind} on {self.url}")
        return self.of(kind)


async def _first(*aws: Any) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()


# -- the bus and the delivery log ------------------------------------------------------------------------------
def event_of(data: EventData, *, source: str | None = None, event_id: str | None = None) -> CloudEvent[Any]:
    """An event as another service would publish it."""
    return new_event(data, source=source or owner_of(data.event_type) or "sambang/queue", event_id=event_id)


async def publish(runtime: ServiceRuntime, *events: CloudEvent[Any]) -> None:
    """Put events on the bus (the service's own transport, so the test shares its broker)."""
    await runtime.transport.publish_batch(
        [OutgoingMessage(ev.id, ev.type, dump_event(ev), ev.subject, ev.office) for ev in events]
    )


def new_message(receipt: str, address: str) -> NewMessage:
    """A rendered e-mail about a receipt, to record straight into the delivery log as a handler would."""
    return NewMessage(
        id=str(uuid.uuid4()),
        event_id=str(uuid.uuid4()),
        event_type="queue.application.registered",
        receipt_number=receipt,
        office="BLT",
        template="receipt",
        language="id",
        channel=NotificationChannel.EMAIL,
        address=address,
        content={"subject": "s", "html": "<p>h</p>", "text": "t"},
    )


def registration(
    *,
    email_address: str | None = None,
    phone: str | None = None,
    language: Language = Language.ID,
    name: str = "Siti Aminah",
    office: str = "BLT",
    priority: PriorityCategory = PriorityCategory.NONE,
) -> ApplicationRegistered:
    """queue.application.registered of a fresh receipt."""
    return ApplicationRegistered(
        receipt_number=generate_receipt_number(office, DAY),
        office=office,
        slot=Slot(date=DAY + dt.timedelta(days=1), start=dt.time(8, 0), end=dt.time(12, 0)),
        service_type=ServiceType.NEW,
        passport_type=PassportType.ELECTRONIC,
        priority_category=priority,
        walk_in=False,
        applicant=Applicant(
            full_name=name,
            nik="3505" + str(uuid.uuid4().int)[:12],
            birth_date=dt.date(1990, 5, 17),
            email=email_address,
            phone=phone,
            language=language,
        ),
    )


@dataclass
class Notifier:
    """One running notifier app: its HTTP client (in-process), runtime, clock, helpers, and a probe of what it
    publishes (``notifier.#``)."""

    app: FastAPI
    client: httpx.AsyncClient
    runtime: ServiceRuntime
    settings: RuntimeSettings
    clock: FakeClock
    probe: BusProbe

    def auth(self, *roles: str, office: str = "BLT", sub: str = "officer-1") -> dict[str, str]:
        """Authorization header of a dev token."""
        assert self.settings.auth_hs256_secret is not None
        token = issue_dev_token(self.settings.auth_hs256_secret, sub=sub, office=office, roles=list(roles))
        return {"Authorization": f"Bearer {token}"}

    async def publish(self, *data: EventData, source: str | None = None) -> list[CloudEvent[Any]]:
        """Events about applicants, as the queue (or payment, simkim) would publish them."""
        events = [event_of(d, source=source or owner_of(d.event_type)) for d in data]
        await publish(self.runtime, *events)
        return events

    async def log(self, receipt: str) -> list[dict[str, Any]]:
        """The delivery log of a receipt (GET /v1/notifications), as a supervisor of its office."""
        r = await self.client.get(
            "/v1/notifications", params={"receipt": receipt}, headers=self.auth("supervisor", office=receipt[:3])
        )
        assert r.status_code == 200, r.text
        return list(r.json())

    async def wait_log(
        self, receipt: str, where: Callable[[list[dict[str, Any]]], bool], what: str, timeout: float = 20
    ) -> list[dict[str, Any]]:
        """Until the delivery log of a receipt satisfies ``where``."""
        last: list[dict[str, Any]] = []

        async def holds() -> bool:
            nonlocal last
            last = await self.log(receipt)
            return where(last)

        try:
            await eventually(holds, timeout, what)
        except AssertionError:
            raise AssertionError(f"{what}; the log: {last}") from None
        return last


#: ``start_notifier(backend=..., share=..., notifier=..., clock=..., **runtime overrides) -> Notifier``
NotifierFactory = Callable[..., Awaitable[Notifier]]


def channel_settings(smtp: SmtpCatcher, sms: SmsProvider, **overrides: Any) -> NotifierSettings:
    """The notifier pointed at the test's SMTP server and SMS provider, polling fast."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_tls": "none",
        "sms_url": sms.url,
        "sms_api_key": SMS_KEY,
        "dispatch_poll_seconds": 0.05,
        "stream_poll_seconds": 2.0,
        "retry_base_seconds": 60,
        "smtp_timeout_seconds": 5,
    }
    values.update(overrides)
    return NotifierSettings(**values)
