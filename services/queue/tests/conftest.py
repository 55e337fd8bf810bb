"""Test harness of the queue service: the app on real PostgreSQL and RabbitMQ (or the embedded
backends), a settable clock, tokens, and a record of every event the service published (the runtime's
BusProbe)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import string
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sambang_contracts import (
    CloudEvent,
    EventData,
    PaymentChannel,
    PaymentConfirmed,
    PaymentSource,
    dump_event,
    new_event,
    owner_of,
)
from sambang_contracts.values import generate_billing_code
from sambang_queue.app import create_app
from sambang_queue.settings import QueueSettings
from sambang_runtime.auth import issue_dev_token
from sambang_runtime.bus.transport import OutgoingMessage
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import (
    BusProbe,
    FakeClock,
    Servers,
    eventually,
    isolated_settings,
    running_app,
)

JAKARTA = ZoneInfo("Asia/Jakarta")
#: "Today" of most tests: Tuesday 1 December 2026, 07:00 in Blitar.
DAY0 = dt.date(2026, 12, 1)
DEFAULT_SESSIONS = (("08:00", "12:00", 90), ("13:00", "15:00", 50))


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A wall-clock time of the offices of the tests (Asia/Jakarta) as an aware instant."""
    return dt.datetime.combine(day, dt.time(hour, minute), JAKARTA)


_CODES = iter(
    random.sample(
        ["".join(c) for c in itertools.product(string.ascii_uppercase, repeat=3) if "".join(c) != "BLT"], 17575
    )
)


def unique_office_code() -> str:
    """A fresh office code per test, so tests sharing an app never see each other's data."""
    return next(_CODES)


def random_nik() -> str:
    """A 16-digit NIK nobody else in the run has."""
    return "35" + "".join(random.choices(string.digits, k=14))


class QueueHarness:
    """Drives one queue app over HTTP in-process; `probe` records what it publishes."""

    def __init__(
        self, app: Any, client: httpx.AsyncClient, clock: FakeClock, settings: RuntimeSettings, probe: BusProbe
    ) -> None:
        self.app = app
        self.client = client
        self.clock = clock
        self.settings = settings
        self.runtime = app.state.runtime
        self.probe = probe

    def set_local(self, day: dt.date, hour: int, minute: int = 0) -> None:
        """Set the app's clock to a time in the office's zone (Asia/Jakarta)."""
        self.clock.set(local(day, hour, minute))

    # -- identity ---------------------------------------------------------------------------------
    def auth(self, *roles: str, office: str, sub: str = "officer-1") -> dict[str, str]:
        """Headers of an officer, kiosk or admin token."""
        token = issue_dev_token(self.settings.auth_hs256_secret or "", sub=sub, office=office, roles=list(roles))
        return {"Authorization": f"Bearer {token}"}

    # -- setting up ----------------------------------------------------------------------------------
    async def office(self, code: str | None = None, **settings: Any) -> str:
        """Create an office (Asia/Jakarta) through the API; returns its code."""
        code = code or unique_office_code()
        r = await self.client.put(
            f"/v1/offices/{code}/settings",
            json={"name": f"Kantor Imigrasi {code}", "timezone": "Asia/Jakarta", "settings": settings},
            headers=self.auth("admin", office=code),
        )
        assert r.status_code == 200, r.text
        return code

    async def slots(
        self,
        code: str,
        day: dt.date,
        sessions: Sequence[tuple[str, str, int]] = DEFAULT_SESSIONS,
        *,
        until: dt.date | None = None,
    ) -> list[dict[str, Any]]:
        """Plan sessions on a day (or a range, every weekday) and return the slots of those days."""
        r = await self.client.put(
            f"/v1/offices/{code}/slots",
            json={
                "date_from": day.isoformat(),
                "date_to": (until or day).isoformat(),
                "weekdays": [1, 2, 3, 4, 5, 6, 7],
                "sessions": [{"start": s, "end": e, "quota": q} for s, e, q in sessions],
            },
            headers=self.auth("supervisor", office=code),
        )
        assert r.status_code == 200, r.text
        listed = await self.client.get(
            f"/v1/offices/{code}/slots", params={"from": day.isoformat(), "to": (until or day).isoformat()}
        )
        assert listed.status_code == 200, listed.text
        return list(listed.json())

    async def office_with_slot(
        self, day: dt.date = DAY0 + dt.timedelta(days=1), quota: int = 90, **settings: Any
    ) -> tuple[str, dict[str, Any]]:
        """A new office with one morning slot (08:00-12:00) on `day`."""
        code = await self.office(**settings)
        slots = await self.slots(code, day, [("08:00", "12:00", quota)])
        return code, slots[0]

    @staticmethod
    def applicant(**overrides: Any) -> dict[str, Any]:
        """An applicant body with a fresh NIK."""
        body: dict[str, Any] = {
            "full_name": "Siti Aminah",
            "nik": random_nik(),
            "birth_date": "1990-05-17",
            "email": "siti@example.id",
            "phone": "081234567890",
            "language": "id",
        }
        body.update(overrides)
        return body

    def booking(self, code: str, slot_id: int, **overrides: Any) -> dict[str, Any]:
        """A booking body."""
        applicant = overrides.pop("applicant", None) or self.applicant()
        body: dict[str, Any] = {
            "office": code,
            "slot_id": slot_id,
            "service_type": "NEW",
            "passport_type": "ELECTRONIC",
            "priority_category": "NONE",
            "applicant": applicant,
        }
        body.update(overrides)
        return body

    async def book(self, code: str, slot_id: int, **overrides: Any) -> httpx.Response:
        """POST /v1/applications."""
        headers = overrides.pop("headers", None)
        return await self.client.post(
            "/v1/applications", json=self.booking(code, slot_id, **overrides), headers=headers
        )

    async def booked(self, code: str, slot_id: int, **overrides: Any) -> dict[str, Any]:
        """Book and return the created application, its birth date and NIK included."""
        applicant = overrides.pop("applicant", None) or self.applicant()
        r = await self.book(code, slot_id, applicant=applicant, **overrides)
        assert r.status_code == 201, r.text
        return {**r.json(), "birth_date": applicant["birth_date"], "nik": applicant["nik"]}

    async def status(self, receipt: str, birth_date: str | None = None, **kw: Any) -> httpx.Response:
        """The applicant's look-up (POST /v1/applications/{receipt}/lookup {birth_date}) when a birth date
        is given, else the officer's GET /v1/applications/{receipt} (birth dates never in URLs)."""
        if birth_date is not None:
            return await self.client.post(f"/v1/applications/{receipt}/lookup", json={"birth_date": birth_date}, **kw)
        return await self.client.get(f"/v1/applications/{receipt}", **kw)

    async def pay(self, receipt: str, *, wait: bool = True, amount: int = 350_000) -> None:
        """The bank confirmed the payment (payment.confirmed), as the payment service would say."""
        await self.publish(
            PaymentConfirmed(
                receipt_number=receipt,
                billing_code=generate_billing_code(),
                amount=amount,
                ntpn="0F1E2D3C4B5A6978",
                bank_reference="BRI-0001",
                channel=PaymentChannel.BANK,
                paid_at=self.clock(),
                source=PaymentSource.WEBHOOK,
            )
        )
        if wait:
            headers = self.auth("supervisor", office=receipt[:3])

            async def paid() -> bool:
                return bool((await self.status(receipt, headers=headers)).json().get("paid"))

            await eventually(paid, 15, f"{receipt} paid")

    async def check_in(self, code: str, app: dict[str, Any], **body: Any) -> httpx.Response:
        """Check in at the office's kiosk with the applicant's birth date."""
        payload = {"receipt_number": app["receipt_number"], "birth_date": app["birth_date"], **body}
        return await self.client.post(
            f"/v1/offices/{code}/check-ins", json=payload, headers=self.auth("kiosk", office=code, sub="kiosk-1")
        )

    async def arrived(self, code: str, slot_id: int, *, pay: bool = True, **overrides: Any) -> dict[str, Any]:
        """Book, pay, move the clock into the slot's morning and check in; returns application + visit."""
        app = await self.booked(code, slot_id, **overrides)
        if pay:
            await self.pay(app["receipt_number"])
        self.set_local(dt.date.fromisoformat(app["slot"]["date"]), 8, 10)
        r = await self.check_in(code, app)
        assert r.status_code == 201, r.text
        return {**app, "visit": r.json()}

    # -- events ------------------------------------------------------------------------------------
    async def publish(self, data: EventData, *, source: str | None = None) -> CloudEvent[Any]:
        """Put an event on the bus as another service would."""
        ev = new_event(data, source=source or owner_of(data.event_type) or "sambang/payment")
        await self.runtime.transport.publish_batch(
            [OutgoingMessage(ev.id, ev.type, dump_event(ev), ev.subject, ev.office)]
        )
        return ev

    def events(self, event_type: str, receipt: str | None = None) -> list[CloudEvent[Any]]:
        """Events of a type this service published (optionally about one receipt)."""
        return self.probe.of(event_type, receipt)

    async def event(
        self,
        event_type: str,
        receipt: str | None = None,
        where: Callable[[CloudEvent[Any]], bool] = lambda e: True,
        timeout: float = 15,
    ) -> CloudEvent[Any]:
        """Wait until the service published an event of this type (about a receipt, matching `where`)."""

        def found() -> list[CloudEvent[Any]]:
            return [e for e in self.events(event_type, receipt) if where(e)]

        await eventually(lambda: _true(bool(found())), timeout, f"{event_type} published")
        return found()[-1]

    async def wait_published(self) -> None:
        """Once a route answered (its change committed): wait until the probe has recorded everything
        the service committed so far, the proof an absence check needs before it looks (no sleeping)."""
        await self.probe.caught_up(self.runtime)

    async def assert_absent_after(self, trigger: CloudEvent[Any], event_type: str, receipt: str) -> None:
        """The service handled `trigger` and published no `event_type` about `receipt` for it.

        The inbox proves the handling committed and the drained outbox that what it emitted is on the
        bus too, not still waiting for the relay (BusProbe.assert_absent's `handled`).
        """
        await self.probe.assert_absent(event_type, subject=receipt, handled=(self.runtime, trigger.id))

    async def wait_status(self, receipt: str, status: str, *, timeout: float = 15) -> dict[str, Any]:
        """Wait until an officer sees the application in a status (events are asynchronous)."""
        code = receipt[:3]
        headers = self.auth("supervisor", office=code)
        last: dict[str, Any] = {}

        async def reached() -> bool:
            nonlocal last
            r = await self.status(receipt, headers=headers)
            last = r.json()
            return r.status_code == 200 and last.get("status") == status

        await eventually(reached, timeout, f"{receipt} {status} (last {last.get('status')})")
        return last


async def _true(value: bool) -> bool:
    return value


def settings_on(servers: Servers, tmp: Path, backend: str, **overrides: Any) -> RuntimeSettings:
    """Settings of an isolated queue service (own database, exchange and queue names)."""
    uniq = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "relay_poll_seconds": 0.2,
        "log_level": "WARNING",
        "public_base_url": "https://antrian.example.id",
        "database_pool_size": 10,
        **overrides,
    }
    return isolated_settings(servers, tmp, "queue", backend, uniq=uniq, **values)


async def _harness(settings: RuntimeSettings, queue_settings: QueueSettings) -> AsyncGenerator[QueueHarness]:
    clock = FakeClock(local(DAY0, 7))
    async with running_app(
        create_app, settings, clock=clock, base_url="http://queue.test", queue_settings=queue_settings
    ) as running:
        yield QueueHarness(running.app, running.client, clock, settings, running.probe)


# Generous public and device limits for the suites (one kiosk token checks everybody in); the rate-limit
# tests build their own app. The receipt's lock after 5 wrong birth dates stays as shipped.
SUITE_QUEUE_SETTINGS = QueueSettings(
    lookup_burst=100_000,
    lookup_per_minute=6_000_000,
    device_burst=100_000,
    device_per_minute=6_000_000,
    office_cache_seconds=0,
)


@pytest.fixture(scope="module")
async def queue_pg(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[QueueHarness]:
    """One queue app per test module on PostgreSQL + RabbitMQ (tests isolate by office code)."""
    settings = settings_on(servers, tmp_path_factory.mktemp("queue"), "postgres+amqp")
    async for h in _harness(settings, SUITE_QUEUE_SETTINGS):
        yield h


@pytest.fixture(scope="module")
async def queue_sqlite(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[QueueHarness]:
    """One queue app per test module on SQLite + the in-memory bus (embedded mode)."""
    settings = settings_on(servers, tmp_path_factory.mktemp("queue"), "sqlite+memory")
    async for h in _harness(settings, SUITE_QUEUE_SETTINGS):
        yield h


@pytest.fixture
def queue(queue_pg: QueueHarness) -> QueueHarness:
    """The PostgreSQL + RabbitMQ app with its clock back at DAY0 07:00."""
    queue_pg.set_local(DAY0, 7)
    return queue_pg


@pytest.fixture
def queue_embedded(queue_sqlite: QueueHarness) -> QueueHarness:
    """The embedded app with its clock back at DAY0 07:00."""
    queue_sqlite.set_local(DAY0, 7)
    return queue_sqlite


@pytest.fixture
def queue_make_harness(servers: Servers, tmp_path: Path) -> Callable[..., Any]:
    """Build an extra app with its own settings (as an async context manager)."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def make(
        backend: str = "postgres+amqp", queue_settings: QueueSettings | None = None, **overrides: Any
    ) -> Any:
        settings = settings_on(servers, tmp_path, backend, **overrides)
        gen = _harness(settings, queue_settings or SUITE_QUEUE_SETTINGS)
        h = await gen.__anext__()
        try:
            yield h
        finally:
            await gen.aclose()

    return make
