"""Safe by default (#16) in the gateway: a hold is decided by the head of office alone and once, also under
concurrency on two replicas; decisions, retries and reads of holds are audited (append-only); free text
refuses control characters; production refuses to start without SIMKIM's address or a fit capture token;
the SIMKIM simulator never runs in production; `make rotate-data-key` re-encrypts every encrypted column."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import subprocess
import sys
from typing import Any

import pytest
from conftest import Capture, GatewayFactory, ProbedFactory
from gateway_support import INTERVIEWER, Gateway, Simkim, fast_gateway_settings, new_application
from pydantic import SecretStr
from sambang_contracts.events import ViolationFlagged
from sambang_runtime.auth import DEV_HS256_SECRET
from sambang_runtime.crypto import DEV_BLIND_INDEX_KEY, DecryptionError, PiiCipher, cipher_from_settings, generate_key
from sambang_runtime.secrets import StartRefused
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import SettingsFactory, eventually, wait_handled
from sambang_simkim_gateway.app import DESCRIPTOR, create_app, spec
from sambang_simkim_gateway.background.rotation import rotate_data_key
from sambang_simkim_gateway.models import audit_entry, submission, violation_report
from sambang_simkim_gateway.settings import GatewaySettings
from sambang_simkim_gateway.simulator.app import DESCRIPTOR as SIMULATOR
from sambang_simkim_gateway.simulator.app import create_app as create_simulator
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

DECISION = {"decision": "RELEASE", "reason": "Nama sama, orang berbeda"}


async def _held(gw: Gateway, simkim: Simkim, capture: Capture, rng: random.Random) -> str:
    """An application SIMKIM held (cekal), interviewed by INTERVIEWER: its receipt."""
    app = new_application(rng)
    await simkim.watchlist(app.nik)
    capture[0].bundles[app.receipt] = app.bundle
    await gw.publish(app.registered(), app.paid(), app.captured(), app.interviewed())
    await gw.wait_state(app.receipt, "HELD")
    return app.receipt


async def _audit(gw: Gateway, receipt: str | None = None) -> list[dict[str, Any]]:
    async with gw.runtime.engine.connect() as conn:
        stmt = select(audit_entry).order_by(audit_entry.c.id)
        if receipt is not None:
            stmt = stmt.where(audit_entry.c.receipt_number == receipt)
        return [dict(r) for r in (await conn.execute(stmt)).mappings()]


# -- hold decisions -----------------------------------------------------------------------------------------


async def test_concurrent_decisions_on_one_hold_on_two_replicas_one_wins_the_others_get_409(
    gateways: GatewayFactory, probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    one, probe = await probed()
    two = await gateways()  # a second replica on the same database
    receipt = await _held(one, simkim, capture, rng)

    async def decide(gw: Gateway, n: int) -> Any:
        body = {"decision": "RELEASE" if n % 2 else "DENY", "reason": f"keputusan {n}"}
        return await gw.client.post(
            f"/v1/holds/{receipt}/decision", json=body, headers=gw.auth("head_of_office", sub=f"head-{n}")
        )

    answers = await asyncio.gather(*(decide(one if n % 2 else two, n) for n in range(8)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [409] * 7, [r.text for r in answers]
    refused = [r.json() for r in answers if r.status_code == 409]
    assert {r["code"] for r in refused} == {"hold_already_decided"}
    [won] = [r.json() for r in answers if r.status_code == 200]
    assert {r["decided_by"] for r in refused} == {won["decided_by"]}

    [decided] = await probe.wait_for("simkim.hold.decided", subject=receipt)
    assert decided.data.decided_by == won["decided_by"]
    await one.settled(probe)
    assert len(probe.of("simkim.hold.decided", receipt)) == 1
    decisions = [a for a in await _audit(one, receipt) if a["action"] == "HOLD_DECIDED"]
    assert [(a["officer"], a["detail"]["decision"]) for a in decisions] == [(won["decided_by"], won["decision"])]


async def test_a_head_of_office_who_interviewed_the_applicant_may_not_decide_and_nor_may_a_supervisor(
    gateways: GatewayFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw = await gateways()
    receipt = await _held(gw, simkim, capture, rng)
    url = f"/v1/holds/{receipt}/decision"
    interviewer = await gw.client.post(url, json=DECISION, headers=gw.auth("head_of_office", sub=INTERVIEWER))
    assert interviewer.status_code == 403 and interviewer.json()["code"] == "decider_is_interviewer"
    both_roles = await gw.client.post(
        url, json=DECISION, headers=gw.auth("head_of_office", "supervisor", sub=INTERVIEWER)
    )
    assert both_roles.status_code == 403 and both_roles.json()["code"] == "decider_is_interviewer"
    supervisor = await gw.client.post(url, json=DECISION, headers=gw.auth("supervisor", sub="spv-9"))
    assert supervisor.status_code == 403 and supervisor.json()["code"] == "forbidden"
    assert (await gw.submission(receipt))["state"] == "HELD"
    assert [a for a in await _audit(gw, receipt) if a["action"] == "HOLD_DECIDED"] == []


# -- the audit trail ----------------------------------------------------------------------------------------


async def test_decisions_retries_and_reads_of_holds_are_in_an_append_only_audit_trail(
    gateways: GatewayFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw = await gateways(max_attempts=1, breaker_failure_threshold=50)
    receipt = await _held(gw, simkim, capture, rng)
    listed = await gw.client.get("/v1/holds", headers=gw.auth("supervisor", sub="spv-1"))
    assert [h["receipt_number"] for h in listed.json()] == [receipt]
    r = await gw.client.post(
        f"/v1/holds/{receipt}/decision", json=DECISION, headers=gw.auth("head_of_office", sub="kakan-1")
    )
    assert r.status_code == 200, r.text

    # A submission that fails (SIMKIM answers 500 to the only attempt), retried by a supervisor.
    await simkim.faults(error_rate=1.0)
    failing = new_application(rng)
    capture[0].bundles[failing.receipt] = failing.bundle
    await gw.publish(failing.registered(), failing.paid(), failing.captured(), failing.interviewed())
    await gw.wait_state(failing.receipt, "FAILED")
    await simkim.faults(error_rate=0.0)
    retried = await gw.client.post(
        f"/v1/submissions/{failing.receipt}/retry", headers=gw.auth("supervisor", sub="spv-2")
    )
    assert retried.status_code == 202, retried.text
    refused = await gw.client.post(f"/v1/submissions/{failing.receipt}/retry", headers=gw.auth("customer_care"))
    assert refused.status_code == 403

    trail = await _audit(gw)
    by_action = {a["action"]: a for a in trail}
    listing = by_action["HOLDS_LISTED"]
    assert (listing["officer"], listing["office"], listing["receipt_number"]) == ("spv-1", "BLT", None)
    assert listing["detail"]["receipts"] == [receipt] and listing["roles"] == "supervisor"
    decided = by_action["HOLD_DECIDED"]
    assert (decided["officer"], decided["roles"], decided["receipt_number"]) == ("kakan-1", "head_of_office", receipt)
    assert decided["detail"]["decision"] == "RELEASE" and decided["detail"]["hold_kind"] == "CEKAL"
    retry = by_action["SUBMISSION_RETRIED"]
    assert (retry["officer"], retry["receipt_number"]) == ("spv-2", failing.receipt)
    assert retry["detail"] == {"attempts_before": 1, "last_error": "simkim_unavailable"}
    assert [a["action"] for a in trail if a["receipt_number"] == failing.receipt] == ["SUBMISSION_RETRIED"]
    assert all(a["at"] is not None for a in trail)
    # Reading a submission with its hold is a read of hold data; a service's read (no hold) is not recorded.
    assert any(a["action"] == "HOLD_VIEWED" and a["receipt_number"] == receipt for a in trail)
    before = len(trail)
    service = await gw.client.get(f"/v1/submissions/{failing.receipt}", headers=gw.auth("service", office="QUE"))
    assert service.status_code == 200
    assert len(await _audit(gw)) == before
    # No personal data in the trail.
    assert "Siti" not in str(trail) and failing.nik not in str(trail)

    # Append-only: the database itself refuses to change or remove a row.
    for statement in ("UPDATE audit_entry SET officer = 'someone-else'", "DELETE FROM audit_entry"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with gw.runtime.engine.begin() as conn:
                await conn.execute(text(statement))
    assert len(await _audit(gw)) == before


# -- free text ----------------------------------------------------------------------------------------------


async def test_a_decision_reason_with_control_characters_is_refused_with_422_and_decides_nothing(
    gateways: GatewayFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw = await gateways()
    receipt = await _held(gw, simkim, capture, rng)
    head = gw.auth("head_of_office")
    for reason in ("alasan\x00", "\x1b[31mmerah", "bel\x07", "del\x7f", "c1\x9b"):
        r = await gw.client.post(
            f"/v1/holds/{receipt}/decision", json={"decision": "DENY", "reason": reason}, headers=head
        )
        assert r.status_code == 422, (reason, r.text)
        assert "reason" in r.text
    assert (await gw.submission(receipt))["state"] == "HELD"
    # A tab and line breaks are text.
    ok = await gw.client.post(
        f"/v1/holds/{receipt}/decision", json={"decision": "DENY", "reason": "baris 1\n\tbaris 2\r\n"}, headers=head
    )
    assert ok.status_code == 200, ok.text
    bad_office = await gw.client.get("/v1/holds", params={"office": "B\x00T"}, headers=gw.auth("supervisor"))
    assert bad_office.status_code == 422


def _bare_strings(doc: dict[str, Any]) -> list[str]:
    """Every string of a request (parameter or body) with neither a pattern, an enum, a format nor a const."""
    components = doc.get("components", {}).get("schemas", {})
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
                if (p["in"], p["name"]) in {("path", "receipt_number"), ("header", "Idempotency-Key")}:
                    continue  # the runtime's receipt path and idempotency key are checked in code
                walk(p.get("schema", {}), f"{method.upper()} {path} {p['in']}:{p['name']}", frozenset())
            for content in op.get("requestBody", {}).get("content", {}).values():
                walk(content.get("schema", {}), f"{method.upper()} {path} body", frozenset())
    return bare


def test_every_free_text_field_of_the_gateway_and_the_simulator_carries_the_no_control_pattern() -> None:
    settings = RuntimeSettings(environment="test")
    assert _bare_strings(create_app(settings).openapi()) == []
    assert _bare_strings(create_simulator(settings).openapi()) == []


# -- production ---------------------------------------------------------------------------------------------


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


PRODUCTION = {
    "environment": "production",
    "auth_hs256_secret": "p" * 8 + _key(),
    "pii_keys": f"k1:{_key()}",
    "blind_index_key": _key(),
    "approval_secret": _key(),
    "database_url": "sqlite+aiosqlite:///:memory:",
    "amqp_url": "memory://",
}
CAPTURE_TOKEN = "eyJ" + "a" * 120 + "." + "b" * 40


def _production_gateway(**gateway: Any) -> None:
    values: dict[str, Any] = {"simkim_url": "https://simkim.imigrasi.example.id", "capture_token": CAPTURE_TOKEN}
    values.update(gateway)
    create_app(RuntimeSettings(**PRODUCTION), gateway_settings=GatewaySettings(**values))


def test_production_refuses_to_start_without_simkims_address_or_a_fit_capture_token() -> None:
    _production_gateway()  # everything given: it builds
    with pytest.raises(StartRefused) as missing_url:
        _production_gateway(simkim_url="")
    assert str(missing_url.value).startswith("SAMBANG_SIMKIM_GATEWAY_SIMKIM_URL is missing")
    for token, why in (
        (None, "is missing"),
        ("short-token", "too short"),
        (DEV_HS256_SECRET, "published development value"),
    ):
        with pytest.raises(ValueError) as refused:
            _production_gateway(capture_token=SecretStr(token) if token is not None else None)
        line = str(refused.value)
        assert "SAMBANG_SIMKIM_GATEWAY_CAPTURE_TOKEN" in line and why in line, line
        assert "\n" not in line
    # Outside production a dev token is signed instead, and the simulator on this machine is the default.
    create_app(RuntimeSettings(environment="test"), gateway_settings=GatewaySettings())


def _run_module(module: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMBANG_")}
    env.update({f"SAMBANG_{k.upper()}": v for k, v in PRODUCTION.items()})
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_production_gateway_without_a_capture_token_prints_one_line_and_exits_78() -> None:
    proc = _run_module("sambang_simkim_gateway", SAMBANG_SIMKIM_GATEWAY_SIMKIM_URL="https://simkim.example.id")
    assert proc.returncode == 78, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("simkim-gateway: refusing to start: "), proc.stderr
    assert "SAMBANG_SIMKIM_GATEWAY_CAPTURE_TOKEN is missing" in lines[0]


def test_the_simkim_simulator_never_runs_in_production_and_the_gateway_never_serves_it() -> None:
    with pytest.raises(ValueError, match="never runs in production"):
        create_simulator(RuntimeSettings(**PRODUCTION))
    proc = _run_module("sambang_simkim_simulator")  # every production key given: still refused
    assert proc.returncode == 78, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [
        "simkim-simulator: refusing to start: the SIMKIM simulator is for development and tests: "
        "it never runs in production"
    ], proc.stderr
    # A development-only service (never in the production launcher, front door or k8s base) ...
    assert SIMULATOR.development_only and not DESCRIPTOR.development_only
    # ... and the gateway itself has no simulator route, in any environment.
    for environment in ("development", "test"):
        paths = create_app(RuntimeSettings(environment=environment)).openapi()["paths"]
        assert not [p for p in paths if p.startswith("/simkim")], paths
    assert not [p for p in DESCRIPTOR.prefixes if p.startswith("/simkim")]


# -- rotate-data-key ----------------------------------------------------------------------------------------

K1 = generate_key()
K2 = generate_key()


async def _plain_values(runtime: ServiceRuntime, cipher: PiiCipher) -> dict[str, str]:
    """Every encrypted value of the gateway, decrypted with ``cipher`` (raises when it cannot)."""
    plain: dict[str, str] = {}
    async with runtime.engine.connect() as conn:
        for r in await conn.execute(select(submission.c.receipt_number, submission.c.biodata_enc)):
            if r.biodata_enc is not None:
                context = f"submission.biodata:{r.receipt_number}"
                plain[context] = cipher.decrypt(r.biodata_enc, context=context)
        for r in await conn.execute(select(violation_report.c.id, violation_report.c.detail_enc)):
            context = f"violation.detail:{r.id}"
            plain[context] = cipher.decrypt(r.detail_enc, context=context)
    return plain


async def test_rotation_rewrites_every_encrypted_value_so_the_new_key_alone_reads_them(
    make_settings: SettingsFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    settings = make_settings(
        "simkim-gateway", "postgres+amqp", pii_keys=f"k1:{K1}", blind_index_key=DEV_BLIND_INDEX_KEY, log_level="WARNING"
    )
    app = create_app(settings, gateway_settings=fast_gateway_settings(simkim.base_url, capture[1]))
    async with app.router.lifespan_context(app):
        runtime: ServiceRuntime = app.state.runtime
        gw = Gateway(app, None, None)  # type: ignore[arg-type]
        apps = [new_application(rng) for _ in range(2)]
        events = [a.registered() for a in apps]
        published = await gw.publish(
            *events,
            ViolationFlagged(
                receipt_number=apps[0].receipt,
                category="FALSE_IDENTITY_DOCUMENT",
                detail="KTP tidak sesuai",
                officer_id=INTERVIEWER,
            ),
        )
        for event in published:
            await wait_handled(runtime, event.id)

        async def forwarded() -> bool:
            return bool((await simkim.stats())["violations"] == 1)

        await eventually(forwarded, 15, "the violation forwarded")  # before the keys change under it
        only_k1 = cipher_from_settings(f"k1:{K1}", DEV_BLIND_INDEX_KEY)
        only_k2 = cipher_from_settings(f"k2:{K2}", DEV_BLIND_INDEX_KEY)
        before = await _plain_values(runtime, only_k1)
        assert len(before) == 3
        assert any(v == "KTP tidak sesuai" for v in before.values())
        assert any(apps[1].nik in v for v in before.values())

        # The operator puts k2 last and runs the command while the service (still writing k1) runs.
        rotated = ServiceRuntime(spec(), settings.model_copy(update={"pii_keys": f"k1:{K1},k2:{K2}"}))
        try:
            assert await rotate_data_key(rotated, batch=1) == 3
            assert await rotate_data_key(rotated) == 0  # nothing left under k1
            after = await _plain_values(rotated, only_k2)
        finally:
            await rotated.engine.dispose()
        assert after == before
        with pytest.raises(DecryptionError):
            await _plain_values(runtime, only_k1)


def test_the_gateway_declares_its_rotation_hook() -> None:
    assert DESCRIPTOR.spec is not None and DESCRIPTOR.spec().rotate_data_key is rotate_data_key
