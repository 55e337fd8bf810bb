"""Safe by default (#16): production refuses demo keys in one line; approvals are not logins; free text
refuses control characters; the front door matches prefixes on normalised paths and keeps development
paths in development; only verified officers skip the public rate limit."""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
import sys
from typing import Any

import jwt
import pytest
from fastapi import Depends, FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel, Field, ValidationError
from sambang_contracts import ApprovalAction, owner_of
from sambang_contracts.values import Text
from sambang_runtime.approvals import (
    APPROVAL_AUDIENCE,
    DEV_APPROVAL_SECRET,
    consume_approval,
    issue_approval,
    verify_approval,
)
from sambang_runtime.auth import DEV_HS256_SECRET, Principal, TokenVerifier, issue_dev_token
from sambang_runtime.crypto import DEV_BLIND_INDEX_KEY, DEV_PII_KEYS
from sambang_runtime.frontdoor import FrontDoor, normalise_path
from sambang_runtime.problems import ProblemError, install_problem_handlers
from sambang_runtime.secrets import one_line
from sambang_runtime.service import ServiceDescriptor
from sambang_runtime.settings import RuntimeSettings

KEY = base64.b64encode(os.urandom(32)).decode()
GOOD = {
    "environment": "production",
    "auth_hs256_secret": "s" * 8 + base64.b64encode(os.urandom(32)).decode(),
    "pii_keys": f"k1:{KEY}",
    "blind_index_key": base64.b64encode(os.urandom(32)).decode(),
    "approval_secret": base64.b64encode(os.urandom(32)).decode(),
}


def refusal(**overrides: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        RuntimeSettings(**{**GOOD, **overrides})
    return one_line(caught.value)


def test_production_is_the_default_and_starts_with_real_keys_only() -> None:
    assert RuntimeSettings.model_fields["environment"].default == "production"
    settings = RuntimeSettings(**GOOD)
    assert settings.production and not settings.development


@pytest.mark.parametrize(
    ("variable", "field", "missing", "published", "short"),
    [
        ("SAMBANG_AUTH_HS256_SECRET", "auth_hs256_secret", None, DEV_HS256_SECRET, "x" * 20),
        ("SAMBANG_PII_KEYS", "pii_keys", None, DEV_PII_KEYS, "k1:c2hvcnQ="),
        ("SAMBANG_BLIND_INDEX_KEY", "blind_index_key", None, DEV_BLIND_INDEX_KEY, "c2hvcnQ="),
        ("SAMBANG_APPROVAL_SECRET", "approval_secret", None, DEV_APPROVAL_SECRET, "short"),
    ],
)
def test_production_refuses_each_missing_short_or_published_key_in_one_line(
    variable: str, field: str, missing: None, published: str, short: str
) -> None:
    for value, why in ((missing, "is missing"), (published, "published development value"), (short, "too short")):
        line = refusal(**{field: value})
        assert line.startswith(variable), line
        assert why in line, line
        assert "\n" not in line


def test_outside_production_the_published_development_keys_fill_in() -> None:
    settings = RuntimeSettings(environment="test")
    assert settings.auth_hs256_secret == DEV_HS256_SECRET
    assert settings.approval_secret == DEV_APPROVAL_SECRET
    assert not settings.development  # tests are not development: no demo bank, no mailbox
    assert RuntimeSettings(environment="development").development


def test_a_service_started_in_production_without_keys_prints_one_line_and_exits_78() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMBANG_")}
    env["SAMBANG_ENVIRONMENT"] = "production"
    proc = subprocess.run(
        [sys.executable, "-m", "sambang_queue"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 78, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [
        "queue: refusing to start: SAMBANG_AUTH_HS256_SECRET is missing: production needs it "
        "(officer tokens are verified with it; or set SAMBANG_AUTH_JWKS_URL)"
    ], proc.stderr


# -- approvals ------------------------------------------------------------------------------------

SETTINGS = RuntimeSettings(environment="test")
SUPERVISOR = Principal("spv-1", "BLT", frozenset({"supervisor"}))
OFFICER = Principal("off-1", "BLT", frozenset({"sambang_officer"}))
RECEIPT = "BLT2612010421738"


def approval(**kw: Any) -> str:
    args: dict[str, Any] = {"action": ApprovalAction.FINGERPRINT_EXCEPTION, "subject": RECEIPT, "position": 3}
    return issue_approval(SETTINGS, kw.pop("approver", SUPERVISOR), **{**args, **kw}).token


def reason_of(token: str, caller: Principal = OFFICER, **kw: Any) -> str:
    args: dict[str, Any] = {"action": ApprovalAction.FINGERPRINT_EXCEPTION, "subject": RECEIPT, "position": 3}
    with pytest.raises(ProblemError) as caught:
        verify_approval(SETTINGS, token, caller=caller, **{**args, **kw})
    assert caught.value.status == 403 and caught.value.code == "approval_invalid"
    return str(caught.value.extra["reason"])


def test_an_approval_allows_one_action_on_one_subject_and_finger() -> None:
    token = approval()
    claims = verify_approval(
        SETTINGS, token, action=ApprovalAction.FINGERPRINT_EXCEPTION, subject=RECEIPT, position=3, caller=OFFICER
    )
    assert (claims.approver, claims.position) == ("spv-1", 3)
    assert claims.expires_at - claims.issued_at <= dt.timedelta(seconds=900)
    assert reason_of(token, action=ApprovalAction.SETTLEMENT_APPLY) == "wrong_action"
    assert reason_of(token, subject="BLT2612010421746") == "wrong_subject"
    assert reason_of(token, position=4) == "wrong_position"
    assert reason_of(token, caller=Principal("off-9", "JKT", frozenset({"sambang_officer"}))) == "wrong_office"
    assert reason_of(token, caller=SUPERVISOR) == "self_approval"


def test_approvals_and_logins_are_not_interchangeable() -> None:
    token = approval()
    with pytest.raises(ProblemError) as caught:
        TokenVerifier(hs256_secret=SETTINGS.auth_hs256_secret).verify(token)
    assert caught.value.status == 401
    login = issue_dev_token(DEV_HS256_SECRET, sub="spv-1", office="BLT", roles=["supervisor"])
    assert reason_of(login) == "signature"  # another key
    # Even a login signed with the approval key is not an approval: its audience is the bearer's.
    forged = jwt.encode(
        {**jwt.decode(login, options={"verify_signature": False}), "action": "fingerprint_exception"},
        DEV_APPROVAL_SECRET,
        algorithm="HS256",
    )
    assert reason_of(forged) == "malformed"
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == APPROVAL_AUDIENCE


def test_an_approval_is_refused_expired_unsigned_and_from_the_wrong_role() -> None:
    old = issue_approval(
        SETTINGS,
        SUPERVISOR,
        action=ApprovalAction.FINGERPRINT_EXCEPTION,
        subject=RECEIPT,
        position=3,
        now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    ).token
    assert reason_of(old) == "expired"
    claims = jwt.decode(approval(), options={"verify_signature": False})
    assert reason_of(jwt.encode(claims, "another-secret-that-is-long-enough-000", algorithm="HS256")) == "signature"
    assert reason_of(jwt.encode(claims, None, algorithm="none")) == "malformed"
    with pytest.raises(ProblemError):
        approval(approver=OFFICER)  # only a supervisor approves a fingerprint exception


async def test_an_approval_is_used_once_in_the_transaction_of_its_action() -> None:
    from sambang_runtime.db import new_metadata
    from sambang_runtime.outbox import define_bus_tables
    from sambang_runtime.service import ServiceSpec
    from sambang_runtime.testing import memory_uow

    metadata = new_metadata()
    spec = ServiceSpec(name="capture", metadata=metadata, tables=define_bus_tables(metadata))
    claims = verify_approval(
        SETTINGS, approval(), action=ApprovalAction.FINGERPRINT_EXCEPTION, subject=RECEIPT, position=3, caller=OFFICER
    )
    async with memory_uow(spec) as uow:
        await consume_approval(uow, claims)
        await uow.rollback()  # the action failed: the approval is still good
        await consume_approval(uow, claims)
        await uow.commit()
        with pytest.raises(ProblemError) as caught:
            await consume_approval(uow, claims)
        assert (caught.value.status, caught.value.code) == (409, "approval_used")


# -- text, owners ---------------------------------------------------------------------------------


class Note(BaseModel):
    text: Text = Field(max_length=200)


@pytest.mark.parametrize("bad", ["\x00", "a\x1b[2J", "\x7f", "\x85", "\x0b"])
def test_free_text_refuses_control_characters(bad: str) -> None:
    with pytest.raises(ValidationError):
        Note(text=bad)
    assert Note(text="baris satu\nbaris\tdua\r\n").text


def test_every_event_family_has_one_owner() -> None:
    assert owner_of("payment.confirmed") == "sambang/payment"
    assert owner_of("simkim.hold.raised") == "sambang/simkim-gateway"
    assert owner_of("bogus.thing") is None


# -- front door -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("/v1/captures/../../internal/v1/captures/x/bundle", "/internal/v1/captures/x/bundle"),
        ("/v1/captures/./x", "/v1/captures/x"),
        ("//internal//v1", "/internal/v1"),
        ("/v1/captures/../", "/v1/"),
        ("/../../etc/passwd", "/etc/passwd"),
    ],
)
def test_paths_are_normalised_before_matching(raw: str, normal: str) -> None:
    assert normalise_path(raw) == normal


def test_backslashes_and_control_characters_are_not_paths() -> None:
    assert normalise_path("/v1\\..\\internal") is None
    assert normalise_path("/v1/\x00") is None


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    body = f"{scope['path']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


async def test_the_front_door_never_routes_a_dotted_path_past_its_prefix_nor_development_paths() -> None:
    async def internal(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the internal API must not be reached through the front door")

    capture = ServiceDescriptor("capture", 8002, ("/v1/captures", "/internal/v1/captures"), lambda: None)
    routes = [("/v1/captures", _echo), ("/v1/dev/mailbox", _echo), ("/simkim", _echo)]
    production = FrontDoor(routes, [capture], clients=None, development=False)
    async with AsyncClient(transport=ASGITransport(app=production), base_url="http://door") as client:
        for path in (
            "/v1/captures/../../internal/v1/captures/BLT2612010421738/bundle",
            "/v1/captures/%2e%2e/%2e%2e/internal/v1/captures/x/bundle",
            "/v1/captures/..%2f..%2finternal/v1/captures/x/bundle",
        ):
            resp = await client.get(path)
            assert resp.status_code == 404, (path, resp.text)
        ok = await client.get("/v1/captures/./BLT2612010421738")
        assert (ok.status_code, ok.text) == (200, "/v1/captures/BLT2612010421738")
        assert (await client.get("/v1/dev/mailbox?to=a")).status_code == 404
        assert (await client.get("/v1/captures/../dev/mailbox")).status_code == 404
        assert (await client.get("/simkim/_admin/faults")).status_code == 404
        assert (await client.get("/v1\\..\\internal")).status_code == 400
    development = FrontDoor(routes, [capture], clients=None, development=True)
    async with AsyncClient(transport=ASGITransport(app=development), base_url="http://door") as client:
        assert (await client.get("/v1/dev/mailbox")).status_code == 200


# -- rate limit exemption -------------------------------------------------------------------------


async def test_only_verified_officers_skip_the_public_rate_limit() -> None:
    from sambang_runtime.http import client_rate_limit
    from sambang_runtime.ratelimit import RateLimiter

    limiter = RateLimiter(1, 0.0001)

    class Uow:
        context = None

    async def uow() -> Uow:
        return Uow()

    from sambang_runtime.service import get_uow

    app = FastAPI()
    install_problem_handlers(app)
    app.state.token_verifier = TokenVerifier(hs256_secret=DEV_HS256_SECRET)
    app.dependency_overrides[get_uow] = uow
    limit = client_rate_limit(lambda _ctx: limiter, officers_exempt=True)

    @app.get("/look", dependencies=[Depends(limit)])
    async def look() -> dict[str, bool]:
        return {"ok": True}

    def bearer(*roles: str) -> dict[str, str]:
        token = issue_dev_token(DEV_HS256_SECRET, sub="x", office="BLT", roles=list(roles))
        return {"Authorization": f"Bearer {token}"}

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://svc") as client:
        assert (await client.get("/look")).status_code == 200  # the one token of the bucket
        assert (await client.get("/look")).status_code == 429
        assert (await client.get("/look", headers={"Authorization": "Bearer junk"})).status_code == 429
        assert (await client.get("/look", headers=bearer("kiosk"))).status_code == 429
        assert (await client.get("/look", headers=bearer("display"))).status_code == 429
        assert (await client.get("/look", headers=bearer("customer_care"))).status_code == 200
