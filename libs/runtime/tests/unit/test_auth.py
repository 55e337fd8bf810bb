"""Bearer tokens: signature and claim checks, algorithm confusion, roles, offices, dev tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI
from sambang_runtime.auth import (
    DEV_HS256_SECRET,
    ROLES,
    CurrentPrincipal,
    OptionalPrincipal,
    Principal,
    ServiceToken,
    TokenVerifier,
    ensure_office,
    issue_dev_token,
    main,
    require_roles,
)
from sambang_runtime.problems import PROBLEM_MEDIA_TYPE, ProblemError, install_problem_handlers

SECRET = "unit-test-secret-that-is-long-enough-0123456789"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": "sambang",
        "aud": "sambang",
        "sub": "officer-7",
        "office": "BLT",
        "roles": ["supervisor"],
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def _hand_signed(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    # Built by hand: PyJWT rightly refuses to produce these tokens itself.
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _refusal(verifier: TokenVerifier, token: str) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        verifier.verify(token)
    assert caught.value.status == 401
    assert caught.value.code == "invalid_token"
    assert token not in str(caught.value.extra) and token not in caught.value.detail_en
    return caught.value


@pytest.fixture
def hs_verifier() -> TokenVerifier:
    return TokenVerifier(hs256_secret=SECRET)


class _Jwks:
    """Signing keys and the JWKS document a local HTTP server publishes."""

    def __init__(self) -> None:
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa_key.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec_key.public_key()))
        rsa_jwk.update(kid="rsa-1", use="sig", alg="RS256")
        ec_jwk.update(kid="ec-1", use="sig", alg="ES256")
        self.document = json.dumps({"keys": [rsa_jwk, ec_jwk]}).encode()
        self.rsa_public_pem = self.rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.url = ""


@pytest.fixture(scope="module")
def jwks() -> Iterator[_Jwks]:
    keys = _Jwks()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(keys.document)))
            self.end_headers()
            self.wfile.write(keys.document)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    keys.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    try:
        yield keys
    finally:
        server.shutdown()
        server.server_close()


# --- verification -------------------------------------------------------------------------------


def test_valid_hs256_token_gives_the_principal(hs_verifier: TokenVerifier) -> None:
    token = issue_dev_token(SECRET, sub="officer-7", office="BLT", roles=["verifier", "interviewer"])

    principal = hs_verifier.verify(token)

    assert principal == Principal(sub="officer-7", office="BLT", roles=frozenset({"verifier", "interviewer"}))
    assert principal.has_any("interviewer", "supervisor")
    assert not principal.has_any("supervisor", "admin")


def test_alg_none_token_is_refused_in_both_modes(hs_verifier: TokenVerifier, jwks: _Jwks) -> None:
    unsigned = _hand_signed({"alg": "none", "typ": "JWT"}, _claims(), None)

    assert "algorithm" in _refusal(hs_verifier, unsigned).detail_en
    assert "algorithm" in _refusal(TokenVerifier(jwks_url=jwks.url), unsigned).detail_en


def test_rs256_token_is_refused_in_hs256_mode(hs_verifier: TokenVerifier, jwks: _Jwks) -> None:
    token = jwt.encode(_claims(), jwks.rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})

    assert "algorithm" in _refusal(hs_verifier, token).detail_en


def test_hs256_token_signed_with_the_public_key_is_refused_in_jwks_mode(jwks: _Jwks) -> None:
    verifier = TokenVerifier(jwks_url=jwks.url)
    forged = _hand_signed({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, _claims(roles=["admin"]), jwks.rsa_public_pem)

    assert "algorithm" in _refusal(verifier, forged).detail_en


def test_rs256_and_es256_tokens_from_the_jwks_are_accepted(jwks: _Jwks) -> None:
    verifier = TokenVerifier(jwks_url=jwks.url)
    rs = jwt.encode(_claims(), jwks.rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    es = jwt.encode(_claims(office="SBY"), jwks.ec_key, algorithm="ES256", headers={"kid": "ec-1"})

    assert verifier.verify(rs).office == "BLT"
    assert verifier.verify(es).office == "SBY"


def test_token_signed_by_a_key_not_in_the_jwks_is_refused(jwks: _Jwks) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    verifier = TokenVerifier(jwks_url=jwks.url)
    unknown_kid = jwt.encode(_claims(), stranger, algorithm="RS256", headers={"kid": "rsa-9"})
    known_kid = jwt.encode(_claims(), stranger, algorithm="RS256", headers={"kid": "rsa-1"})

    assert "unknown key" in _refusal(verifier, unknown_kid).detail_en
    assert "signature" in _refusal(verifier, known_kid).detail_en


def test_es256_header_on_an_rsa_key_is_refused(jwks: _Jwks) -> None:
    verifier = TokenVerifier(jwks_url=jwks.url)
    token = jwt.encode(_claims(), jwks.ec_key, algorithm="ES256", headers={"kid": "rsa-1"})

    _refusal(verifier, token)


@pytest.mark.asyncio
async def test_unreachable_jwks_is_a_503_not_a_401() -> None:
    verifier = TokenVerifier(jwks_url="http://127.0.0.1:9/jwks.json")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(), key, algorithm="RS256", headers={"kid": "rsa-1"})

    with pytest.raises(ProblemError) as caught:
        await verifier.verify_async(token)
    assert caught.value.status == 503
    assert caught.value.code == "auth_unavailable"


def test_expired_token_is_refused_as_expired(hs_verifier: TokenVerifier) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=2)
    token = issue_dev_token(SECRET, sub="a", office="BLT", roles=["kiosk"], ttl_seconds=60, now=long_ago)

    refusal = _refusal(hs_verifier, token)
    assert refusal.detail_en == "The token has expired"
    assert refusal.detail_id == "Token sudah kedaluwarsa"


def test_expiry_within_the_leeway_is_tolerated(hs_verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(exp=int(datetime.now(UTC).timestamp()) - 10), SECRET, algorithm="HS256")

    assert hs_verifier.verify(token).sub == "officer-7"


def test_wrong_audience_is_refused(hs_verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(aud="simkim"), SECRET, algorithm="HS256")

    assert "not meant for this service" in _refusal(hs_verifier, token).detail_en


def test_wrong_issuer_is_refused(hs_verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(iss="someone-else"), SECRET, algorithm="HS256")

    assert "issuer" in _refusal(hs_verifier, token).detail_en


def test_tampered_signature_or_payload_is_refused(hs_verifier: TokenVerifier) -> None:
    token = issue_dev_token(SECRET, sub="a", office="BLT", roles=["kiosk"])
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    promoted = _b64(json.dumps(_claims(roles=["admin"])).encode())

    assert "signature" in _refusal(hs_verifier, f"{header}.{payload}.{flipped}").detail_en
    assert "signature" in _refusal(hs_verifier, f"{header}.{promoted}.{signature}").detail_en
    assert "signature" in _refusal(TokenVerifier(hs256_secret=SECRET + "x"), token).detail_en


@pytest.mark.parametrize("missing", ["office", "roles", "sub", "exp", "iss", "aud"])
def test_token_missing_a_required_claim_is_refused(hs_verifier: TokenVerifier, missing: str) -> None:
    token = jwt.encode(_claims(**{missing: None}), SECRET, algorithm="HS256")

    refusal = _refusal(hs_verifier, token)
    assert missing in refusal.detail_en


@pytest.mark.parametrize("roles", ["supervisor", [1, 2], {"supervisor": True}])
def test_roles_claim_that_is_not_a_list_of_strings_is_refused(hs_verifier: TokenVerifier, roles: Any) -> None:
    token = jwt.encode(_claims(roles=roles), SECRET, algorithm="HS256")

    _refusal(hs_verifier, token)


def test_unknown_roles_in_a_token_grant_nothing(hs_verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(roles=["superuser", "verifier"]), SECRET, algorithm="HS256")

    assert hs_verifier.verify(token).roles == frozenset({"verifier"})


def test_garbage_is_refused_as_malformed(hs_verifier: TokenVerifier) -> None:
    assert _refusal(hs_verifier, "not-a-token").detail_en == "The token is malformed"


def test_verifier_takes_exactly_one_key_source_and_a_long_secret() -> None:
    with pytest.raises(ValueError):
        TokenVerifier()
    with pytest.raises(ValueError):
        TokenVerifier(hs256_secret=SECRET, jwks_url="http://127.0.0.1/jwks.json")
    with pytest.raises(ValueError):
        TokenVerifier(hs256_secret="short")
    assert TokenVerifier(hs256_secret=SECRET).algorithms == ("HS256",)
    assert TokenVerifier(jwks_url="http://127.0.0.1/jwks.json").algorithms == ("RS256", "ES256")


# --- issuing ------------------------------------------------------------------------------------


def test_dev_token_refuses_unknown_or_missing_roles() -> None:
    with pytest.raises(ValueError, match="unknown roles: superuser"):
        issue_dev_token(SECRET, sub="a", office="BLT", roles=["superuser"])
    with pytest.raises(ValueError):
        issue_dev_token(SECRET, sub="a", office="BLT", roles=[])
    with pytest.raises(TypeError):
        issue_dev_token(SECRET, sub="a", office="BLT", roles="supervisor")


def test_dev_token_carries_the_documented_claims() -> None:
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    token = issue_dev_token(SECRET, sub="a", office="BLT", roles=["display"], ttl_seconds=600, now=now)

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims == {
        "iss": "sambang",
        "aud": "sambang",
        "sub": "a",
        "office": "BLT",
        "roles": ["display"],
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 600,
    }
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_main_prints_a_token_that_verifies(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAMBANG_AUTH_HS256_SECRET", raising=False)

    assert main(["--role", "supervisor", "--role", "verifier", "--office", "BLT", "--sub", "budi"]) == 0

    token = capsys.readouterr().out.strip()
    principal = TokenVerifier(hs256_secret=DEV_HS256_SECRET).verify(token)
    assert principal == Principal(sub="budi", office="BLT", roles=frozenset({"supervisor", "verifier"}))


def test_main_signs_with_the_secret_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAMBANG_AUTH_HS256_SECRET", SECRET)

    assert main(["--role", "kiosk", "--office", "BLT"]) == 0

    token = capsys.readouterr().out.strip()
    assert TokenVerifier(hs256_secret=SECRET).verify(token).sub == "dev-kiosk"
    with pytest.raises(ProblemError):
        TokenVerifier(hs256_secret=DEV_HS256_SECRET).verify(token)


def test_main_rejects_an_unknown_role() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--role", "superuser", "--office", "BLT"])
    assert caught.value.code == 2


def test_dev_secret_is_at_least_32_bytes() -> None:
    assert len(DEV_HS256_SECRET.encode()) >= 32


# --- authorisation ------------------------------------------------------------------------------


def test_ensure_office_refuses_another_office_with_wrong_office() -> None:
    officer = Principal(sub="a", office="BLT", roles=frozenset({"admin"}))

    ensure_office(officer, "BLT")
    ensure_office(officer, "blt")
    with pytest.raises(ProblemError) as caught:
        ensure_office(officer, "SBY")
    assert caught.value.status == 403
    assert caught.value.code == "wrong_office"
    assert caught.value.detail_id == "Petugas hanya dapat bertindak di kantornya sendiri"
    assert caught.value.detail_en == "Officers act only within their own office"


def test_require_roles_refuses_typos_at_definition_time() -> None:
    with pytest.raises(ValueError, match="supervisr"):
        require_roles("supervisr")
    assert "supervisor" in ROLES


# Module level: FastAPI resolves string annotations against the module's globals.
Supervisor = Annotated[Principal, Depends(require_roles("supervisor"))]


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.token_verifier = TokenVerifier(hs256_secret=SECRET)

    @app.get("/v1/offices/{office}/reports/daily")
    async def daily_report(office: str, supervisor: Supervisor) -> dict[str, str]:
        ensure_office(supervisor, office)
        return {"office": office, "by": supervisor.sub}

    @app.get("/v1/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"sub": principal.sub, "roles": sorted(principal.roles)}

    @app.get("/v1/applications/{receipt}")
    async def status(receipt: str, principal: OptionalPrincipal) -> dict[str, Any]:
        return {"receipt": receipt, "officer": principal.sub if principal else None}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://sambang.test") as c:
        yield c


def _bearer(*roles: str, office: str = "BLT") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(SECRET, sub='officer-7', office=office, roles=roles)}"}


@pytest.mark.asyncio
async def test_supervisor_route_admits_a_supervisor_of_the_office(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/offices/BLT/reports/daily", headers=_bearer("supervisor"))

    assert response.status_code == 200
    assert response.json() == {"office": "BLT", "by": "officer-7"}


@pytest.mark.asyncio
async def test_supervisor_route_refuses_other_roles_with_403_even_admin(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/offices/BLT/reports/daily", headers={**_bearer("verifier", "admin"), "Accept-Language": "en"}
    )

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.json()["code"] == "forbidden"


@pytest.mark.asyncio
async def test_supervisor_of_another_office_gets_wrong_office(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/offices/BLT/reports/daily", headers=_bearer("supervisor", office="SBY"))

    assert response.status_code == 403
    assert response.json()["code"] == "wrong_office"
    assert response.json()["detail"] == "Petugas hanya dapat bertindak di kantornya sendiri"


@pytest.mark.asyncio
async def test_missing_bearer_is_401_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "token"])
@pytest.mark.asyncio
async def test_malformed_authorization_header_is_401(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/v1/me", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.asyncio
async def test_invalid_token_is_401_and_never_echoed(client: httpx.AsyncClient) -> None:
    expired = issue_dev_token(
        SECRET, sub="a", office="BLT", roles=["kiosk"], now=datetime.now(UTC) - timedelta(days=1), ttl_seconds=60
    )

    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {expired}", "Accept-Language": "en"})

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert response.json()["detail"] == "The token has expired"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert expired not in response.text
    assert expired.split(".")[1] not in response.text


@pytest.mark.asyncio
async def test_optional_principal_is_none_without_a_header_and_401_with_a_bad_one(
    client: httpx.AsyncClient,
) -> None:
    anonymous = await client.get("/v1/applications/BLT2612010421738")
    officer = await client.get("/v1/applications/BLT2612010421738", headers=_bearer("customer_care"))
    bad = await client.get("/v1/applications/BLT2612010421738", headers={"Authorization": "Bearer nonsense"})

    assert anonymous.json()["officer"] is None
    assert officer.json()["officer"] == "officer-7"
    assert bad.status_code == 401


def test_a_service_token_is_the_configured_one_else_a_cached_dev_token_and_production_needs_one(
    hs_verifier: TokenVerifier,
) -> None:
    from types import SimpleNamespace

    production = SimpleNamespace(environment="production", auth_hs256_secret=SECRET)
    with pytest.raises(ValueError, match="production needs SAMBANG_X_CAPTURE_TOKEN"):
        ServiceToken.of(production, None, sub="x", variable="SAMBANG_X_CAPTURE_TOKEN", purpose="for capture")
    configured = ServiceToken.of(production, "given", sub="x", variable="V", purpose="p")
    assert configured("BLT") == "given"
    development = ServiceToken.of(
        SimpleNamespace(environment="development", auth_hs256_secret=SECRET), None, sub="x", variable="V", purpose="p"
    )
    token = development("BLT")
    principal = hs_verifier.verify(token)
    assert (principal.sub, principal.office, set(principal.roles)) == ("x", "BLT", {"service"})
    assert development("BLT") == token  # reused while young
    assert hs_verifier.verify(development("SBY")).office == "SBY"
    with pytest.raises(RuntimeError, match="set V"):
        ServiceToken(None, dev_secret=None, sub="x", variable="V")("BLT")
