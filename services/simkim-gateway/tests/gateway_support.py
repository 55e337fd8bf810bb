"""Test harness of the SIMKIM gateway: the gateway on real PostgreSQL and RabbitMQ, the SIMKIM simulator
and a stand-in for capture's bundle endpoint, both served over real HTTP on loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import random
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import httpx
import uvicorn
from sambang_contracts import CloudEvent, EventData, dump_event, new_event, owner_of
from sambang_contracts.bundles import BundleItem, CaptureBundle
from sambang_contracts.enums import (
    CaptureItemKind,
    CaptureMode,
    InterviewDecision,
    Language,
    PassportType,
    PaymentChannel,
    PaymentSource,
    PriorityCategory,
    ServiceType,
)
from sambang_contracts.events import (
    Applicant,
    ApplicationRegistered,
    CaptureCompleted,
    CaptureItem,
    InterviewCompleted,
    PaymentConfirmed,
    Slot,
)
from sambang_contracts.values import generate_billing_code, generate_receipt_number
from sambang_runtime.auth import TokenVerifier, issue_dev_token
from sambang_runtime.bus.transport import OutgoingMessage
from sambang_runtime.problems import ProblemError
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import BusProbe, FakeClock, eventually
from sambang_simkim_gateway.context import context_of_runtime
from sambang_simkim_gateway.models import submission, violation_report
from sambang_simkim_gateway.settings import GatewaySettings
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

INTERVIEWER = "interviewer-7"
HEAD_OF_OFFICE = "head-of-office-1"


# --- real HTTP servers on loopback ports ------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: several servers start and stop inside one test process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve(app: Any, *, lifespan: Literal["on", "off"] = "on") -> AsyncIterator[str]:
    """Serve an ASGI app on a free loopback port; yields its base URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _Server(
        uvicorn.Config(app, log_config=None, access_log=False, lifespan=lifespan, timeout_graceful_shutdown=1)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: _started(server, task), 30, "the server started")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 15)
        sock.close()


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()  # raise what stopped it
    return server.started


# --- capture's bundle endpoint, as API.md says it answers ------------------------------------------------


@dataclass
class FakeCapture:
    """``GET /internal/v1/captures/{receipt}/bundle`` for role ``service`` only; bundles set by the test."""

    secret: str
    bundles: dict[str, CaptureBundle] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    refused_tokens: int = 0

    def app(self) -> Starlette:
        """The ASGI app."""
        verifier = TokenVerifier(hs256_secret=self.secret)

        async def bundle(request: Request) -> Response:
            receipt = request.path_params["receipt"]
            self.calls[receipt] = self.calls.get(receipt, 0) + 1
            header = request.headers.get("authorization", "")
            try:
                principal = verifier.verify(header.removeprefix("Bearer ").strip())
            except ProblemError:
                self.refused_tokens += 1
                return JSONResponse({"code": "unauthorized"}, status_code=401)
            if "service" not in principal.roles:
                self.refused_tokens += 1
                return JSONResponse({"code": "forbidden"}, status_code=403)
            found = self.bundles.get(receipt)
            if found is None:
                return JSONResponse({"code": "capture_not_found"}, status_code=404)
            return Response(found.model_dump_json(), media_type="application/json")

        return Starlette(routes=[Route("/internal/v1/captures/{receipt}/bundle", bundle)])


# --- the SIMKIM simulator's admin side -------------------------------------------------------------------


class Simkim:
    """The simulator served over HTTP, driven through its admin endpoints."""

    def __init__(self, base_url: str, client: httpx.AsyncClient, clock: FakeClock) -> None:
        self.base_url = base_url
        self.client = client
        self.clock = clock

    async def faults(self, *, error_rate: float = 0.0, latency_ms: int = 0, down: bool = False) -> None:
        """Set the faults of every SIMKIM call."""
        r = await self.client.put(
            "/simkim/_admin/faults", json={"error_rate": error_rate, "latency_ms": latency_ms, "down": down}
        )
        assert r.status_code == 200, r.text

    async def issuance(self, delay_seconds: float) -> None:
        """Set the issuance delay."""
        r = await self.client.put("/simkim/_admin/issuance", json={"delay_seconds": delay_seconds})
        assert r.status_code == 200, r.text

    async def watchlist(self, *niks: str) -> None:
        """Replace the watch list."""
        r = await self.client.put("/simkim/_admin/watchlist", json={"niks": list(niks)})
        assert r.status_code == 200, r.text

    async def passports(self, **by_nik: str) -> None:
        """Replace the passports in force: nik=passport number (keyword names are prefixed with n)."""
        body = {"passports": [{"nik": k.removeprefix("n"), "passport_number": v} for k, v in by_nik.items()]}
        r = await self.client.put("/simkim/_admin/passports", json=body)
        assert r.status_code == 200, r.text

    async def stats(self) -> dict[str, Any]:
        """What the simulator received."""
        r = await self.client.get("/simkim/_admin/stats")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


# --- events ---------------------------------------------------------------------------------------------------


def random_nik(rng: random.Random) -> str:
    """A fictional 16-digit NIK."""
    return f"3505{rng.randrange(10**12):012d}"


class Readiness(NamedTuple):
    """The four events that make an application ready, in the order their services usually send them."""

    registered: ApplicationRegistered
    paid: PaymentConfirmed
    captured: CaptureCompleted
    interviewed: InterviewCompleted


def readiness_events(
    receipt: str,
    bundle: CaptureBundle,
    *,
    nik: str,
    interview_at: dt.datetime,
    decision: InterviewDecision = InterviewDecision.APPROVED,
    service_type: ServiceType = ServiceType.NEW,
    priority_category: PriorityCategory = PriorityCategory.ELDERLY,
    full_name: str = "Siti Aminah",
    birth_date: dt.date = dt.date(1950, 5, 17),
    mode: CaptureMode = CaptureMode.SAMBANG,
    officer_id: str = INTERVIEWER,
    interview_minutes: int = 5,
) -> Readiness:
    """queue.application.registered, payment.confirmed, capture.completed (the manifest of ``bundle``) and
    capture.interview.completed of one application interviewed at ``interview_at`` (the interview decided
    ``interview_minutes`` later). Stable API: ``bench/gateway.py`` builds its applications with it too."""
    return Readiness(
        registered=ApplicationRegistered(
            receipt_number=receipt,
            office=receipt[:3],
            slot=Slot(date=interview_at.date(), start=dt.time(8), end=dt.time(12)),
            service_type=service_type,
            passport_type=PassportType.ELECTRONIC,
            priority_category=priority_category,
            walk_in=False,
            applicant=Applicant(full_name=full_name, nik=nik, birth_date=birth_date, language=Language.ID),
        ),
        paid=PaymentConfirmed(
            receipt_number=receipt,
            billing_code=generate_billing_code(),
            amount=650_000,
            ntpn="0F1E2D3C4B5A6978",
            bank_reference="BRI-0001",
            channel=PaymentChannel.BANK,
            paid_at=interview_at,
            source=PaymentSource.WEBHOOK,
        ),
        captured=CaptureCompleted(
            receipt_number=receipt,
            mode=mode,
            officer_id=officer_id,
            seat="P3" if mode is CaptureMode.SAMBANG else None,
            items=[
                CaptureItem(kind=i.kind, position=i.position, sha256=i.sha256, bytes=len(i.data), quality=80)
                for i in bundle.items
            ],
            completed_at=interview_at,
        ),
        interviewed=InterviewCompleted(
            receipt_number=receipt,
            decision=decision,
            officer_id=officer_id,
            mode=mode,
            completed_at=interview_at + dt.timedelta(minutes=interview_minutes),
        ),
    )


@dataclass
class Application:
    """One applicant's application and the four events that make it ready."""

    receipt: str
    nik: str
    bundle: CaptureBundle
    interview_at: dt.datetime
    service_type: ServiceType = ServiceType.NEW

    @property
    def office(self) -> str:
        """The office code."""
        return self.receipt[:3]

    def events(self, decision: InterviewDecision = InterviewDecision.APPROVED) -> Readiness:
        """The four readiness events."""
        return readiness_events(
            self.receipt,
            self.bundle,
            nik=self.nik,
            interview_at=self.interview_at,
            decision=decision,
            service_type=self.service_type,
        )

    def registered(self) -> ApplicationRegistered:
        """queue.application.registered."""
        return self.events().registered

    def paid(self) -> PaymentConfirmed:
        """payment.confirmed."""
        return self.events().paid

    def captured(self) -> CaptureCompleted:
        """capture.completed with the manifest of the bundle."""
        return self.events().captured

    def interviewed(self, decision: InterviewDecision = InterviewDecision.APPROVED) -> InterviewCompleted:
        """capture.interview.completed."""
        return self.events(decision).interviewed

    def readiness(self) -> dict[str, EventData]:
        """The four readiness events by name."""
        registered, paid, captured, approved = self.events()
        return {"registered": registered, "paid": paid, "captured": captured, "approved": approved}


def _item(kind: CaptureItemKind, position: int | None, data: bytes, content_type: str) -> BundleItem:
    return BundleItem(
        kind=kind, position=position, sha256=hashlib.sha256(data).hexdigest(), content_type=content_type, data=data
    )


def new_application(
    rng: random.Random,
    *,
    office: str = "BLT",
    interview_at: dt.datetime | None = None,
    service_type: ServiceType = ServiceType.NEW,
) -> Application:
    """A fresh application with a small biometric bundle (photo, two fingers, signature)."""
    at = interview_at or dt.datetime(2026, 12, 7, 2, 30, tzinfo=dt.UTC)
    receipt = generate_receipt_number(office, at.date(), rng)
    items = [
        _item(CaptureItemKind.PHOTO, None, rng.randbytes(3000), "image/jpeg"),
        _item(CaptureItemKind.FINGERPRINT, 1, rng.randbytes(1500), "image/png"),
        _item(CaptureItemKind.FINGERPRINT, 2, rng.randbytes(1500), "image/png"),
        _item(CaptureItemKind.SIGNATURE, None, rng.randbytes(800), "image/png"),
    ]
    return Application(receipt, random_nik(rng), CaptureBundle(receipt_number=receipt, items=items), at, service_type)


# --- the bus ---------------------------------------------------------------------------------------------


async def gateway_probe(settings: RuntimeSettings) -> BusProbe:
    """The runtime's probe on ``simkim.#`` of the test's exchange: every event the gateway publishes."""
    probe = BusProbe(settings, keys=("simkim.#",))
    await probe.start()
    return probe


# --- the gateway ------------------------------------------------------------------------------------------


def fast_gateway_settings(simkim_url: str, capture_url: str, **overrides: Any) -> GatewaySettings:
    """Short timeouts, backoff and breaker periods, so fault tests take seconds."""
    values: dict[str, Any] = {
        "simkim_url": simkim_url,
        "capture_url": capture_url,
        "connect_timeout_seconds": 1.0,
        "request_timeout_seconds": 2.0,
        "max_attempts": 8,
        "backoff_base_seconds": 0.05,
        "backoff_cap_seconds": 0.4,
        "breaker_failure_threshold": 3,
        "breaker_open_seconds": 0.3,
        "breaker_open_cap_seconds": 1.0,
        "issuance_poll_seconds": 0.2,
        "lease_seconds": 10.0,
        "idle_poll_seconds": 0.1,
        "concurrency": 8,
    }
    values.update(overrides)
    return GatewaySettings(**values)


class Gateway:
    """One running gateway app with an in-process client to its API."""

    def __init__(self, app: Any, client: httpx.AsyncClient, lifetime: contextlib.AsyncExitStack) -> None:
        self.app = app
        self.client = client
        self.runtime: ServiceRuntime = app.state.runtime
        self.settings: RuntimeSettings = app.state.settings
        self._lifetime = lifetime

    async def stop(self) -> None:
        """Stop this app (its lifespan ends: worker cancelled, leases given back, engine disposed)."""
        await self._lifetime.aclose()

    def auth(self, *roles: str, office: str = "BLT", sub: str = HEAD_OF_OFFICE) -> dict[str, str]:
        """Authorization header of a dev token."""
        assert self.settings.auth_hs256_secret is not None
        token = issue_dev_token(self.settings.auth_hs256_secret, sub=sub, office=office, roles=list(roles))
        return {"Authorization": f"Bearer {token}"}

    async def publish(self, *events: EventData | CloudEvent[Any], source: str | None = None) -> list[CloudEvent[Any]]:
        """Put events on the bus as their services would (an envelope given again is a redelivery)."""
        wrapped = [
            e if isinstance(e, CloudEvent) else new_event(e, source=source or owner_of(e.event_type) or "sambang/queue")
            for e in events
        ]
        await self.runtime.transport.publish_batch(
            [OutgoingMessage(ev.id, ev.type, dump_event(ev), ev.subject, ev.office) for ev in wrapped]
        )
        return wrapped

    async def worker_rounds(self, count: int = 2, timeout: float = 15) -> None:
        """Wait until this replica's worker completed ``count`` more rounds of claiming due work (the last one
        began after this call): the proof that work not claimed by then was not due."""
        await asyncio.wait_for(context_of_runtime(self.runtime).rounds(count), timeout)

    async def settled(self, probe: BusProbe, timeout: float = 30) -> None:
        """Everything the gateway committed so far is published (its outbox is empty) and has reached
        ``probe`` (a barrier). What a test then finds missing on the probe was never emitted."""
        outbox = self.runtime.spec.tables.outbox

        async def drained() -> bool:
            async with self.runtime.engine.connect() as conn:
                return bool((await conn.execute(select(func.count()).select_from(outbox))).scalar_one() == 0)

        await eventually(drained, timeout, "the gateway's outbox published")
        await probe.barrier()

    async def wait_idle(self, receipt: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until the submission waits for no call to SIMKIM (nothing is due for it, nor leased): from
        then on the worker never touches it again unless an event or a supervisor starts new work."""
        last: dict[str, Any] = {}

        async def idle() -> bool:
            nonlocal last
            last = await self.submission(receipt)
            return last["next_attempt_at"] is None

        await eventually(idle, timeout, f"{receipt} with no work left")
        return last

    async def leased(self, receipt: str) -> bool:
        """Whether a replica holds the submission's lease (is working on it)."""
        async with self.runtime.engine.connect() as conn:
            owner = await conn.scalar(select(submission.c.lease_owner).where(submission.c.receipt_number == receipt))
        return owner is not None

    async def violation_done(self, violation_id: str) -> bool:
        """Whether a violation report has no work left: forwarded (or refused), nothing more due."""
        async with self.runtime.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(violation_report.c.forwarded_at, violation_report.c.next_attempt_at).where(
                        violation_report.c.id == violation_id
                    )
                )
            ).first()
        return row is not None and row.forwarded_at is not None and row.next_attempt_at is None

    async def submission(self, receipt: str) -> dict[str, Any]:
        """GET /v1/submissions/{receipt} as a supervisor of its office."""
        r = await self.client.get(f"/v1/submissions/{receipt}", headers=self.auth("supervisor", office=receipt[:3]))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def wait_state(self, receipt: str, *states: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until the submission is in one of ``states``."""
        last: dict[str, Any] = {}

        async def reached() -> bool:
            nonlocal last
            r = await self.client.get(f"/v1/submissions/{receipt}", headers=self.auth("supervisor", office=receipt[:3]))
            last = r.json() if r.status_code == 200 else {"status": r.status_code}
            return last.get("state") in states

        try:
            await eventually(reached, timeout, f"{receipt} in {states}")
        except AssertionError:
            raise AssertionError(f"{receipt} not in {states}: {last}") from None
        return last
