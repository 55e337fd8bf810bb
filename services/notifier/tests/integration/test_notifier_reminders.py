"""The reminder the day before, on real servers with a fake clock: notifier apps on PostgreSQL and RabbitMQ,
capture's own app served over HTTP (its checklist endpoint), a real SMTP server and a real SMS provider.

The visit of most tests is on Tuesday 18 August 2026, the day after Independence Day (Monday 17 August, a
public holiday): the working day before is Friday 14 August, and the office's hour is 16:00 WIB (09:00 UTC).
A reminder that did NOT go is proved by waiting for reminder rounds that began after the clock moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from notifier_support import (
    Notifier,
    NotifierFactory,
    SmsProvider,
    SmtpCatcher,
    body,
    channel_settings,
    free_port,
    registration,
    served,
    unique_address,
    unique_phone,
)
from sambang_capture.app import create_app as create_capture_app
from sambang_contracts import (
    ApplicationCancelled,
    ApplicationRegistered,
    ArrivalConfirmed,
    ArrivalLinkIssued,
    BillExpired,
    CancelReason,
    Language,
    OfficeSettings,
    OfficeUpdated,
    ServiceType,
    Slot,
    Stage,
    TicketNearTurn,
    WaitEstimate,
)
from sambang_contracts.values import generate_billing_code
from sambang_notifier.context import context_from
from sambang_notifier.domain.reminders import ChecklistLine, document_line
from sambang_runtime.auth import DEV_HS256_SECRET, issue_dev_token
from sambang_runtime.testing import AppStarter, FakeClock, eventually, wait_handled

VISIT = dt.date(2026, 8, 18)
#: Thursday 13 August 2026, 09:00 WIB: the applications are booked.
BOOKED = dt.datetime(2026, 8, 13, 2, 0, tzinfo=dt.UTC)
#: Friday 14 August 2026, 15:59 and 16:00 WIB.
FRIDAY_1559 = dt.datetime(2026, 8, 14, 8, 59, tzinfo=dt.UTC)
FRIDAY_1600 = dt.datetime(2026, 8, 14, 9, 0, tzinfo=dt.UTC)
#: Monday 17 August 2026 (the holiday), 16:00 WIB: the calendar day before, when nothing more may go.
HOLIDAY_1600 = dt.datetime(2026, 8, 17, 9, 0, tzinfo=dt.UTC)
OFFICE_NAME = "Kantor Imigrasi Kelas II Non TPI Blitar"

ADULT_NEW_ID = [
    "KTP",
    "Kartu Keluarga (KK)",
    "Salah satu: akta kelahiran, buku nikah/akta perkawinan atau ijazah",
    "Formulir Perdim 11",
    "Surat pernyataan",
]
CHILD_NEW_ID = [
    "Kartu Keluarga (KK)",
    "Akta kelahiran",
    "KTP ayah",
    "KTP ibu",
    "Buku nikah/akta perkawinan orang tua",
    "Formulir Perdim 11",
    "Surat pernyataan",
]
LOST_EN = [
    "Identity card (KTP)",
    "Family card (KK)",
    "One of: birth certificate, marriage certificate or diploma",
    "Police report of the loss",
    "Form Perdim 11",
    "Statement letter",
]


# -- capture, served over HTTP ----------------------------------------------------------------------------------
@pytest.fixture
async def capture_app(start_app: AppStarter) -> FastAPI:
    """Capture's own app, started (on the embedded backends: only its HTTP endpoint is used here)."""
    running = await start_app(create_capture_app, "capture", backend="sqlite+memory", settings={"log_level": "WARNING"})
    app: FastAPI = running.app
    return app


@pytest.fixture
async def capture_url(capture_app: FastAPI) -> AsyncIterator[str]:
    """Capture's base URL, served by uvicorn on a free port."""
    async with served(capture_app) as url:
        yield url


@contextlib.asynccontextmanager
async def serve_on(app: FastAPI, port: int) -> AsyncIterator[None]:
    """Serve a started app on a given port (capture coming back where the notifier looks for it)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: _true(server.started or task.done()), 30, "capture served")
        if task.done():
            task.result()
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def capture_checklist(url: str, service_type: str, age: int) -> list[ChecklistLine]:
    """What capture itself answers for a service type and age (as the verifier's tablet asks)."""
    token = issue_dev_token(DEV_HS256_SECRET, sub="verifier-1", office="BLT", roles=["verifier"])
    async with httpx.AsyncClient(base_url=url) as client:
        r = await client.get(
            f"/v1/captures/checklists/{service_type}", params={"age": age}, headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code == 200, r.text
    return [ChecklistLine(line["requirement"], tuple(line["kinds"]), line["holder"]) for line in r.json()]


# -- the notifier and its events ------------------------------------------------------------------------------
async def start(
    start_notifier: NotifierFactory,
    smtp: SmtpCatcher,
    sms: SmsProvider,
    capture: str,
    clock: FakeClock,
    *,
    share: str | None = None,
) -> Notifier:
    """A notifier whose reminder loop runs every 50 ms, asking ``capture`` for checklists."""
    settings = channel_settings(smtp, sms, capture_url=capture, reminder_poll_seconds=0.05)
    return await start_notifier(clock=clock, notifier=settings, share=share)


def office(*, enabled: bool = True, hour: int = 16) -> OfficeUpdated:
    """queue.office.updated of Blitar with its reminder rules."""
    settings = OfficeSettings(reminder_enabled=enabled, reminder_hour=hour)
    return OfficeUpdated(office="BLT", name=OFFICE_NAME, timezone="Asia/Jakarta", settings=settings)


def booked(
    *,
    email: str | None = None,
    phone: str | None = None,
    language: Language = Language.ID,
    service: ServiceType = ServiceType.NEW,
    birth: dt.date = dt.date(1990, 5, 17),
    visit: dt.date = VISIT,
) -> ApplicationRegistered:
    """queue.application.registered of a visit on ``visit``, 08:00-12:00."""
    reg = registration(email_address=email or unique_address(), phone=phone, language=language)
    return reg.model_copy(
        update={
            "slot": Slot(date=visit, start=dt.time(8, 0), end=dt.time(12, 0)),
            "service_type": service,
            "applicant": reg.applicant.model_copy(update={"birth_date": birth}),
        }
    )


def link(receipt: str) -> ArrivalLinkIssued:
    """queue.arrival.link_issued, valid until the end of the visit day."""
    token = f"{int(dt.datetime(2026, 8, 18, 17, tzinfo=dt.UTC).timestamp())}.{'ab' * 16}"
    return ArrivalLinkIssued(
        receipt_number=receipt,
        url=f"https://antrian.example.id/arrival?receipt={receipt}&token={token}",
        token=token,
        expires_at=dt.datetime(2026, 8, 18, 16, 59, tzinfo=dt.UTC),
    )


async def handled(n: Notifier, *data: Any, source: str = "sambang/queue") -> None:
    """Publish events and wait until the notifier has handled (and committed) each."""
    for event in await n.publish(*data, source=source):
        await wait_handled(n.runtime, event.id)


async def rounds(n: Notifier, count: int = 2) -> None:
    """Until the notifier's reminder loop has finished ``count`` more rounds (one began after this call)."""
    await asyncio.wait_for(context_from(n.runtime.spec.context).reminder_rounds_done(count), 30)


async def reminders_logged(n: Notifier, receipt: str) -> list[dict[str, Any]]:
    """The reminder's rows in a receipt's delivery log."""
    return [r for r in await n.log(receipt) if r["template"] == "visit_reminder"]


async def reminder_sent(n: Notifier, receipt: str, channels: int = 1) -> list[dict[str, Any]]:
    """Until the reminder of a receipt is SENT on ``channels`` channels; its rows."""
    rows = await n.wait_log(
        receipt,
        lambda log: [r["status"] for r in log if r["template"] == "visit_reminder"] == ["SENT"] * channels,
        f"the reminder of {receipt} sent on {channels} channel(s)",
    )
    return [r for r in rows if r["template"] == "visit_reminder"]


def reminder_mails(smtp: SmtpCatcher, address: str) -> list[EmailMessage]:
    """Reminder e-mails caught for an address."""
    return [m for m in smtp.to(address) if subject(m).startswith(("Pengingat jadwal", "Reminder of your"))]


def subject(mail: EmailMessage) -> str:
    """A caught message's subject as read (a long one comes folded)."""
    return " ".join(str(mail["Subject"]).split())


def reminder_events(n: Notifier, receipt: str | None = None) -> list[Any]:
    """notifier.notification.sent of reminders (of a receipt) the probe has seen."""
    return [e for e in n.probe.of("notifier.notification.sent", receipt) if e.data.template == "visit_reminder"]


def listed(mail: EmailMessage) -> list[str]:
    """The documents an e-mail lists (its HTML list items)."""
    return [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", body(mail, "html"))]


async def _true(value: bool) -> bool:
    return value


# -- the tests -------------------------------------------------------------------------------------------------
async def test_the_reminder_goes_once_at_the_office_hour_of_the_working_day_before_a_holiday_and_a_weekend(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider, capture_url: str
) -> None:
    clock = FakeClock(BOOKED)
    n = await start(start_notifier, smtp, sms, capture_url, clock)
    address, phone = unique_address(), unique_phone()
    reg = booked(email=address, phone=phone)
    receipt = reg.receipt_number
    await handled(n, office(), reg, link(receipt))

    clock.set(FRIDAY_1559)  # Thursday's 16:00 has passed too: a day too early is not the day before
    await rounds(n)
    assert await reminders_logged(n, receipt) == [], "nothing before 16:00 on the working day before"

    clock.set(FRIDAY_1600)
    rows = await reminder_sent(n, receipt, channels=2)
    assert sorted(r["channel"] for r in rows) == ["EMAIL", "SMS"]
    (mail,) = reminder_mails(smtp, address)
    text = body(mail, "plain")
    assert "Selasa, 18 Agustus 2026" in subject(mail)
    assert "Selasa, 18 Agustus 2026, pukul 08.00-12.00" in text and OFFICE_NAME in text
    assert listed(mail) == ADULT_NEW_ID
    assert link(receipt).url in text, "arrival not confirmed: the link is in the reminder"
    (texted,) = [m for m in sms.to(phone) if m["text"].startswith("Pengingat jadwal paspor")]
    assert "Selasa, 18 Agustus 2026 08.00-12.00" in texted["text"] and link(receipt).url in texted["text"]
    assert "Bawa: " + ", ".join(ADULT_NEW_ID) in texted["text"]
    await eventually(lambda: _true(len(reminder_events(n, receipt)) == 2), 20, "two notifier.notification.sent")
    assert sorted(e.data.channel for e in reminder_events(n, receipt)) == ["EMAIL", "SMS"]

    clock.set(HOLIDAY_1600)  # the calendar day before, and later rounds: nothing more
    await rounds(n, 3)
    assert len(await reminders_logged(n, receipt)) == 2
    assert len(reminder_mails(smtp, address)) == 1
    await n.probe.barrier()
    assert len(reminder_events(n, receipt)) == 2


async def test_the_reminder_lists_exactly_captures_checklist_for_an_adult_a_child_and_a_lost_passport(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider, capture_url: str
) -> None:
    clock = FakeClock(BOOKED)
    n = await start(start_notifier, smtp, sms, capture_url, clock)
    adult = booked(service=ServiceType.NEW, birth=dt.date(1990, 5, 17))
    # 17 on 19 August 2026: a child on the visit day, with the parents' documents.
    child = booked(service=ServiceType.NEW, birth=dt.date(2009, 8, 19))
    lost = booked(service=ServiceType.REPLACEMENT_LOST, birth=dt.date(1985, 1, 2), language=Language.EN)
    await handled(n, office(), adult, child, lost)

    clock.set(FRIDAY_1600)
    for reg, service, age, language, words in (
        (adult, "NEW", 36, Language.ID, ADULT_NEW_ID),
        (child, "NEW", 16, Language.ID, CHILD_NEW_ID),
        (lost, "REPLACEMENT_LOST", 41, Language.EN, LOST_EN),
    ):
        await reminder_sent(n, reg.receipt_number)
        (mail,) = reminder_mails(smtp, reg.applicant.email or "")
        expected = [document_line(line, language) for line in await capture_checklist(capture_url, service, age)]
        assert listed(mail) == expected == words, reg.service_type
    (lost_mail,) = reminder_mails(smtp, lost.applicant.email or "")
    assert subject(lost_mail).startswith("Reminder of your appointment on Tuesday, 18 August 2026")
    assert "Documents to bring:" in body(lost_mail, "plain") and "Dokumen" not in body(lost_mail, "plain")


async def test_the_arrival_link_is_in_the_reminder_only_while_arrival_is_not_confirmed(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider, capture_url: str
) -> None:
    clock = FakeClock(BOOKED)
    n = await start(start_notifier, smtp, sms, capture_url, clock)
    waiting, confirmed, unpaid = booked(), booked(language=Language.EN), booked()
    await handled(n, office(), waiting, confirmed, unpaid, link(waiting.receipt_number))
    # The confirmation overtakes its link: the link must still not be told.
    await handled(
        n,
        ArrivalConfirmed(receipt_number=confirmed.receipt_number, confirmed_at=BOOKED),
        link(confirmed.receipt_number),
    )

    clock.set(FRIDAY_1600)
    for reg in (waiting, confirmed, unpaid):
        await reminder_sent(n, reg.receipt_number)
    (with_link,) = reminder_mails(smtp, waiting.applicant.email or "")
    assert link(waiting.receipt_number).url in body(with_link, "plain")
    assert 'href="' + html.escape(link(waiting.receipt_number).url) + '"' in body(with_link, "html")
    for reg in (confirmed, unpaid):
        (mail,) = reminder_mails(smtp, reg.applicant.email or "")
        assert "arrival?" not in body(mail, "plain") and "arrival?" not in body(mail, "html")
        assert "konfirmasi" not in body(mail, "plain").lower() and "confirm" not in body(mail, "plain").lower()


async def test_no_reminder_for_a_cancelled_or_expired_application_whatever_order_the_events_came_in(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider, capture_url: str
) -> None:
    clock = FakeClock(BOOKED)
    n = await start(start_notifier, smtp, sms, capture_url, clock)
    kept, cancelled, expired, cancelled_first = booked(), booked(), booked(), booked()
    await handled(n, office(), kept, cancelled, expired)
    await handled(n, ApplicationCancelled(receipt_number=cancelled.receipt_number, reason=CancelReason.APPLICANT))
    await handled(
        n,
        BillExpired(receipt_number=expired.receipt_number, billing_code=generate_billing_code(), expired_at=BOOKED),
        source="sambang/payment",
    )
    # A cancellation that overtook its registration.
    await handled(n, ApplicationCancelled(receipt_number=cancelled_first.receipt_number, reason=CancelReason.OFFICER))
    await handled(n, cancelled_first)

    clock.set(FRIDAY_1600)
    await reminder_sent(n, kept.receipt_number)  # the rounds ran, and reminded the one that is still booked
    await rounds(n)
    for reg in (cancelled, expired, cancelled_first):
        assert await reminders_logged(n, reg.receipt_number) == [], reg.receipt_number
        assert reminder_mails(smtp, reg.applicant.email or "") == []


async def test_no_reminder_while_the_office_has_switched_it_off_and_at_its_own_hour_once_on(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider, capture_url: str
) -> None:
    clock = FakeClock(BOOKED)
    n = await start(start_notifier, smtp, sms, capture_url, clock)
    reg = booked()
    receipt = reg.receipt_number
    await handled(n, office(enabled=False), reg)

    clock.set(FRIDAY_1600 + dt.timedelta(hours=1))
    await rounds(n, 3)
    assert await reminders_logged(n, receipt) == [], "switched off: no reminder"

    await handled(n, office(enabled=True, hour=18))  # on again, at 18:00 WIB
    await rounds(n)
    assert await reminders_logged(n, receipt) == [], "17:00 WIB is before the office's 18:00"
    clock.set(FRIDAY_1600 + dt.timedelta(hours=2))
    await reminder_sent(n, receipt)


async def test_two_replicas_and_many_rounds_send_each_reminder_once(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider, capture_url: str
) -> None:
    clock = FakeClock(BOOKED)
    first = await start(start_notifier, smtp, sms, capture_url, clock, share="replicas")
    second = await start(start_notifier, smtp, sms, capture_url, clock, share="replicas")
    regs = [booked(phone=unique_phone()) for _ in range(12)]
    await handled(first, office(), *regs)

    clock.set(FRIDAY_1600)
    for reg in regs:
        await reminder_sent(first, reg.receipt_number, channels=2)
    await rounds(first, 3)
    await rounds(second, 3)
    for reg in regs:
        assert len(await reminders_logged(first, reg.receipt_number)) == 2
        assert len(reminder_mails(smtp, reg.applicant.email or "")) == 1
        texts = [m for m in sms.to(reg.applicant.phone or "") if m["text"].startswith("Pengingat jadwal paspor")]
        assert len(texts) == 1
    await first.probe.barrier()
    assert len(reminder_events(first)) == 2 * len(regs)


async def test_while_capture_gives_no_checklist_no_reminder_goes_and_it_goes_once_capture_answers(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider, capture_app: FastAPI
) -> None:
    clock = FakeClock(BOOKED)
    port = free_port()
    n = await start(start_notifier, smtp, sms, f"http://127.0.0.1:{port}", clock)
    reg = booked()
    await handled(n, office(), reg)

    clock.set(FRIDAY_1600)
    await rounds(n, 3)
    assert await reminders_logged(n, reg.receipt_number) == [], "no reminder without its checklist"

    async with serve_on(capture_app, port):
        await reminder_sent(n, reg.receipt_number)
    (mail,) = reminder_mails(smtp, reg.applicant.email or "")
    assert listed(mail) == ADULT_NEW_ID


async def test_the_near_turn_message_words_the_estimated_wait_and_nothing_without_one(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider
) -> None:
    n = await start_notifier()
    ranged, short, none = (
        registration(email_address=unique_address(), phone=unique_phone()),
        registration(email_address=unique_address(), phone=unique_phone(), language=Language.EN),
        registration(email_address=unique_address(), phone=unique_phone(), language=Language.EN),
    )
    await handled(n, ranged, short, none)
    estimates = {
        ranged.receipt_number: WaitEstimate(low_minutes=20, high_minutes=30),
        short.receipt_number: WaitEstimate(low_minutes=0, high_minutes=5),  # the queue's "within five minutes"
        none.receipt_number: None,
    }
    await n.publish(
        *(
            TicketNearTurn(receipt_number=r, ticket="A017", stage=Stage.VERIFICATION, position=3, estimated_wait=w)
            for r, w in estimates.items()
        )
    )

    async def near_turn_texts(reg: ApplicationRegistered) -> tuple[str, str]:
        mails: list[EmailMessage] = []
        texts: list[dict[str, Any]] = []

        async def both() -> bool:
            nonlocal mails, texts
            mails = [m for m in smtp.to(reg.applicant.email or "") if "A017" in str(m["Subject"])]
            texts = [m for m in sms.to(reg.applicant.phone or "") if "A017" in m["text"]]
            return bool(mails and texts)

        await eventually(both, 20, "the near-turn e-mail and SMS")
        return body(mails[0], "plain"), texts[0]["text"]

    mail, text = await near_turn_texts(ranged)
    assert "Perkiraan waktu tunggu: sekitar 20\u201330 menit." in mail
    assert "(3 lagi, sekitar 20\u201330 menit)" in text
    mail, text = await near_turn_texts(short)
    assert "Estimated wait: less than 5 minutes." in mail and "(3 to go, less than 5 minutes)" in text
    mail, text = await near_turn_texts(none)
    assert "Estimated wait" not in mail and "minute" not in mail and "(3 to go)" in text
