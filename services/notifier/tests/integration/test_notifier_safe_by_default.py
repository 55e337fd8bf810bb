"""Safe by default (#16) in the notifier: templates are the national admin's, every edit audited, and a
template with a control character is a 422 (it was a 500: PostgreSQL refuses NUL); the mailbox and the
SMTP sink exist only in development; stream tickets open a stream once, and a stream ends when the token
it was opened with does; reads of the delivery log are audited; production needs a fit capture token;
`make rotate-data-key` re-encrypts every encrypted column."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
from notifier_support import (
    Notifier,
    NotifierFactory,
    SmsProvider,
    SmtpCatcher,
    SseReader,
    channel_settings,
    registration,
    served,
    unique_address,
    unique_phone,
)
from pydantic import SecretStr
from sambang_contracts import Lane, Language, PriorityCategory, VisitCheckedIn
from sambang_notifier.api.templates import template_hash
from sambang_notifier.app import DESCRIPTOR, create_app, spec
from sambang_notifier.background.rotation import rotate_data_key
from sambang_notifier.domain.defaults import DEFAULTS
from sambang_notifier.models import appointment, audit_entry, deferred_event, notification, recipient
from sambang_notifier.settings import NotifierSettings
from sambang_runtime.auth import DEV_HS256_SECRET, issue_dev_token
from sambang_runtime.crypto import DEV_BLIND_INDEX_KEY, DecryptionError, PiiCipher, cipher_from_settings, generate_key
from sambang_runtime.secrets import StartRefused
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import FakeClock, wait_handled
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

EDITED = {
    "subject": "Receipt {{ receipt_number }}",
    "html": "<p>Hello {{ name }}, your number is {{ receipt_number }}.</p>",
    "text": "Hello {{ name }}, your number is {{ receipt_number }}.",
    "sms": "Receipt {{ receipt_number }}.",
}


async def _audit(n: Notifier) -> list[dict[str, Any]]:
    async with n.runtime.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(select(audit_entry).order_by(audit_entry.c.id))).mappings()]


# -- templates ------------------------------------------------------------------------------------------------


async def test_a_template_with_a_nul_or_another_control_character_is_a_422_not_a_500(
    start_notifier: NotifierFactory,
) -> None:
    n = await start_notifier()
    admin = n.auth("national_admin")
    for field in ("subject", "html", "text", "sms"):
        for bad in ("\x00", "\x1b[2J", "\x7f", "\x85"):
            body = EDITED | {field: f"Hi{bad} {EDITED[field]}"}
            r = await n.client.put("/v1/templates/receipt/en", json=body, headers=admin)
            assert r.status_code == 422, (field, repr(bad), r.status_code, r.text)
            assert field in r.text
    assert (await n.client.put("/v1/templates/rec%00eipt/en", json=EDITED, headers=admin)).status_code == 422
    listed = await n.client.get("/v1/templates", headers=admin)
    assert all(t["updated_by"] is None for t in listed.json()), "nothing was stored"
    assert await _audit(n) == []
    # Tabs and line breaks are text.
    ok = await n.client.put(
        "/v1/templates/receipt/en", json=EDITED | {"text": "Hello\n\t{{ name }}\r\n"}, headers=admin
    )
    assert ok.status_code == 200, ok.text


async def test_templates_are_the_national_admins_and_every_edit_is_audited_with_old_and_new_hashes(
    start_notifier: NotifierFactory,
) -> None:
    n = await start_notifier()
    for role in ("admin", "supervisor", "customer_care", "service"):
        assert (await n.client.get("/v1/templates", headers=n.auth(role))).status_code == 403, role
        assert (await n.client.put("/v1/templates/receipt/en", json=EDITED, headers=n.auth(role))).status_code == 403
    assert (await n.client.put("/v1/templates/receipt/en", json=EDITED)).status_code == 401
    assert await _audit(n) == [], "refused edits change nothing and record nothing"

    first = await n.client.put(
        "/v1/templates/receipt/en", json=EDITED, headers=n.auth("national_admin", sub="natadm-1", office="PST")
    )
    assert first.status_code == 200, first.text
    second_text = EDITED | {"sms": "Tanda terima {{ receipt_number }}."}
    second = await n.client.put(
        "/v1/templates/receipt/en", json=second_text, headers=n.auth("national_admin", sub="natadm-2", office="PST")
    )
    assert second.status_code == 200
    unknown = await n.client.put("/v1/templates/nope/en", json=EDITED, headers=n.auth("national_admin"))
    assert unknown.status_code == 404

    shipped = template_hash({k: DEFAULTS[("receipt", Language.EN)][k] for k in ("subject", "html", "text", "sms")})
    one, two = await _audit(n)
    assert (one["action"], one["officer"], one["office"], one["roles"]) == (
        "TEMPLATE_EDITED",
        "natadm-1",
        "PST",
        "national_admin",
    )
    assert (one["template"], one["language"], one["receipt_number"]) == ("receipt", "en", None)
    assert one["detail"]["old_sha256"] == shipped and one["detail"]["old_updated_by"] is None
    assert one["detail"]["new_sha256"] == template_hash(EDITED)
    assert two["officer"] == "natadm-2" and two["detail"]["old_sha256"] == template_hash(EDITED)
    assert two["detail"]["new_sha256"] == template_hash(second_text) and two["detail"]["old_updated_by"] == "natadm-1"
    assert one["at"] is not None and two["at"] >= one["at"]
    assert "Tanda terima" not in str([one, two]), "hashes only, not the text"

    # Append-only: the database itself refuses to change or remove a row.
    for statement in ("UPDATE audit_entry SET officer = 'someone-else'", "DELETE FROM audit_entry"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with n.runtime.engine.begin() as conn:
                await conn.execute(text(statement))
    assert len(await _audit(n)) == 2


# -- the delivery log --------------------------------------------------------------------------------------


async def test_every_read_of_a_delivery_log_is_audited_and_a_refused_read_is_not(
    start_notifier: NotifierFactory,
) -> None:
    n = await start_notifier()
    reg = registration(email_address=unique_address())
    await n.publish(reg)
    await n.wait_log(reg.receipt_number, lambda r: bool(r), "logged")
    before = len(await _audit(n))
    receipt = reg.receipt_number
    r = await n.client.get(
        "/v1/notifications", params={"receipt": receipt}, headers=n.auth("customer_care", sub="cc-7")
    )
    assert r.status_code == 200 and len(r.json()) == 1
    for refused in (
        await n.client.get(
            "/v1/notifications", params={"receipt": receipt}, headers=n.auth("supervisor", office="SBY")
        ),
        await n.client.get("/v1/notifications", params={"receipt": receipt}, headers=n.auth("verifier")),
        await n.client.get("/v1/notifications", params={"receipt": receipt + "\x00"}, headers=n.auth("supervisor")),
    ):
        assert refused.status_code in (403, 422)
    trail = await _audit(n)
    assert len(trail) == before + 1
    last = trail[-1]
    assert (last["action"], last["officer"], last["office"], last["receipt_number"]) == (
        "DELIVERY_LOG_READ",
        "cc-7",
        "BLT",
        receipt,
    )
    assert last["detail"] == {"entries": 1} and last["at"] is not None
    assert reg.applicant.email not in str(trail)  # type: ignore[operator]


# -- the development mailbox ---------------------------------------------------------------------------------


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


PRODUCTION = {
    "environment": "production",
    "auth_hs256_secret": "p" * 8 + _key(),
    "pii_keys": f"k1:{_key()}",
    "blind_index_key": _key(),
    "approval_secret": _key(),
}
CAPTURE_TOKEN = "eyJ" + "a" * 120 + "." + "b" * 40


async def test_the_mailbox_and_the_sink_exist_in_development_only_whatever_smtp_sink_says(
    start_notifier: NotifierFactory,
) -> None:
    production = await start_notifier(
        backend="sqlite+memory",
        notifier=NotifierSettings(smtp_sink=True, capture_token=CAPTURE_TOKEN),
        **PRODUCTION,
    )
    assert production.settings.production
    r = await production.client.get("/v1/dev/mailbox")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert production.runtime.spec.context.mailbox is None  # type: ignore[attr-defined]
    test = await start_notifier(backend="sqlite+memory", notifier=NotifierSettings(smtp_sink=True))
    assert (await test.client.get("/v1/dev/mailbox")).status_code == 404
    switched_off = await start_notifier(
        backend="sqlite+memory", environment="development", notifier=NotifierSettings(smtp_sink=False)
    )
    assert (await switched_off.client.get("/v1/dev/mailbox")).status_code == 404
    development = await start_notifier(
        backend="sqlite+memory", environment="development", notifier=NotifierSettings(smtp_sink=True)
    )
    assert (await development.client.get("/v1/dev/mailbox")).status_code == 200


# -- stream tickets and the end of a stream ---------------------------------------------------------------


async def _ticket(n: Notifier, stream: str, role: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await n.client.post(
        "/v1/streams/tickets", json={"stream": stream, "office": "BLT"}, headers=headers or n.auth(role)
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_stream_ticket_opens_a_stream_once_also_on_another_replica_and_at_the_same_moment(
    start_notifier: NotifierFactory,
) -> None:
    one = await start_notifier(share="tickets")
    two = await start_notifier(share="tickets")
    async with served(one.app) as base_one, served(two.app) as base_two:
        ticket = await _ticket(one, "displays", "display")
        async with SseReader(base_one + ticket["url"]) as first:
            assert first.status == 200
        for base in (base_one, base_two):  # used: on this replica and on the other
            async with SseReader(base + ticket["url"]) as again:
                assert again.status == 401
                assert again.events[0].data["code"] == "stream_ticket_used"

        # Two opens with one ticket at the same moment, on two replicas: one stream.
        shared = await _ticket(two, "officers", "sambang_officer")
        a, b = SseReader(base_one + shared["url"]), SseReader(base_two + shared["url"])
        try:
            await asyncio.gather(a.__aenter__(), b.__aenter__())
            assert sorted([a.status, b.status]) == [200, 401]  # type: ignore[type-var]
        finally:
            await asyncio.gather(a.close(), b.close())
    # A fresh ticket for a reconnect works, as the clients ask for one (clients/shared/sse.js).
    async with served(one.app) as base:
        fresh = await _ticket(one, "displays", "display")
        async with SseReader(base + fresh["url"] + "&last_event_id=0") as back:
            assert back.status == 200


async def test_an_open_stream_ends_when_the_token_it_was_opened_with_ends(
    start_notifier: NotifierFactory, smtp: SmtpCatcher, sms: SmsProvider
) -> None:
    clock = FakeClock(dt.datetime.now(dt.UTC))
    n = await start_notifier(clock=clock, notifier=channel_settings(smtp, sms, stream_poll_seconds=0.2))
    secret = n.settings.auth_hs256_secret
    assert secret is not None

    def bearer(role: str, ttl: int) -> dict[str, str]:
        token = issue_dev_token(secret, sub=f"{role}-{ttl}", office="BLT", roles=[role], ttl_seconds=ttl)
        return {"Authorization": f"Bearer {token}"}

    async with served(n.app) as base:
        short = SseReader(f"{base}/v1/streams/officers?office=BLT", bearer("sambang_officer", 600))
        long = SseReader(f"{base}/v1/streams/officers?office=BLT", bearer("sambang_officer", 8 * 3600))
        ticket = await _ticket(n, "displays", "display", headers=bearer("display", 600))
        assert dt.datetime.fromisoformat(ticket["expires_at"]) <= clock() + dt.timedelta(seconds=60)
        board = SseReader(base + ticket["url"])
        async with short, long, board:
            assert short.status == long.status == board.status == 200
            await asyncio.sleep(0.6)  # a few polls: nothing ends while the tokens last
            assert not (short.closed.is_set() or long.closed.is_set() or board.closed.is_set())
            clock.advance(seconds=601)
            await asyncio.wait_for(short.closed.wait(), 10)
            await asyncio.wait_for(board.closed.wait(), 10)
            assert short.error is None and board.error is None, "ended by the server, cleanly"
            await asyncio.sleep(0.6)
            assert not long.closed.is_set(), "the 8-hour token's stream goes on"
        # A ticket asked for with a token that has ended meanwhile opens nothing.
        late_ticket = await _ticket(n, "displays", "display", headers=bearer("display", 120))
        clock.advance(seconds=121)
        async with SseReader(base + late_ticket["url"]) as late:
            assert late.status == 401 and late.events[0].data["code"] == "stream_ticket_expired"


# -- free text ----------------------------------------------------------------------------------------------


def test_every_free_text_field_of_every_request_carries_the_no_control_pattern() -> None:
    doc = create_app(RuntimeSettings(environment="test")).openapi()
    components = doc["components"]["schemas"]
    bare: list[str] = []

    def walk(schema: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(components[name], where, seen | {name})
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in schema.get(key, []):
                walk(sub, where, seen)
        if schema.get("type") == "string" and not {"pattern", "enum", "format", "const"} & schema.keys():
            bare.append(where)
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{where}.{name}", seen)
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{where}[]", seen)

    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for p in op.get("parameters", []):
                walk(p.get("schema", {}), f"{method.upper()} {path} {p['in']}:{p['name']}", frozenset())
            for content in op.get("requestBody", {}).get("content", {}).values():
                walk(content.get("schema", {}), f"{method.upper()} {path} body", frozenset())
    assert bare == []


async def test_control_characters_in_queries_and_headers_of_the_streams_are_422(
    start_notifier: NotifierFactory,
) -> None:
    n = await start_notifier()
    officer = n.auth("sambang_officer")
    for params in ({"office": "BLT", "ticket": "a\x00b"}, {"office": "BLT", "last_event_id": "1\x1b"}):
        r = await n.client.get("/v1/streams/officers", params=params, headers=officer)
        assert r.status_code == 422, (params, r.text)
    r = await n.client.get("/v1/dev/mailbox", params={"to": "a\x00@example.id"})
    assert r.status_code in (404, 422)


# -- production --------------------------------------------------------------------------------------------


def _production_notifier(**notifier: Any) -> None:
    settings = RuntimeSettings(**PRODUCTION, database_url="sqlite+aiosqlite:///:memory:", amqp_url="memory://")
    create_app(settings, notifier_settings=NotifierSettings(**notifier))


def test_production_refuses_to_start_without_a_fit_capture_token_and_does_not_require_smtp() -> None:
    _production_notifier(capture_token=CAPTURE_TOKEN)  # no SMTP, no SMS: it starts (nothing is sent)
    _production_notifier(
        capture_token=CAPTURE_TOKEN, smtp_host="smtp.example.id", smtp_username="sambang", smtp_password="pw"
    )
    for token, why in ((None, "is missing"), ("short", "too short"), (DEV_HS256_SECRET, "published development value")):
        with pytest.raises(ValueError) as refused:
            _production_notifier(capture_token=SecretStr(token) if token is not None else None)
        line = str(refused.value)
        assert line.startswith("SAMBANG_NOTIFIER_CAPTURE_TOKEN") and why in line, line
        assert isinstance(refused.value, StartRefused) and "\n" not in line
    create_app(RuntimeSettings(environment="test"), notifier_settings=NotifierSettings())  # dev token elsewhere


def test_a_production_notifier_without_a_capture_token_prints_one_line_and_exits_78() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMBANG_")}
    env.update({f"SAMBANG_{k.upper()}": v for k, v in PRODUCTION.items()})
    env.update({"SAMBANG_DATABASE_URL": "sqlite+aiosqlite:///:memory:", "SAMBANG_AMQP_URL": "memory://"})
    proc = subprocess.run(
        [sys.executable, "-m", "sambang_notifier"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 78, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("notifier: refusing to start: SAMBANG_NOTIFIER_CAPTURE_TOKEN is missing"), lines


# -- rotate-data-key ----------------------------------------------------------------------------------------

K1 = generate_key()
K2 = generate_key()
#: Every encrypted column, with the key it is bound to and its context prefix (as the stores write them).
SEALED = (
    (recipient, "receipt_number", "name_enc", "recipient.name"),
    (recipient, "receipt_number", "email_enc", "recipient.email"),
    (recipient, "receipt_number", "phone_enc", "recipient.phone"),
    (appointment, "receipt_number", "birth_date_enc", "appointment.birth_date"),
    (appointment, "receipt_number", "arrival_url_enc", "appointment.arrival_url"),
    (notification, "id", "recipient_enc", "notification.recipient"),
    (notification, "id", "content_enc", "notification.content"),
)


async def _plain_values(runtime: ServiceRuntime, cipher: PiiCipher) -> dict[str, str]:
    """Every encrypted value of the notifier, decrypted with ``cipher`` (raises when it cannot)."""
    plain: dict[str, str] = {}
    async with runtime.engine.connect() as conn:
        for table, key, column, prefix in SEALED:
            for r in await conn.execute(select(table.c[key], table.c[column])):
                if r[1] is not None:
                    plain[f"{prefix}:{r[0]}"] = cipher.decrypt(r[1], context=f"{prefix}:{r[0]}")
        for r in await conn.execute(select(deferred_event.c.event_id, deferred_event.c.body_enc)):
            context = f"deferred_event:{r.event_id}"
            plain[context] = cipher.decrypt_bytes(r.body_enc, context=context).decode()
    return plain


async def test_rotation_rewrites_every_encrypted_value_so_the_new_key_alone_reads_them(
    start_notifier: NotifierFactory, smtp: SmtpCatcher
) -> None:
    n = await start_notifier(pii_keys=f"k1:{K1}", blind_index_key=DEV_BLIND_INDEX_KEY)
    regs = [registration(email_address=unique_address("rot"), phone=unique_phone()) for _ in range(2)]
    unknown = VisitCheckedIn(  # before its registration: held, encrypted
        receipt_number=registration().receipt_number,
        visit_id=f"v-{uuid.uuid4().hex[:8]}",
        ticket="A001",
        lane=Lane.REGULAR,
        seat=None,
        priority_category=PriorityCategory.NONE,
        paid=True,
        checked_in_at=dt.datetime(2026, 12, 1, 1, 10, tzinfo=dt.UTC),
    )
    published = await n.publish(*regs, unknown)
    for event in published:
        await wait_handled(n.runtime, event.id)
    for reg in regs:  # sent before the keys change under the running replica
        await n.wait_log(
            reg.receipt_number, lambda r: len(r) == 2 and all(e["status"] == "SENT" for e in r), "both sent"
        )
    only_k1 = cipher_from_settings(f"k1:{K1}", DEV_BLIND_INDEX_KEY)
    only_k2 = cipher_from_settings(f"k2:{K2}", DEV_BLIND_INDEX_KEY)
    before = await _plain_values(n.runtime, only_k1)
    assert len(before) == 2 * (3 + 1 + 2 * 2) + 1  # name, email, phone; birth date; 2 messages x 2; held event
    assert before[f"recipient.name:{regs[0].receipt_number}"] == "Siti Aminah"

    rotated = ServiceRuntime(spec(), n.settings.model_copy(update={"pii_keys": f"k1:{K1},k2:{K2}"}))
    try:
        assert await rotate_data_key(rotated, batch=1) == len(before)
        assert await rotate_data_key(rotated) == 0  # nothing left under k1
        after = await _plain_values(rotated, only_k2)
    finally:
        await rotated.engine.dispose()
    assert after == before
    with pytest.raises(DecryptionError):
        await _plain_values(n.runtime, only_k1)


def test_the_notifier_declares_its_rotation_hook() -> None:
    assert DESCRIPTOR.spec is not None and DESCRIPTOR.spec().rotate_data_key is rotate_data_key
