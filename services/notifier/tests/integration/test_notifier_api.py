"""Templates editable without a deploy, the delivery log's access rules, and the embedded mode's SMTP sink."""

from __future__ import annotations

import datetime as dt

from notifier_support import NotifierFactory, SmtpCatcher, SseReader, registration, served, unique_address
from sambang_contracts import Lane, Language, PriorityCategory, VisitCheckedIn
from sambang_notifier.domain.messages import TEMPLATE_NAMES
from sambang_notifier.settings import NotifierSettings
from sambang_runtime.testing import eventually

AT = dt.datetime(2026, 12, 1, 1, 10, tzinfo=dt.UTC)

EDITED = {
    "subject": "Receipt {{ receipt_number }} - thank you, {{ name }}",
    "html": "<p>Hello {{ name }}, your number is {{ receipt_number }}.</p>",
    "text": "Hello {{ name }}, your number is {{ receipt_number }}.",
    "sms": "Receipt {{ receipt_number }}.",
}


async def test_an_admin_edits_a_template_and_the_next_message_uses_it(
    start_notifier: NotifierFactory, smtp: SmtpCatcher
) -> None:
    n = await start_notifier()
    admin = n.auth("national_admin")
    listed = await n.client.get("/v1/templates", headers=admin)
    assert listed.status_code == 200
    assert {(t["name"], t["language"]) for t in listed.json()} == {
        (t, lang) for t in TEMPLATE_NAMES for lang in ("id", "en")
    }
    assert all(t["updated_by"] is None for t in listed.json())

    for role in ("supervisor", "admin"):  # an office admin does not change national templates
        assert (await n.client.get("/v1/templates", headers=n.auth(role))).status_code == 403
        r = await n.client.put("/v1/templates/receipt/en", json=EDITED, headers=n.auth(role))
        assert r.status_code == 403, role
    unknown = await n.client.put("/v1/templates/holiday_greetings/en", json=EDITED, headers=admin)
    assert unknown.status_code == 404 and unknown.json()["code"] == "template_not_found"
    broken = await n.client.put(
        "/v1/templates/receipt/en", json=EDITED | {"html": "<p>{% if name %}</p>"}, headers=admin
    )
    assert broken.status_code == 422 and broken.json()["code"] == "template_invalid"
    assert broken.json()["field"] == "html"
    misspelt = await n.client.put("/v1/templates/receipt/en", json=EDITED | {"text": "Hi {{ nmae }}"}, headers=admin)
    assert misspelt.status_code == 422 and misspelt.json()["field"] == "text"
    sneaky = await n.client.put(
        "/v1/templates/receipt/en", json=EDITED | {"sms": "{{ name.__class__.__mro__ }}"}, headers=admin
    )
    assert sneaky.status_code == 422, "the sandbox refuses Python internals"

    saved = await n.client.put("/v1/templates/receipt/en", json=EDITED, headers=admin)
    assert saved.status_code == 200 and saved.json()["updated_by"] == "officer-1"
    address = unique_address("edited")
    reg = registration(email_address=address, language=Language.EN, name="Ann <Lee>")
    await n.publish(reg)
    await eventually(lambda: _true(bool(smtp.to(address))), 20, "the mail")
    (mail,) = smtp.to(address)
    assert str(mail["Subject"]) == f"Receipt {reg.receipt_number} - thank you, Ann <Lee>"
    assert "Hello Ann &lt;Lee&gt;" in mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]


async def test_the_delivery_log_is_for_supervisors_and_customer_care_of_the_office(
    start_notifier: NotifierFactory,
) -> None:
    n = await start_notifier()
    reg = registration(email_address=unique_address())
    await n.publish(reg)
    rows = await n.wait_log(reg.receipt_number, lambda r: bool(r), "logged")
    assert rows[0]["recipient"].startswith(reg.applicant.email[:1] + "***@")  # type: ignore[index]
    params = {"receipt": reg.receipt_number}
    ok = await n.client.get("/v1/notifications", params=params, headers=n.auth("customer_care"))
    assert ok.status_code == 200 and len(ok.json()) == 1
    assert (await n.client.get("/v1/notifications", params=params, headers=n.auth("verifier"))).status_code == 403
    other = await n.client.get("/v1/notifications", params=params, headers=n.auth("supervisor", office="SBY"))
    assert other.status_code == 403 and other.json()["code"] == "wrong_office"
    wrong_check_digit = reg.receipt_number[:-1] + str((int(reg.receipt_number[-1]) + 1) % 10)
    typo = await n.client.get("/v1/notifications", params={"receipt": wrong_check_digit}, headers=n.auth("supervisor"))
    assert typo.status_code == 422, "a typo is caught by the check digit"
    bad = await n.client.get("/v1/notifications", params={"receipt": "nonsense"}, headers=n.auth("supervisor"))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_receipt_number"
    assert (await n.client.get("/v1/notifications", params=params)).status_code == 401


async def test_embedded_mode_catches_mail_in_its_smtp_sink_and_streams_without_servers(
    start_notifier: NotifierFactory,
) -> None:
    n = await start_notifier(
        backend="sqlite+memory",
        environment="development",
        notifier=NotifierSettings(smtp_sink=True, dispatch_poll_seconds=0.05, stream_poll_seconds=2.0),
    )
    address = unique_address("embedded")
    reg = registration(email_address=address, language=Language.EN)

    async def caught() -> list[dict[str, object]]:
        r = await n.client.get("/v1/dev/mailbox", params={"to": address})
        assert r.status_code == 200, r.text
        return list(r.json())

    async with served(n.app) as base:
        url = f"{base}/v1/streams/officers?office=BLT"
        async with SseReader(url, n.auth("sambang_officer")) as tablet:
            await n.publish(reg)
            await n.publish(
                VisitCheckedIn(
                    receipt_number=reg.receipt_number,
                    visit_id="v-embedded",
                    ticket="P001",
                    lane=Lane.PRIORITY,
                    seat="P1",
                    priority_category=PriorityCategory.PREGNANT,
                    paid=False,
                    checked_in_at=AT,
                )
            )
            (alert,) = await tablet.wait_for("priority_check_in")
            assert alert.data["priority_category"] == "PREGNANT"

    async def both_caught() -> bool:
        return len(await caught()) == 2

    await eventually(both_caught, 20, "two mails in the sink")
    subjects = sorted(str(m["subject"]) for m in await caught())
    assert subjects == sorted([f"Pre-application receipt {reg.receipt_number}", "Your ticket P001"])
    everything = (await n.client.get("/v1/dev/mailbox")).json()
    assert len(everything) >= 2


async def test_the_mailbox_is_not_there_outside_development(start_notifier: NotifierFactory) -> None:
    n = await start_notifier()  # environment "test", a real SMTP server configured
    r = await n.client.get("/v1/dev/mailbox", params={"to": "someone@example.id"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    # Asking for the sink outside development changes nothing: no sink, no mailbox.
    asked = await start_notifier(backend="sqlite+memory", notifier=NotifierSettings(smtp_sink=True))
    assert asked.settings.environment == "test"
    assert (await asked.client.get("/v1/dev/mailbox")).status_code == 404
    ctx = asked.runtime.spec.context
    assert ctx.mailbox is None and not ctx.sink_enabled  # type: ignore[attr-defined]


async def _true(value: bool) -> bool:
    return value
