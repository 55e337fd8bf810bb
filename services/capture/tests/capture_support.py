"""Test harness of the capture service: the app on real PostgreSQL and RabbitMQ (or the embedded
backends), a FakeClock, tokens, events fed as queue and the gateway would publish them, and a
record of every event the service published. (A module of its own, not conftest: the test modules
import from it, and every service has a conftest.)"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import string
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import capture_images as img
import httpx
from sambang_capture.app import create_app
from sambang_capture.models import application
from sambang_capture.settings import CaptureSettings
from sambang_contracts import (
    Applicant,
    ApplicationRegistered,
    ApprovalAction,
    CloudEvent,
    EventData,
    Lane,
    Language,
    OfficeSettings,
    OfficeUpdated,
    PassportIssued,
    PassportType,
    PriorityCategory,
    ServiceType,
    Slot,
    VisitCheckedIn,
    dump_event,
    new_event,
    owner_of,
)
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.approvals import issue_approval
from sambang_runtime.auth import Principal, issue_dev_token
from sambang_runtime.bus.transport import OutgoingMessage
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import (
    BusProbe,
    FakeClock,
    Servers,
    eventually,
    isolated_settings,
    running_app,
    wait_handled,
)
from sqlalchemy import select

#: "Now" of the tests: Tuesday 1 December 2026, 09:00 in Blitar (UTC+7).
T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
ADULT_BIRTH = dt.date(1990, 5, 17)
CHILD_BIRTH = dt.date(2015, 3, 2)  # 11 years old at T0
TODDLER_BIRTH = dt.date(2023, 1, 9)  # 3 years old at T0

_CODES = iter(
    random.sample(
        ["".join(c) for c in itertools.product(string.ascii_uppercase, repeat=3) if "".join(c) != "BLT"], 17575
    )
)

ALL_OK_ADULT = [
    {"kind": "KTP", "status": "OK"},
    {"kind": "KK", "status": "OK"},
    {"kind": "BIRTH_CERTIFICATE", "status": "OK"},
    {"kind": "PERDIM_11", "status": "OK"},
    {"kind": "STATEMENT_LETTER", "status": "OK"},
]


def unique_office() -> str:
    """A fresh office code per test, so tests sharing an app never see each other's data."""
    return next(_CODES)


class CaptureHarness:
    """Drives one capture app over HTTP in-process and watches what it publishes."""

    def __init__(
        self, app: Any, client: httpx.AsyncClient, clock: FakeClock, settings: RuntimeSettings, probe: BusProbe
    ) -> None:
        self.app = app
        self.client = client
        self.clock = clock
        self.settings = settings
        self.runtime = app.state.runtime
        #: Every event the service publishes (a probe queue bound to ``capture.#``).
        self.probe = probe

    # -- bus ------------------------------------------------------------------------------------------
    async def publish(
        self, data: EventData, *, source: str | None = None, office: str | None = None
    ) -> CloudEvent[Any]:
        """Put an event on the bus as another service would; the event (its id proves it handled)."""
        subject = getattr(data, "receipt_number", None)
        ev = new_event(
            data, source=source or owner_of(data.event_type), subject=subject, office=office, time=self.clock()
        )
        await self.runtime.transport.publish_batch(
            [OutgoingMessage(ev.id, ev.type, dump_event(ev), ev.subject, ev.office)]
        )
        return ev

    def events(self, event_type: str, receipt: str | None = None) -> list[CloudEvent[Any]]:
        """Events of a type the service published (about one receipt)."""
        return self.probe.of(event_type, receipt)

    async def event(self, event_type: str, receipt: str, count: int = 1, timeout: float = 15) -> CloudEvent[Any]:
        """Wait until the service published ``count`` events of a type about a receipt; the last one."""
        return (await self.probe.wait_for(event_type, count, subject=receipt, timeout=timeout))[-1]

    async def relayed(self) -> None:
        """Until everything the service committed is published and the probe holds it.

        What a request emitted is in the outbox when its response arrives; once the outbox is empty and
        the probe's barrier is back, it is in ``events``: the proof an absence check needs (no sleeping).
        """
        await self.probe.caught_up(self.runtime)

    # -- identity -------------------------------------------------------------------------------------
    def token(self, *roles: str, office: str, sub: str = "officer-1", ttl: int = 8 * 3600) -> str:
        """A dev token."""
        secret = self.settings.auth_hs256_secret or ""
        return issue_dev_token(secret, sub=sub, office=office, roles=list(roles), ttl_seconds=ttl)

    def auth(self, *roles: str, office: str, sub: str = "officer-1") -> dict[str, str]:
        """Headers of an officer or service token."""
        return {"Authorization": f"Bearer {self.token(*roles, office=office, sub=sub)}"}

    def officer(self, receipt: str, sub: str = "officer-1") -> dict[str, str]:
        """Headers of a sambang officer of the receipt's office."""
        return self.auth("sambang_officer", office=receipt[:3], sub=sub)

    def approval(
        self,
        receipt: str,
        position: int,
        *,
        sub: str = "supervisor-1",
        office: str | None = None,
        action: ApprovalAction = ApprovalAction.FINGERPRINT_EXCEPTION,
        ttl: int = 600,
    ) -> dict[str, str]:
        """An X-Supervisor-Approval header: a supervisor's single-use approval of one finger of one receipt,
        as POST /v1/approvals (queue) issues it (its time is the wall clock's: the verifier reads that)."""
        approver = Principal(sub=sub, office=office or receipt[:3], roles=frozenset({"supervisor"}))
        issued = issue_approval(
            self.settings, approver, action=action, subject=receipt, position=position, ttl_seconds=ttl
        )
        return {"X-Supervisor-Approval": issued.token}

    # -- what other services tell capture -------------------------------------------------------------
    async def office_rules(self, office: str, *, threshold: int = 40, retention_days: int = 30) -> None:
        """queue.office.updated, and wait until capture handled it."""
        event = await self.office_rules_unawaited(office, threshold=threshold, retention_days=retention_days)
        await wait_handled(self.runtime, event.id)

    async def office_rules_unawaited(
        self, office: str, *, threshold: int = 40, retention_days: int = 30
    ) -> CloudEvent[Any]:
        """queue.office.updated, without waiting."""
        return await self.publish(
            OfficeUpdated(
                office=office,
                name=f"Kantor Imigrasi {office}",
                timezone="Asia/Jakarta",
                settings=OfficeSettings(
                    fingerprint_quality_threshold=threshold, biometric_retention_days=retention_days
                ),
            ),
            office=office,
        )

    async def register(
        self,
        office: str | None = None,
        *,
        service_type: ServiceType = ServiceType.NEW,
        birth_date: dt.date = ADULT_BIRTH,
        priority: PriorityCategory = PriorityCategory.NONE,
    ) -> str:
        """queue.application.registered for a fresh receipt; waits until capture knows it."""
        receipt = generate_receipt_number(office or unique_office(), T0.date())
        await self.publish_registration(receipt, service_type=service_type, birth_date=birth_date, priority=priority)
        await self.known(receipt)
        return receipt

    async def publish_registration(
        self,
        receipt: str,
        *,
        service_type: ServiceType = ServiceType.NEW,
        birth_date: dt.date = ADULT_BIRTH,
        priority: PriorityCategory = PriorityCategory.NONE,
    ) -> None:
        """queue.application.registered for a receipt."""
        await self.publish(
            ApplicationRegistered(
                receipt_number=receipt,
                office=receipt[:3],
                slot=Slot(date=T0.date(), start=dt.time(8), end=dt.time(12)),
                service_type=service_type,
                passport_type=PassportType.ELECTRONIC,
                priority_category=priority,
                walk_in=False,
                applicant=Applicant(
                    full_name="Siti Aminah",
                    nik="35" + "".join(random.choices(string.digits, k=14)),
                    birth_date=birth_date,
                    language=Language.ID,
                ),
            ),
            office=receipt[:3],
        )

    async def known(self, receipt: str) -> None:
        """Wait until capture knows a receipt's registration (read from its table: reading the summary
        would put a read of personal data into the audit trail)."""

        async def answers() -> bool:
            rows = await self.rows(application, receipt)
            return bool(rows) and rows[0].service_type is not None and rows[0].birth_date_enc is not None

        await eventually(answers, 15, f"{receipt} known to capture")

    async def check_in(self, receipt: str, *, lane: Lane = Lane.PRIORITY, seat: str | None = "P3") -> None:
        """queue.visit.checked_in."""
        await self.publish(
            VisitCheckedIn(
                receipt_number=receipt,
                visit_id=uuid.uuid4().hex,
                ticket="P001" if lane is Lane.PRIORITY else "A001",
                lane=lane,
                seat=seat if lane is Lane.PRIORITY else None,
                priority_category=PriorityCategory.ELDERLY if lane is Lane.PRIORITY else PriorityCategory.NONE,
                paid=True,
                checked_in_at=self.clock(),
            ),
            office=receipt[:3],
        )

    async def issue(self, receipt: str, issued_at: dt.datetime) -> None:
        """simkim.passport.issued, as the gateway would publish it."""
        await self.publish(
            PassportIssued(
                receipt_number=receipt,
                passport_number="X1234567",
                issued_at=issued_at,
                expires_at=issued_at + dt.timedelta(days=3652),
                pickup_from=(issued_at + dt.timedelta(days=7)).date(),
            ),
            source="sambang/simkim-gateway",
            office=receipt[:3],
        )

    # -- the tablet ---------------------------------------------------------------------------------------
    async def summary(self, receipt: str) -> dict[str, Any]:
        """GET /v1/captures/{receipt} as an officer."""
        r = await self.client.get(f"/v1/captures/{receipt}", headers=self.officer(receipt))
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def put_image(
        self, path: str, data: bytes, content_type: str = "image/jpeg", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """PUT an image body."""
        receipt = path.split("/")[3]
        return await self.client.put(
            path, content=data, headers={"Content-Type": content_type, **(headers or self.officer(receipt))}
        )

    async def photo(self, receipt: str, data: bytes | None = None, content_type: str = "image/jpeg") -> httpx.Response:
        """PUT the photo (the passing portrait by default)."""
        return await self.put_image(f"/v1/captures/{receipt}/photo", data or img.portrait_jpeg(), content_type)

    async def finger(self, receipt: str, position: int, data: bytes | None = None) -> httpx.Response:
        """PUT one fingerprint (a good synthetic print by default)."""
        return await self.put_image(
            f"/v1/captures/{receipt}/fingerprints/{position}",
            data or img.fingerprint_png(position),
            "image/png",
        )

    async def signature(self, receipt: str) -> httpx.Response:
        """PUT the signature image."""
        return await self.put_image(f"/v1/captures/{receipt}/signature", img.signature_png(), "image/png")

    async def documents(self, receipt: str, docs: list[dict[str, Any]] | None = None) -> httpx.Response:
        """POST the document checks (an adult's full checklist, all OK, by default)."""
        return await self.client.post(
            f"/v1/captures/{receipt}/documents", json=docs or ALL_OK_ADULT, headers=self.officer(receipt)
        )

    async def everything_but(
        self, receipt: str, *, skip_fingers: Sequence[int] = (), fingers: bool = True, documents: bool = True
    ) -> None:
        """Documents, photo, fingers (but the skipped ones) and signature, each answered 200."""
        if documents:
            assert (await self.documents(receipt)).status_code == 200
        assert (r := await self.photo(receipt)).status_code == 200, r.text
        if fingers:
            for p in range(1, 11):
                if p not in skip_fingers:
                    assert (r := await self.finger(receipt, p)).status_code == 200, r.text
        assert (r := await self.signature(receipt)).status_code == 200, r.text

    async def complete(self, receipt: str, **body: Any) -> httpx.Response:
        """POST complete."""
        return await self.client.post(
            f"/v1/captures/{receipt}/complete", json={"mode": "SAMBANG", **body}, headers=self.officer(receipt)
        )

    async def rows(self, table: Any, receipt: str) -> list[Any]:
        """Rows of one of the service's tables about a receipt, read straight from its database."""
        async with self.runtime.engine.connect() as conn:
            return list((await conn.execute(select(table).where(table.c.receipt_number == receipt))).all())


def settings_on(servers: Servers, tmp: Path, backend: str, **overrides: Any) -> RuntimeSettings:
    """Settings of an isolated capture service (own database, exchange and queue names)."""
    values: dict[str, Any] = {"relay_poll_seconds": 0.2, "log_level": "WARNING", **overrides}
    return isolated_settings(servers, tmp, "capture", backend, uniq=uuid.uuid4().hex[:8], **values)


#: The suites' capture settings: the retention loop looks every 0.2 s, so that FakeClock jumps show.
SUITE_CAPTURE_SETTINGS = CaptureSettings(purge_interval_seconds=0.2)


@asynccontextmanager
async def running(settings: RuntimeSettings, capture: CaptureSettings | None = None) -> AsyncIterator[CaptureHarness]:
    """A capture app with its lifespan, an HTTP client and a probe (the runtime's ``running_app``)."""
    clock = FakeClock(T0)
    async with running_app(
        create_app,
        settings,
        clock=clock,
        probe_keys=("capture.#",),
        base_url="http://capture.test",
        capture_settings=capture or SUITE_CAPTURE_SETTINGS,
    ) as app:
        yield CaptureHarness(app.app, app.client, clock, settings, app.probe)
