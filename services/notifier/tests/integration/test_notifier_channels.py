"""Applicants hear about each step by e-mail (a real SMTP server) and SMS (a real HTTP provider), in their
language, once per event, retried while the server says "later" and recorded as failed when it says "no"."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from notifier_support import (
    DAY,
    SMS_KEY,
    NotifierFactory,
    SmsProvider,
    SmtpCatcher,
    body,
    channel_settings,
    event_of,
    new_message,
    publish,
    registration,
    unique_address,
    unique_phone,
)
from sambang_contracts import (
    ApplicationCancelled,
    BillIssued,
    BillItem,
    CancelReason,
    HoldKind,
    HoldRaised,
    Language,
    OfficeUpdated,
    PassportIssued,
    new_event,
)
from sambang_contracts.values import generate_billing_code
from sambang_notifier.handlers import HANDLERS, when_application_registered_send_receipt
from sambang_notifier.stores import notifications, offices
from sambang_runtime.testing import eventually, wait_handled


def bill(receipt: str, *, amount: int = 350_000) -> BillIssued:
    """payment.bill.issued, due two hours after 03:00 UTC (10:00 in Blitar)."""
    return BillIssued(
        receipt_number=receipt,
        billing_code=generate_billing_code(),
        amount=amount,
        items=[BillItem(code="PASPOR_E_10", description="Paspor elektronik 10 tahun", amount=amount)],
        expires_at=dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC),
    )


async def test_mail_reaches_a_real_smtp_server_and_sms_a_real_http_provider(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider
) -> None:
    n = await start_notifier()
    address, phone = unique_address(), unique_phone()
    reg = registration(email_address=address, phone=phone, name="Siti <b>Aminah</b> & Co")
    receipt = reg.receipt_number
    await n.publish(reg)
    await eventually(lambda: _true(bool(smtp.to(address)) and bool(sms.to(phone))), 20, "mail and SMS received")

    (mail,) = smtp.to(address)
    assert receipt in str(mail["Subject"])
    html, text = body(mail, "html"), body(mail, "plain")
    assert "Siti &lt;b&gt;Aminah&lt;/b&gt; &amp; Co" in html, "the HTML body escapes what the applicant typed"
    assert "Siti <b>Aminah</b> & Co" in text, "the plain text is not escaped"
    assert "2 Desember 2026" in text and "08.00-12.00" in text
    (texted,) = sms.to(phone)
    assert receipt in texted["text"] and texted["_authorization"] == f"Bearer {SMS_KEY}"

    log = await n.wait_log(receipt, lambda rows: {r["status"] for r in rows} == {"SENT"}, "both SENT")
    assert {r["channel"] for r in log} == {"EMAIL", "SMS"}
    assert all(r["template"] == "receipt" and r["attempts"] == 1 for r in log)
    shown = {r["recipient"] for r in log}
    assert address not in shown and phone not in shown, "the log masks addresses"
    assert mail["X-Sambang-Notification"] in {r["notification_id"] for r in log}
    sent = await n.probe.wait_for("notifier.notification.sent", 2, subject=receipt)
    assert sorted(e.data.channel for e in sent) == ["EMAIL", "SMS"]


async def test_an_english_applicant_gets_english_and_an_indonesian_one_bahasa_indonesia(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider
) -> None:
    n = await start_notifier()
    english = registration(email_address=unique_address("en"), phone=unique_phone(), language=Language.EN)
    indonesian = registration(email_address=unique_address("id"), phone=unique_phone(), language=Language.ID)
    await n.publish(english, indonesian)
    await n.publish(bill(english.receipt_number), bill(indonesian.receipt_number), source="sambang/payment")

    def mails(reg: Any) -> list[Any]:
        return smtp.to(reg.applicant.email)

    await eventually(lambda: _true(len(mails(english)) == 2 and len(mails(indonesian)) == 2), 20, "two mails each")
    en_receipt, en_bill = sorted(mails(english), key=lambda m: "billing" in str(m["Subject"]))
    id_receipt, id_bill = sorted(mails(indonesian), key=lambda m: "billing" in str(m["Subject"]))
    assert str(en_receipt["Subject"]).startswith("Pre-application receipt")
    assert str(id_receipt["Subject"]).startswith("Tanda terima pra-permohonan")
    assert "Dear Siti Aminah" in body(en_bill, "plain") and "IDR 350,000" in body(en_bill, "plain")
    assert "1 December 2026 at 12:00 WIB" in body(en_bill, "plain"), "the deadline in Blitar's time"
    assert "Yth. Siti Aminah" in body(id_bill, "plain") and "Rp350.000" in body(id_bill, "plain")
    assert "1 Desember 2026 pukul 12.00 WIB" in body(id_bill, "plain")
    await eventually(
        lambda: _true(len(sms.to(english.applicant.phone)) == 2 and len(sms.to(indonesian.applicant.phone)) == 2),
        20,
        "two texts each",
    )
    assert any(t["text"].startswith("Pay IDR") for t in sms.to(english.applicant.phone))
    assert any(t["text"].startswith("Bayar Rp") for t in sms.to(indonesian.applicant.phone))


async def test_a_duplicated_event_sends_one_message(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider
) -> None:
    n = await start_notifier()
    reg = registration(email_address=unique_address(), phone=unique_phone())
    ev = event_of(reg)
    await publish(n.runtime, ev, ev)  # the same event (same id) delivered twice
    # The unique key, not only the inbox: the handler applied twice to the same event records nothing new.
    async with n.runtime.uow() as uow:
        await when_application_registered_send_receipt(ev, uow)
        await uow.commit()
    marker = registration(email_address=unique_address("marker"))
    await n.publish(marker)
    await eventually(lambda: _true(bool(smtp.to(marker.applicant.email or ""))), 20, "the later event's mail")
    await n.wait_log(
        reg.receipt_number, lambda rows: all(r["status"] == "SENT" for r in rows) and len(rows) == 2, "sent"
    )
    assert len(smtp.to(reg.applicant.email or "")) == 1
    assert len(sms.to(reg.applicant.phone or "")) == 1
    assert len(await n.log(reg.receipt_number)) == 2


async def test_a_refusing_smtp_server_gives_a_retry_and_then_a_recorded_failure(
    start_notifier: NotifierFactory, smtp: SmtpCatcher
) -> None:
    n = await start_notifier()
    address = unique_address("refused")
    smtp.plans[address] = ["451 4.3.0 Mailbox busy, try again later", f"550 5.7.1 <{address}> refused: no such user"]
    reg = registration(email_address=address)
    receipt = reg.receipt_number
    await n.publish(reg)

    rows = await n.wait_log(receipt, lambda r: bool(r) and r[0]["status"] == "PENDING" and r[0]["attempts"] == 1, "1st")
    assert "451" in rows[0]["last_error"]
    (first,) = await n.probe.wait_for("notifier.notification.failed", subject=receipt)
    assert first.data.permanent is False and first.data.channel == "EMAIL"

    n.clock.advance(seconds=61)  # the backoff (60 s in these tests) has passed
    rows = await n.wait_log(receipt, lambda r: r[0]["status"] == "FAILED", "recorded as failed")
    assert rows[0]["attempts"] == 2 and "550" in rows[0]["last_error"]
    assert address not in rows[0]["last_error"], "the server echoed the address; it is not kept"
    last = (await n.probe.wait_for("notifier.notification.failed", 2, subject=receipt))[-1]
    assert last.data.permanent is True and last.data.template == "receipt" and address not in last.data.reason
    assert smtp.to(address) == [] and len([r for r in smtp.refusals if r.startswith(address)]) == 2
    n.clock.advance(hours=2)  # and nothing is tried again
    await n.publish(registration(email_address=(marker := unique_address("marker"))))
    await eventually(lambda: _true(bool(smtp.to(marker))), 20, "the marker's mail")
    assert len([r for r in smtp.refusals if r.startswith(address)]) == 2


async def test_events_before_the_registration_are_told_once_it_arrives_and_holds_never(
    start_notifier: NotifierFactory, smtp: SmtpCatcher
) -> None:
    assert not any(key.startswith("simkim.hold") for key in HANDLERS), "holds are never told to the applicant"
    n = await start_notifier()
    reg = registration(email_address=unique_address(), language=Language.EN)
    receipt = reg.receipt_number
    await n.publish(bill(receipt), source="sambang/payment")  # the bill overtook the registration
    await n.publish(
        HoldRaised(receipt_number=receipt, kind=HoldKind.CEKAL, reference="H-1"), source="sambang/simkim-gateway"
    )
    await n.publish(reg)
    await n.publish(
        PassportIssued(
            receipt_number=receipt,
            passport_number="E1234567",
            issued_at=dt.datetime(2026, 12, 2, 3, tzinfo=dt.UTC),
            expires_at=dt.datetime(2036, 12, 2, 3, tzinfo=dt.UTC),
            pickup_from=DAY + dt.timedelta(days=8),
        ),
        source="sambang/simkim-gateway",
    )
    await n.publish(ApplicationCancelled(receipt_number=receipt, reason=CancelReason.BILL_EXPIRED))
    rows = await n.wait_log(receipt, lambda r: len(r) == 4 and all(x["status"] == "SENT" for x in r), "four sent")
    assert [r["template"] for r in rows] == ["receipt", "bill_issued", "passport_ready", "bill_expired"]
    subjects = [str(m["Subject"]) for m in smtp.to(reg.applicant.email or "")]
    assert len(subjects) == 4 and not any("hold" in s.lower() or "cekal" in s.lower() for s in subjects)
    ready = next(m for m in smtp.to(reg.applicant.email or "") if "ready" in str(m["Subject"]))
    assert "9 December 2026" in body(ready, "plain") and "E1234567" not in body(ready, "plain")


async def _true(value: bool) -> bool:
    return value


async def test_a_late_office_update_never_replaces_a_newer_one(start_notifier: NotifierFactory) -> None:
    n = await start_notifier()
    at = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
    newer = OfficeUpdated(office="BLT", name="Kantor Imigrasi Blitar", timezone="Asia/Jakarta")
    older = OfficeUpdated(office="BLT", name="Kantor Imigrasi Lama", timezone="Asia/Makassar")
    first = new_event(newer, source="sambang/queue", time=at)
    late = new_event(older, source="sambang/queue", time=at - dt.timedelta(hours=1))  # made earlier, came later
    await publish(n.runtime, first)
    await wait_handled(n.runtime, first.id)
    await publish(n.runtime, late)
    await wait_handled(n.runtime, late.id)  # handled and committed: whatever it changed is visible
    async with n.runtime.uow() as uow:
        kept = await offices.get(uow, "BLT", default_timezone="Asia/Jayapura")
    assert (kept.name, kept.timezone) == ("Kantor Imigrasi Blitar", "Asia/Jakarta")


async def test_a_send_interrupted_by_a_crash_is_recorded_as_failed_and_never_sent_again(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider
) -> None:
    # The dispatcher only runs when woken (never, here); housekeeping runs often.
    n = await start_notifier(notifier=channel_settings(smtp, sms, dispatch_poll_seconds=3600, housekeeping_seconds=0.1))
    address = unique_address("crash")
    receipt = registration().receipt_number
    async with n.runtime.uow() as uow:
        message = new_message(receipt, address)
        await notifications.record(uow, [message], now=n.clock())
        (taken,) = await notifications.claim_due(uow, now=n.clock(), limit=10)
        await uow.commit()  # claimed by a dispatcher that then died before recording the outcome
    assert taken.id == message.id
    await n.wait_log(receipt, lambda r: r[0]["status"] == "SENDING", "still sending")
    n.clock.advance(minutes=11)  # past the sending lease (10 minutes)
    rows = await n.wait_log(receipt, lambda r: r[0]["status"] == "FAILED", "failed after the lease")
    assert "interrupted" in rows[0]["last_error"] and rows[0]["attempts"] == 1
    (failed,) = await n.probe.wait_for("notifier.notification.failed", subject=receipt)
    assert failed.data.permanent is True
    assert smtp.to(address) == []


async def test_a_dispatcher_claims_no_more_than_it_sends_at_once(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider
) -> None:
    """A notifier killed mid-batch leaves at most ``dispatch_concurrency`` messages SENDING (failed after
    the lease), not a whole batch that was claimed but never tried."""
    import asyncio

    from sambang_notifier.background.dispatcher import dispatch_round
    from sambang_notifier.context import context_from
    from sambang_notifier.domain.delivery import SendResult, Verdict

    n = await start_notifier(
        notifier=channel_settings(smtp, sms, dispatch_poll_seconds=3600, dispatch_batch=50, dispatch_concurrency=4)
    )
    receipt = registration().receipt_number
    async with n.runtime.uow() as uow:
        batch = [new_message(receipt, unique_address(f"batch{i}")) for i in range(20)]
        await notifications.record(uow, batch, now=n.clock())
        await uow.commit()
    trying: list[str] = []
    never = asyncio.Event()

    class HangingChannels:
        """Every send hangs: the process dies here."""

        async def send(self, message: Any, now: Any) -> SendResult:
            trying.append(message.id)
            await never.wait()
            return SendResult(Verdict.SENT, "")

    ctx = context_from(n.runtime.spec.context)
    round_ = asyncio.create_task(dispatch_round(n.runtime, ctx, HangingChannels()))
    # Every claimed message is being sent: the claim is committed and the round takes nothing more.
    await eventually(lambda: _true(len(trying) >= 4), 10, "four sends under way")
    rows = await n.log(receipt)
    round_.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await round_
    sending = [r for r in rows if r["status"] == "SENDING"]
    assert len(sending) == 4, [r["status"] for r in rows]
    assert len([r for r in rows if r["status"] == "PENDING"]) == 16


async def test_a_sent_message_whose_outcome_cannot_be_recorded_yet_is_recorded_once_the_database_is_back(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider, monkeypatch: Any
) -> None:
    """The database restarts between the send and its record: the dispatcher keeps the outcome and records
    it when it can, instead of leaving the message SENDING to be failed after the lease."""
    from sqlalchemy.exc import OperationalError

    n = await start_notifier(notifier=channel_settings(smtp, sms))
    real_settle = notifications.settle
    refused: list[str] = []

    async def database_away_twice(*args: Any, **kwargs: Any) -> Any:
        if len(refused) < 2:
            refused.append("refused")
            raise OperationalError("UPDATE notification", {}, ConnectionRefusedError("the database is restarting"))
        return await real_settle(*args, **kwargs)

    monkeypatch.setattr(notifications, "settle", database_away_twice)
    address = unique_address("restart")
    reg = registration(email_address=address)
    await n.publish(reg)
    rows = await n.wait_log(reg.receipt_number, lambda r: bool(r) and r[0]["status"] == "SENT", "sent and recorded")
    assert len(refused) == 2 and rows[0]["attempts"] == 1
    assert len(smtp.to(address)) == 1
