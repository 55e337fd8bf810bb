"""The notifier's pure rules: which message, in which words, when to try again, what streams show."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
from sambang_contracts import (
    ApplicationCancelled,
    CancelReason,
    HoldDecided,
    HoldDecision,
    HoldKind,
    HoldRaised,
    Lane,
    Language,
    NotificationChannel,
    PriorityCategory,
    Stage,
    TicketCalled,
    VisitCheckedIn,
)
from sambang_notifier.domain import delivery, messages, streams, templating
from sambang_notifier.domain.defaults import DEFAULTS
from sambang_runtime.errors import DomainError

NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
RECEIPT = "BLT2612010421733"


def test_every_shipped_template_exists_in_both_languages_and_renders_with_its_variables() -> None:
    assert set(DEFAULTS) == {(name, lang) for name in messages.TEMPLATE_NAMES for lang in Language}
    for (name, _lang), fields in DEFAULTS.items():
        templating.check(fields, messages.SAMPLE_VARIABLES[name])
        rendered = templating.render(fields, messages.SAMPLE_VARIABLES[name])
        assert "{{" not in rendered.text and "{%" not in rendered.html
        assert len(rendered.sms) <= templating.SMS_MAX


def test_holds_and_internal_events_are_never_told() -> None:
    assert messages.template_for(HoldRaised(receipt_number=RECEIPT, kind=HoldKind.CEKAL, reference="r")) is None
    decided = HoldDecided(receipt_number=RECEIPT, decision=HoldDecision.RELEASE, decided_by="head", reason="ok")
    assert messages.template_for(decided) is None


def test_a_cancellation_for_an_expired_bill_is_the_bill_expired_message() -> None:
    expired = ApplicationCancelled(receipt_number=RECEIPT, reason=CancelReason.BILL_EXPIRED)
    assert messages.template_for(expired) == "bill_expired"
    assert messages.template_for(ApplicationCancelled(receipt_number=RECEIPT, reason=CancelReason.APPLICANT)) == (
        "cancelled"
    )


def test_times_are_told_in_the_offices_zone_and_money_in_each_languages_way() -> None:
    assert messages.format_instant(NOW, "Asia/Jakarta", Language.ID) == "1 Desember 2026 pukul 10.00 WIB"
    assert messages.format_instant(NOW, "Asia/Makassar", Language.EN) == "1 December 2026 at 11:00 WITA"
    assert messages.format_instant(NOW, "Asia/Jayapura", Language.ID) == "1 Desember 2026 pukul 12.00 WIT"
    assert messages.format_rupiah(1_350_000, Language.ID) == "Rp1.350.000"
    assert messages.format_rupiah(1_350_000, Language.EN) == "IDR 1,350,000"
    assert messages.language_of("en") == Language.EN and messages.language_of("fr") == Language.ID


def test_html_is_escaped_and_a_subject_stays_one_line() -> None:
    fields = {"subject": "Hi {{ name }}", "html": "<p>{{ name }}</p>", "text": "{{ name }}", "sms": "{{ name }}"}
    out = templating.render(fields, {"name": "<script>x</script>\r\nBcc: evil@example.id"})
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert "\n" not in out.subject and "\r" not in out.subject
    assert out.text.startswith("<script>")


@pytest.mark.parametrize(
    ("html", "field"),
    [("{% for %}", "html"), ("{{ unknown_variable }}", "html"), ("{{ ''.__class__.__mro__ }}", "html")],
)
def test_a_template_that_does_not_compile_or_render_is_refused(html: str, field: str) -> None:
    fields = {"subject": "s", "html": html, "text": "t", "sms": "m"}
    with pytest.raises(DomainError) as refused:
        templating.check(fields, messages.SAMPLE_VARIABLES["receipt"])
    assert refused.value.code == "template_invalid" and refused.value.extra["field"] == field


def test_transient_failures_back_off_and_give_up_after_the_last_attempt() -> None:
    transient = delivery.SendResult(delivery.Verdict.TRANSIENT, "SMTP 451")
    kw = {"max_attempts": 3, "now": NOW, "base_seconds": 30, "max_seconds": 100}
    first = delivery.decide(transient, attempts=1, **kw)  # type: ignore[arg-type]
    second = delivery.decide(transient, attempts=2, **kw)  # type: ignore[arg-type]
    last = delivery.decide(transient, attempts=3, **kw)  # type: ignore[arg-type]
    assert first.status == delivery.Status.PENDING and first.next_attempt_at == NOW + dt.timedelta(seconds=30)
    assert second.next_attempt_at == NOW + dt.timedelta(seconds=60)
    assert last.status == delivery.Status.FAILED and last.permanent
    permanent = delivery.decide(delivery.SendResult(delivery.Verdict.PERMANENT, "550"), attempts=1, **kw)  # type: ignore[arg-type]
    assert permanent.status == delivery.Status.FAILED and permanent.permanent
    assert delivery.backoff(10, base_seconds=30, max_seconds=100) == dt.timedelta(seconds=100)


def test_smtp_and_http_answers_are_classified() -> None:
    assert delivery.smtp_verdict(250) == delivery.Verdict.SENT
    assert delivery.smtp_verdict(451) == delivery.Verdict.TRANSIENT
    assert delivery.smtp_verdict(550) == delivery.Verdict.PERMANENT
    assert [delivery.http_verdict(s) for s in (202, 429, 503, 400, 404)] == [
        delivery.Verdict.SENT,
        delivery.Verdict.TRANSIENT,
        delivery.Verdict.TRANSIENT,
        delivery.Verdict.PERMANENT,
        delivery.Verdict.PERMANENT,
    ]


def test_reasons_and_the_log_never_carry_an_address_or_a_number() -> None:
    said = delivery.scrub("550 5.1.1 <siti@example.id>: no such user; call 0812 3456 7890")
    assert "siti" not in said and "0812" not in said and "550 5.1.1" in said
    assert delivery.mask(NotificationChannel.EMAIL, "siti@example.id") == "s***@example.id"
    assert delivery.mask(NotificationChannel.SMS, "081234567890") == "0812****890"
    assert delivery.normalise_address(NotificationChannel.SMS, "0812-3456-7890") == "+6281234567890"
    assert delivery.normalise_address(NotificationChannel.EMAIL, " Siti@Example.ID ") == "siti@example.id"


def test_tablets_hear_of_priority_check_ins_only_and_displays_never_of_a_receipt() -> None:
    visit = {
        "receipt_number": RECEIPT,
        "visit_id": "v1",
        "ticket": "P001",
        "priority_category": PriorityCategory.DISABLED,
        "paid": True,
        "checked_in_at": NOW,
    }
    regular = VisitCheckedIn(lane=Lane.REGULAR, **visit)  # type: ignore[arg-type]
    assert streams.priority_check_in(regular) is None
    item = streams.priority_check_in(VisitCheckedIn(lane=Lane.PRIORITY, seat="P4", **visit))  # type: ignore[arg-type]
    assert item is not None and item.stream == streams.OFFICERS and item.payload["seat"] == "P4"
    called = TicketCalled(receipt_number=RECEIPT, ticket="P001", stage=Stage.INTERVIEW, counter="2", called_at=NOW)
    shown = streams.ticket_called(called, "P4")
    assert shown.stream == streams.DISPLAYS and RECEIPT not in str(shown.payload)
    assert set(shown.payload) == {"ticket", "stage", "counter", "seat", "recall"}


def test_a_reconnect_is_replayed_unless_what_it_missed_is_gone() -> None:
    assert streams.parse_last_event_id("17") == 17
    assert streams.parse_last_event_id("x") is None and streams.parse_last_event_id("-1") is None
    assert not streams.replay_needs_reset(10, oldest_kept=5, newest=20)
    assert not streams.replay_needs_reset(4, oldest_kept=5, newest=20)
    assert streams.replay_needs_reset(3, oldest_kept=5, newest=20), "4 was pruned"
    assert streams.replay_needs_reset(25, oldest_kept=5, newest=20), "an id this stream never gave"
    assert streams.replay_needs_reset(10, oldest_kept=None, newest=20), "everything after it was pruned"
    assert not streams.replay_needs_reset(20, oldest_kept=None, newest=20)


def _mac(message: str) -> str:
    return hmac.new(b"k" * 32, message.encode(), hashlib.sha256).hexdigest()


def test_a_stream_ticket_opens_only_its_stream_and_office_until_it_expires() -> None:
    claims = streams.TicketClaims(
        "officer-1",
        "BLT",
        streams.OFFICERS,
        NOW + dt.timedelta(seconds=60),
        id="t-1",
        until=NOW + dt.timedelta(hours=8),
    )
    ticket = streams.sign_ticket(claims, _mac)
    ok = streams.verify_ticket(ticket, stream=streams.OFFICERS, office="blt", now=NOW, mac=_mac)
    assert (ok.sub, ok.id, ok.until) == ("officer-1", "t-1", NOW + dt.timedelta(hours=8))
    for kwargs, code in [
        ({"stream": streams.DISPLAYS, "office": "BLT", "now": NOW}, "stream_ticket_invalid"),
        ({"stream": streams.OFFICERS, "office": "SBY", "now": NOW}, "stream_ticket_invalid"),
        ({"stream": streams.OFFICERS, "office": "BLT", "now": NOW + dt.timedelta(seconds=60)}, "stream_ticket_expired"),
    ]:
        with pytest.raises(DomainError) as refused:
            streams.verify_ticket(ticket, mac=_mac, **kwargs)  # type: ignore[arg-type]
        assert refused.value.code == code
    payload, _, signature = ticket.partition(".")
    with pytest.raises(DomainError):
        streams.verify_ticket(
            payload.upper() + "." + signature, stream=streams.OFFICERS, office="BLT", now=NOW, mac=_mac
        )


def test_a_ticket_expires_with_the_bearer_token_it_was_asked_for_with() -> None:
    claims = streams.TicketClaims(
        "officer-1",
        "BLT",
        streams.OFFICERS,
        NOW + dt.timedelta(seconds=60),
        id="t-2",
        until=NOW + dt.timedelta(seconds=5),
    )
    ticket = streams.sign_ticket(claims, _mac)
    streams.verify_ticket(ticket, stream=streams.OFFICERS, office="BLT", now=NOW, mac=_mac)
    with pytest.raises(DomainError) as refused:
        streams.verify_ticket(
            ticket, stream=streams.OFFICERS, office="BLT", now=NOW + dt.timedelta(seconds=5), mac=_mac
        )
    assert refused.value.code == "stream_ticket_expired"


def test_a_stream_waits_no_longer_than_its_token_lasts_and_ends_with_it() -> None:
    assert streams.stream_wait(5.0, NOW, None) == 5.0
    assert streams.stream_wait(5.0, NOW, NOW + dt.timedelta(seconds=60)) == 5.0
    assert streams.stream_wait(5.0, NOW, NOW + dt.timedelta(seconds=2)) == 2.0
    assert streams.stream_wait(5.0, NOW, NOW) is None
    assert streams.stream_wait(5.0, NOW + dt.timedelta(seconds=1), NOW) is None


def test_the_expiry_of_a_bearer_token_is_read_from_its_claims() -> None:
    import base64
    import json

    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    exp = int((NOW + dt.timedelta(hours=8)).timestamp())
    token = f"{part({'alg': 'HS256'})}.{part({'sub': 'x', 'exp': exp})}.sig"
    assert streams.bearer_expiry(token) == dt.datetime.fromtimestamp(exp, dt.UTC)
    assert streams.bearer_expiry(f"{part({'alg': 'HS256'})}.{part({'sub': 'x'})}.sig") is None
    assert streams.bearer_expiry("not-a-token") is None
    assert streams.bearer_expiry("a.!!!.c") is None
