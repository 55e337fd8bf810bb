"""Every route of every service, enumerated from its OpenAPI document (and the routes it leaves out),
called with no token, forged tokens, every role and the right role of another office; the expected
outcome of each pair is the one table in ``matrix.py``.

One app per service (environment ``test``, SQLite and the in-memory bus: routes and their checks are
the same on PostgreSQL and RabbitMQ, which the services' own tests use), called in-process. "Allowed"
means past the route's checks: not 401, not a 403 refusal (404, 409, 422 are fine: the body is a dummy).
A 403 ``approval_invalid`` counts as past the role check (the route then wants a second person's
approval). Any 5xx fails.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from matrix import COMMON, MATRIX, Rule, rule_of
from sambang_runtime.auth import ROLES
from security_support import (
    BODIES,
    OTHER_OFFICE,
    SERVICES,
    Credentials,
    Operation,
    call,
    concrete,
    jwks_verifier,
    operations,
    query_for,
    running,
    service_settings,
)


def _collect() -> list[Operation]:
    import tempfile

    tmp = Path(tempfile.gettempdir())
    found: list[Operation] = []
    for descriptor in SERVICES:
        found.extend(operations(descriptor.name, descriptor.create_app(service_settings(descriptor, tmp))))
    return found


OPERATIONS = _collect()
OP_IDS = [f"{op.service}:{op.key}" for op in OPERATIONS]
FORGED: dict[str, Callable[[Credentials], str | None]] = {
    "no-token": lambda c: None,
    "expired": Credentials.expired,
    "wrong-key": Credentials.wrong_key,
    "alg-none": Credentials.alg_none,
    "hs256-public-key": Credentials.hs256_with_public_key,
    "approval-as-bearer": Credentials.approval,
}
ROLE_LIST = sorted(ROLES)


class Apps:
    """The running app and credentials of each service."""

    def __init__(self) -> None:
        self.apps: dict[str, FastAPI] = {}
        self.creds: dict[str, Credentials] = {}


@pytest.fixture(scope="module")
async def apps(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Apps]:
    tmp = tmp_path_factory.mktemp("matrix")
    found = Apps()
    async with AsyncExitStack() as stack:
        for descriptor in SERVICES:
            settings = service_settings(descriptor, tmp)
            found.apps[descriptor.name] = await stack.enter_async_context(running(descriptor, settings))
            found.creds[descriptor.name] = Credentials(settings)
        yield found


def _rule(op: Operation) -> Rule:
    rule = rule_of(op.service, op.key)
    if rule is None:
        pytest.fail(f"{op.service}: {op.key} is served but missing from tests/security/matrix.py")
    return rule


async def _send(
    apps: Apps, op: Operation, token: str | None, *, office: str | None = None, with_body: bool = False
) -> tuple[int, str, str]:
    app = apps.apps[op.service]
    overrides = {"office_code": office, "office": office} if office else None
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    sample = BODIES.get(op.key) if with_body else None
    if sample is not None:
        headers["content-type"] = "application/json"
    status, body, _ = await call(
        app,
        op.method,
        concrete(op.path, overrides),
        headers=headers,
        query=query_for(app, op, overrides),
        body=json.dumps(sample).encode() if sample is not None else b"",
    )
    text = body.decode("utf-8", "replace")
    code = ""
    if body[:1] == b"{":
        try:
            parsed: Any = json.loads(body)
            code = str(parsed.get("code", "")) if isinstance(parsed, dict) else ""
        except ValueError:
            code = ""
    assert status < 500, f"{op.service} {op.key}: {status} {text[:400]}"
    return status, code, text[:300]


def _refused(status: int, code: str) -> bool:
    """401, or a 403 that is not "you may, with an approval"."""
    return status == 401 or (status == 403 and not code.startswith("approval_"))


def _where(op: Operation, who: str, status: int, code: str, text: str) -> str:
    return f"{op.service} {op.key} as {who}: {status} {code} {text}"


# --- the table covers what is served, and only that ----------------------------------------------------------


def test_every_service_has_its_table() -> None:
    served = {d.name for d in SERVICES}
    assert served == set(MATRIX), f"without a table: {served - set(MATRIX)}; tables of none: {set(MATRIX) - served}"


def test_every_table_entry_is_served() -> None:
    served = {(op.service, op.key) for op in OPERATIONS}
    stale = [f"{s}: {k}" for s, table in MATRIX.items() for k in table if (s, k) not in served]
    stale += [f"every service: {k}" for k in COMMON if not any(op.key == k for op in OPERATIONS)]
    assert not stale, f"the matrix lists routes no service serves: {stale}"


SUBJECT_OPS = [o for o in OPERATIONS if (r := rule_of(o.service, o.key)) is not None and r.subject]


def test_the_biometric_bundle_names_its_one_caller() -> None:
    assert [f"{o.service}:{o.key}" for o in SUBJECT_OPS] == [
        "capture:GET /internal/v1/captures/{receipt_number}/bundle"
    ]


@pytest.mark.parametrize("op", SUBJECT_OPS, ids=[f"{o.service}:{o.key}" for o in SUBJECT_OPS])
async def test_a_service_route_refuses_another_services_token(apps: Apps, op: Operation) -> None:
    status, code, text = await _send(apps, op, apps.creds[op.service].role("service", sub="notifier"))
    assert status == 403 and code == "forbidden", _where(op, "service as notifier", status, code, text)


@pytest.mark.parametrize("op", OPERATIONS, ids=OP_IDS)
def test_route_is_in_the_table(op: Operation) -> None:
    _rule(op)


# --- forged and foreign credentials ---------------------------------------------------------------------------


@pytest.mark.parametrize("forgery", list(FORGED))
@pytest.mark.parametrize("op", OPERATIONS, ids=OP_IDS)
async def test_forged_credentials_are_refused(apps: Apps, op: Operation, forgery: str) -> None:
    rule = _rule(op)
    token = FORGED[forgery](apps.creds[op.service])
    status, code, text = await _send(apps, op, token)
    where = _where(op, forgery, status, code, text)
    if rule.kind == "public":
        # A public route serves without a token; a bad one may be refused (401) but never earns a 403.
        assert status != 403, where
        if token is None:
            assert status != 401, where
    else:
        assert status == 401, where


@pytest.mark.parametrize("role", ROLE_LIST)
@pytest.mark.parametrize("op", OPERATIONS, ids=OP_IDS)
async def test_each_role_gets_what_the_table_says(apps: Apps, op: Operation, role: str) -> None:
    rule = _rule(op)
    sub = rule.subject if role == "service" else None
    status, code, text = await _send(apps, op, apps.creds[op.service].role(role, sub=sub))
    where = _where(op, role, status, code, text)
    if rule.kind == "public":
        assert not _refused(status, code), where
    elif rule.kind == "hmac":
        assert status == 401, where  # a bearer token is no bank signature, whatever its role
    elif role in rule.allowed:
        assert not _refused(status, code), where
        if rule.approval:
            assert not 200 <= status < 300, f"without an approval: {where}"
    else:
        assert status == 403 and code == "forbidden", where


@pytest.mark.parametrize("op", OPERATIONS, ids=OP_IDS)
async def test_the_right_role_of_another_office(apps: Apps, op: Operation) -> None:
    rule = _rule(op)
    if rule.kind != "roles":
        pytest.skip("no role, no office")
    role = sorted(rule.allowed)[0]
    creds = apps.creds[op.service]
    status, code, text = await _send(apps, op, creds.role(role, OTHER_OFFICE), with_body=True)
    where = _where(op, f"{role} of {OTHER_OFFICE}", status, code, text)
    if rule.office in ("path", "query"):
        assert status == 403 and code == "wrong_office", where
    elif rule.office == "resource":
        assert status not in (401,) and not 200 <= status < 300, where
    else:  # national data, or the caller's own office's view
        assert not _refused(status, code), where


# --- a production-shaped verifier (RS256 from a JWKS) -----------------------------------------------------------


PROTECTED = [op for op in OPERATIONS if getattr(rule_of(op.service, op.key), "kind", "") == "roles"]


@pytest.mark.parametrize("op", PROTECTED, ids=[f"{op.service}:{op.key}" for op in PROTECTED])
async def test_under_jwks_the_key_signs_and_its_public_half_forges_nothing(apps: Apps, op: Operation) -> None:
    rule = _rule(op)
    app = apps.apps[op.service]
    creds = apps.creds[op.service]
    previous = app.state.token_verifier
    app.state.token_verifier = jwks_verifier()
    try:
        role = sorted(rule.allowed)[0]
        status, code, text = await _send(apps, op, creds.rs256(role, sub=rule.subject))
        assert not _refused(status, code), _where(op, f"{role} (RS256 from the JWKS)", status, code, text)
        status, code, text = await _send(apps, op, creds.hs256_with_public_key())
        assert status == 401, _where(op, "HS256 keyed with the JWKS public key", status, code, text)
        status, code, text = await _send(apps, op, creds.role(role))
        assert status == 401, _where(op, f"{role} HS256 with the development secret", status, code, text)
    finally:
        app.state.token_verifier = previous
