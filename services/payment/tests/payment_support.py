"""Helpers of the payment service tests: signed bank calls, events fed as the queue service would
publish them. (A module of its own, not conftest: several conftest modules exist.)"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import httpx
from sambang_contracts import (
    Applicant,
    ApplicationCancelled,
    ApplicationRegistered,
    ApprovalAction,
    CancelReason,
    CloudEvent,
    EventData,
    Language,
    OfficeSettings,
    OfficeUpdated,
    PassportType,
    PriorityCategory,
    ServiceType,
    Slot,
    dump_event,
    new_event,
    owner_of,
)
from sambang_contracts.values import generate_receipt_number
from sambang_payment.domain.notifications import signature_header
from sambang_payment.usecases.bills import expire_due_bills
from sambang_runtime.approvals import issue_approval
from sambang_runtime.auth import Principal, issue_dev_token
from sambang_runtime.bus.transport import OutgoingMessage
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import BusProbe, FakeClock, eventually, wait_handled
from sqlalchemy import Table, func, select

ADULT = dt.date(1990, 5, 17)


class PaymentHarness:
    """One running payment app with a client, a probe and helpers."""

    def __init__(self, app: Any, client: httpx.AsyncClient, probe: BusProbe, clock: FakeClock) -> None:
        self.app = app
        self.client = client
        self.probe = probe
        #: The service's clock: the test moves it instead of sleeping or backdating rows.
        self.clock = clock
        self.runtime: ServiceRuntime = app.state.runtime
        self.settings: RuntimeSettings = app.state.settings
        self.published: list[CloudEvent[Any]] = []

    def token(self, *roles: str, office: str = "BLT", sub: str = "officer-1") -> dict[str, str]:
        """Authorization header of a dev token."""
        assert self.settings.auth_hs256_secret is not None
        token = issue_dev_token(self.settings.auth_hs256_secret, sub=sub, office=office, roles=list(roles))
        return {"Authorization": f"Bearer {token}"}

    def approval(
        self,
        action: ApprovalAction | str,
        subject: str,
        *,
        sub: str = "national-2",
        roles: tuple[str, ...] = ("national_admin",),
        office: str = "PST",
    ) -> dict[str, str]:
        """``X-Supervisor-Approval`` header of a second person's approval (by default a second national
        admin's), signed on the wall clock as ``POST /v1/approvals`` signs it."""
        approver = Principal(sub=sub, office=office, roles=frozenset(roles))
        issued = issue_approval(self.settings, approver, action=ApprovalAction(action), subject=subject)
        return {"X-Supervisor-Approval": issued.token}

    def national(self, sub: str = "national-1") -> dict[str, str]:
        """Authorization header of a national admin (office PST)."""
        return self.token("national_admin", office="PST", sub=sub)

    async def publish(self, data: EventData, *, time: dt.datetime | None = None) -> CloudEvent[Any]:
        """Put an event on the bus as the queue service would (``time``: the envelope's, else now)."""
        ev = new_event(data, source=owner_of(data.event_type) or "sambang/queue", time=time)
        await self.runtime.transport.publish_batch(
            [OutgoingMessage(ev.id, ev.type, dump_event(ev), ev.subject, ev.office)]
        )
        self.published.append(ev)
        return ev

    async def handled(self, *events: CloudEvent[Any]) -> None:
        """Wait until the service handled these events (their ids are in its inbox, committed with the effect)."""
        for event in events:
            await wait_handled(self.runtime, event.id)

    async def settled(self) -> None:
        """Wait until every event this harness published was handled, every event the service emitted
        left its outbox, and the probe has consumed them all: then "nothing else happened" is a fact."""
        if self.published:
            await self.handled(*self.published)
        await self.probe.caught_up(self.runtime, timeout=20)

    async def register(
        self,
        *,
        office: str = "BLT",
        birth_date: dt.date = ADULT,
        passport_type: PassportType = PassportType.ELECTRONIC,
        service_type: ServiceType = ServiceType.NEW,
        priority: PriorityCategory = PriorityCategory.NONE,
        walk_in: bool = False,
        validity_years: Literal[5, 10] | None = None,
        express: bool = False,
        receipt: str | None = None,
        wait: bool = True,
    ) -> str:
        """Publish ``queue.application.registered``; by default wait for its bill. Returns the receipt."""
        today = self.clock().date()
        receipt = receipt or generate_receipt_number(office, today)
        await self.publish(
            ApplicationRegistered(
                receipt_number=receipt,
                office=office,
                slot=Slot(date=today + dt.timedelta(days=3), start=dt.time(8), end=dt.time(9)),
                service_type=service_type,
                passport_type=passport_type,
                priority_category=priority,
                walk_in=walk_in,
                validity_years=validity_years,
                express=express,
                applicant=Applicant(
                    full_name="Siti Rahayu", nik="3505015705900001", birth_date=birth_date, language=Language.ID
                ),
            )
        )
        if wait:
            await self.wait_bill(receipt)
        return receipt

    async def cancel(self, receipt: str, reason: CancelReason = CancelReason.APPLICANT) -> None:
        """Publish ``queue.application.cancelled``."""
        await self.publish(ApplicationCancelled(receipt_number=receipt, reason=reason))

    async def office_updated(
        self, office: str = "BLT", *, time: dt.datetime | None = None, **settings: Any
    ) -> CloudEvent[Any]:
        """Publish ``queue.office.updated`` with some settings changed (``time``: the event's)."""
        return await self.publish(
            OfficeUpdated(office=office, name="Blitar", timezone="Asia/Jakarta", settings=OfficeSettings(**settings)),
            time=time,
        )

    async def bill(self, receipt: str) -> Any:
        """The bill row of a receipt, or None."""
        from sambang_payment.models import BILL

        async with self.runtime.engine.connect() as conn:
            return (await conn.execute(select(BILL).where(BILL.c.receipt_number == receipt))).first()

    async def wait_bill(self, receipt: str) -> Any:
        """Wait for a receipt's bill to exist."""

        async def exists() -> bool:
            return await self.bill(receipt) is not None

        await eventually(exists, what=f"bill of {receipt}")
        return await self.bill(receipt)

    async def sweep(self, batch: int = 500) -> int:
        """One round of the expiry sweeper on this app, now by the service clock; returns how many expired."""
        async with self.runtime.uow() as uow:
            expired = await expire_due_bills(uow, batch=batch, now=uow.now())
            await uow.commit()
        return expired

    async def count(self, table: Table) -> int:
        """Rows in a table."""
        async with self.runtime.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())

    async def new_partner(self, partner_id: str = "BANKBRI") -> tuple[str, str]:
        """Register a partner; returns (key_id, secret)."""
        r = await self.client.post(
            "/v1/partners",
            json={"partner_id": partner_id, "name": "Bank Test"},
            headers={**self.national(), **self.approval("partner_create", partner_id)},
        )
        assert r.status_code == 201, r.text
        return r.json()["key_id"], r.json()["secret"]

    def payment_body(
        self, bill: Any, ntpn: str, *, amount: int | None = None, paid_at: dt.datetime | None = None
    ) -> dict[str, Any]:
        """A notification body paying a bill (paid now by the service clock unless said)."""
        return {
            "billing_code": bill.billing_code,
            "amount": bill.amount if amount is None else amount,
            "ntpn": ntpn,
            "bank_reference": f"REF-{ntpn}",
            "channel": "ATM",
            "paid_at": (paid_at or self.clock()).isoformat(),
        }

    async def notify(
        self,
        key_id: str,
        secret: str,
        body: dict[str, Any] | bytes,
        *,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send a signed bank notification."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        t = int(self.clock().timestamp()) if timestamp is None else timestamp
        sent = {
            "X-Partner-Key": key_id,
            "X-Signature": signature_header(secret, t, raw),
            "Content-Type": "application/json",
        }
        sent.update(headers or {})
        return await self.client.post("/v1/payments/notifications", content=raw, headers=sent)


HarnessFactory = Callable[..., Awaitable[PaymentHarness]]
