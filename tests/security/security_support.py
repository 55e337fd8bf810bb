"""What the security tests share: every service's app on test settings, its routes, and credentials.

- ``SERVICES``: every installed service (``discover_services()``), the SIMKIM simulator included.
- ``service_settings(descriptor, tmp)``: environment ``test`` on SQLite and the in-memory bus (routes and
  their auth are the same as on PostgreSQL and RabbitMQ; the service tests prove those backends).
- ``operations(app)``: every (method, path) the app answers, from its OpenAPI document plus the routes
  left out of it (``/metrics``, ``/docs``...): nothing served escapes the table.
- ``call(app, method, path, headers)``: one in-process ASGI request returning (status, body); an
  event stream that opens is cut after its first bytes (a status is all the matrix needs).
- ``Credentials``: the bearer tokens an attacker or a colleague would show.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import random
import uuid
from collections.abc import AsyncIterator, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sambang_contracts import ApprovalAction
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.approvals import issue_approval
from sambang_runtime.auth import AUDIENCE, ISSUER, ROLES, Principal, TokenVerifier, issue_dev_token
from sambang_runtime.service import ServiceDescriptor, discover_services
from sambang_runtime.settings import RuntimeSettings
from starlette.routing import Route

SERVICES: list[ServiceDescriptor] = discover_services()
BY_NAME: dict[str, ServiceDescriptor] = {d.name: d for d in SERVICES}

OFFICE = "BLT"
OTHER_OFFICE = "JKT"
#: A well-formed receipt number of the office (its check digit right), so routes reach their checks.
RECEIPT = generate_receipt_number(OFFICE, dt.date(2026, 12, 1), random.Random(16))
METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE")

#: A valid value for each path parameter (and each required query parameter) the services name; a new name
#: fails the matrix until it is given one here (so the request reaches the route's checks, not a 422).
PARAMETER_VALUES: dict[str, str] = {
    "office_code": OFFICE,
    "office": OFFICE,
    "counter": "C1",
    "language": "en",
    "name": "booking_confirmed",
    "partner_id": "BANKSEC",
    "partner": "BANKSEC",
    "pickup_id": "pickup-1",
    "ticket_id": "ticket-1",
    "visit_id": "visit-1",
    "receipt_number": RECEIPT,
    "receipt": RECEIPT,
    "position": "1",
    "reference": "REF-1",
    "service_type": "NEW",
    "date": "2026-12-01",
    "month": "2026-12",
}


#: Well-formed bodies for the routes whose office check comes after body validation (the office is in
#: the path, the check in the handler): with them, another office's officer meets the office check. The
#: role tests send no body (a 422 is past the role check; call-next's stage ties roles to stages, which
#: the queue's own tests prove).
BODIES: dict[str, dict[str, Any]] = {
    "POST /v1/offices/{office_code}/check-ins": {"receipt_number": RECEIPT},
    "POST /v1/offices/{office_code}/pickups": {"receipt_number": RECEIPT},
    "POST /v1/offices/{office_code}/counters/{counter}/call-next": {"stage": "VERIFICATION"},
    "POST /v1/offices/{office_code}/walk-ins": {
        "service_type": "NEW",
        "passport_type": "ELECTRONIC",
        "priority_category": "ELDERLY",
        "applicant": {"full_name": "Security Matrix", "nik": "3171010101700001", "birth_date": "1970-01-01"},
    },
    "PUT /v1/offices/{office_code}/settings": {},
    "PATCH /v1/offices/{office_code}/settings": {},
    "PUT /v1/offices/{office_code}/slots": {
        "date_from": "2026-12-01",
        "date_to": "2026-12-01",
        "sessions": [{"start": "08:00:00", "end": "09:00:00", "quota": 1}],
    },
}


def service_settings(descriptor: ServiceDescriptor, tmp: Path, **overrides: Any) -> RuntimeSettings:
    """Settings of one service for an in-process app: environment test, SQLite, in-memory bus."""
    uniq = uuid.uuid4().hex[:6]
    values: dict[str, Any] = {
        "environment": "test",
        "service_name": descriptor.name,
        "database_url": f"sqlite+aiosqlite:///{tmp / descriptor.name}-{uniq}.db",
        "amqp_url": "memory://",
        "exchange": f"sambang.events.{uniq}",
        "queue_prefix": f"sambang.{uniq}",
        "log_level": "WARNING",
        "log_json": True,
    }
    values.update(overrides)
    return RuntimeSettings(**values)


@contextlib.asynccontextmanager
async def running(descriptor: ServiceDescriptor, settings: RuntimeSettings) -> AsyncIterator[FastAPI]:
    """The service's app with its lifespan running (migrations, relay, consumer) until the block ends."""
    app: FastAPI = descriptor.create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@dataclass(frozen=True)
class Operation:
    """One method on one path template of a service; ``documented`` when its OpenAPI lists it."""

    service: str
    method: str
    path: str
    documented: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def operations(service: str, app: FastAPI) -> list[Operation]:
    """Every operation the app serves: its OpenAPI document's, then every route it leaves out."""
    found: dict[str, Operation] = {}
    for path, item in app.openapi().get("paths", {}).items():
        for method in item:
            if method.upper() in METHODS:
                op = Operation(service, method.upper(), path, True)
                found[op.key] = op
    for route in app.routes:
        if isinstance(route, APIRoute | Route):
            for method in sorted(route.methods or ()):
                if method in METHODS:
                    op = Operation(service, method, route.path, False)
                    found.setdefault(op.key, op)
    return sorted(found.values(), key=lambda o: (o.path, o.method))


def concrete(path: str, overrides: Mapping[str, str] | None = None) -> str:
    """The path template with each parameter replaced by its value from ``PARAMETER_VALUES``."""
    values = {**PARAMETER_VALUES, **(overrides or {})}
    out = path
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        name = out[start + 1 : end].split(":", 1)[0]
        if name not in values:
            raise KeyError(f"no value for path parameter {name!r} of {path}: add it to PARAMETER_VALUES")
        out = out[:start] + values[name] + out[end + 1 :]
    return out


def query_for(app: FastAPI, op: Operation, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Values for the operation's required query parameters (documented ones only)."""
    values = {**PARAMETER_VALUES, **(overrides or {})}
    item = app.openapi().get("paths", {}).get(op.path, {}).get(op.method.lower(), {})
    query: dict[str, str] = {}
    for p in item.get("parameters", []):
        # The office is always named, even where it defaults to the token's: the office check is the point.
        if p.get("in") == "query" and (p.get("required") or p["name"] == "office"):
            if p["name"] not in values:
                raise KeyError(f"no value for query parameter {p['name']!r} of {op.key}: add it to PARAMETER_VALUES")
            query[p["name"]] = values[p["name"]]
    return query


_CLIENTS = (f"127.{a}.{b}.{c}" for a, b, c in itertools.product(range(1, 255), range(256), range(1, 255)))


async def call(
    app: FastAPI,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    body: bytes = b"",
    stream_cut_seconds: float = 0.5,
) -> tuple[int, bytes, dict[str, str]]:
    """One request straight into the ASGI app: (status, body, headers). A response still streaming
    ``stream_cut_seconds`` after it started (an event stream) is cut there and its app task cancelled."""
    from urllib.parse import urlencode

    raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    raw_headers.append((b"host", b"testserver"))
    if body:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": urlencode(dict(query or {})).encode(),
        "headers": raw_headers,
        # Each request from a client address of its own: public rate limits never answer for another test.
        "client": (next(_CLIENTS), 50000),
        "server": ("testserver", 80),
    }
    sent = False
    started = asyncio.Event()
    done = asyncio.Event()
    status = 0
    response_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> MutableMapping[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers.update({k.decode("latin-1"): v.decode("latin-1") for k, v in message.get("headers", [])})
            started.set()
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    task = asyncio.ensure_future(app(scope, receive, send))
    try:
        await asyncio.wait_for(started.wait(), timeout=30)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=stream_cut_seconds)
        if not done.is_set():  # an open stream: its status is what counts
            done.set()
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    return status, b"".join(chunks), response_headers


# --- credentials ------------------------------------------------------------------------------------------

_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PRIVATE_PEM = _RSA_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
RSA_PUBLIC_PEM = _RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
JWKS_KID = "security-test-key"


def _claims(roles: list[str], office: str = OFFICE, *, ttl: int = 3600, sub: str = "security-test") -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "office": office,
        "roles": roles,
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(seconds=ttl)).timestamp()),
    }


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Credentials:
    """Bearer tokens for the matrix, signed (or mis-signed) against the app's settings."""

    def __init__(self, settings: RuntimeSettings) -> None:
        assert settings.auth_hs256_secret is not None
        self.settings = settings
        self.secret = settings.auth_hs256_secret

    def role(self, role: str, office: str = OFFICE, *, sub: str | None = None) -> str:
        return issue_dev_token(self.secret, sub=sub or f"security-{role}", office=office, roles=[role])

    def all_roles(self, office: str = OFFICE) -> str:
        return issue_dev_token(self.secret, sub="security-all", office=office, roles=sorted(ROLES))

    # Every forgery carries every role of the right office: refusing it must not depend on a missing role.
    def expired(self) -> str:
        claims = _claims(sorted(ROLES))
        claims["iat"] -= 7200
        claims["exp"] = claims["iat"] + 60
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def wrong_key(self) -> str:
        return jwt.encode(_claims(sorted(ROLES)), "another-secret-of-enough-length-0123456789", algorithm="HS256")

    def alg_none(self) -> str:
        header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(_claims(sorted(ROLES))).encode())
        return f"{header}.{payload}."

    def hs256_with_public_key(self) -> str:
        """HS256 whose HMAC key is the RSA public key's PEM: the algorithm-confusion forgery."""
        return _hmac_sign(_claims(sorted(ROLES)), RSA_PUBLIC_PEM)

    def rs256(self, role: str, office: str = OFFICE, *, sub: str | None = None) -> str:
        claims = _claims([role], office, sub=sub or f"security-{role}")
        return jwt.encode(claims, RSA_PRIVATE_PEM, algorithm="RS256", headers={"kid": JWKS_KID})

    def approval(self) -> str:
        """A genuine approval (supervisor of the office), shown as a bearer token."""
        approver = Principal(sub="security-supervisor", office=OFFICE, roles=frozenset({"supervisor"}))
        issued = issue_approval(
            self.settings,
            approver,
            action=ApprovalAction.FINGERPRINT_EXCEPTION,
            subject=PARAMETER_VALUES["receipt_number"],
            position=1,
        )
        return issued.token


def _hmac_sign(claims: dict[str, Any], key: bytes) -> str:
    # PyJWT refuses a PEM as an HMAC key on purpose; an attacker signs by hand.
    import hashlib
    import hmac

    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": JWKS_KID}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def jwks_verifier() -> TokenVerifier:
    """A production-shaped verifier (RS256/ES256 from a JWKS) that knows the test RSA key, without network."""
    verifier = TokenVerifier(jwks_url="http://127.0.0.1:9/.well-known/jwks.json")
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(_RSA_KEY.public_key()))
    jwk.update({"kid": JWKS_KID, "use": "sig", "alg": "RS256"})
    client = verifier._jwks
    assert client is not None
    client.fetch_data = lambda: {"keys": [jwk]}  # type: ignore[method-assign]
    return verifier
