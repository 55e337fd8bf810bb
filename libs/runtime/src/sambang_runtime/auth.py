"""JWT bearer authentication for officers, kiosks, displays and services (API.md "Tokens")."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from sambang_runtime.problems import COMMON_MESSAGES, ProblemError

__all__ = [
    "AUDIENCE",
    "DEV_HS256_SECRET",
    "ISSUER",
    "OFFICER_ROLES",
    "ROLES",
    "CurrentPrincipal",
    "OptionalPrincipal",
    "Principal",
    "TokenVerifier",
    "current_principal",
    "ensure_office",
    "issue_dev_token",
    "main",
    "optional_principal",
    "require_roles",
]

ISSUER = "sambang"
AUDIENCE = "sambang"
SECRET_ENV = "SAMBANG_AUTH_HS256_SECRET"  # noqa: S105 - the variable name, not a secret
# Deliberately recognisable: settings refuse it outside development.
DEV_HS256_SECRET = "sambang-dev-secret-change-me-0123456789abcdef"  # noqa: S105
_MIN_SECRET_BYTES = 32

ROLES: frozenset[str] = frozenset(
    {
        "customer_care",
        "verifier",
        "sambang_officer",
        "interviewer",
        "supervisor",
        "kiosk",
        "display",
        "service",
        "admin",
        # Kepala Kantor: decides holds and lost-passport cases, receives the Anev report.
        "head_of_office",
        # The only role that changes national data: fees, bank partners, message templates.
        "national_admin",
    }
)

#: People working for the office or the ministry: every role but the devices' and the services'.
OFFICER_ROLES: frozenset[str] = ROLES - {"kiosk", "display", "service"}

_HMAC_ALGORITHMS = ("HS256",)
_ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
_REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub", "office", "roles"]
_BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_INVALID_TOKEN_CHALLENGE = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject, office and roles."""

    sub: str
    office: str
    roles: frozenset[str]

    def has_any(self, *roles: str) -> bool:
        """Tell whether the principal holds at least one of the given roles."""
        return not self.roles.isdisjoint(roles)


def _invalid_token(detail_en: str, detail_id: str) -> ProblemError:
    return ProblemError(401, "invalid_token", detail_en, detail_id, headers=_INVALID_TOKEN_CHALLENGE)


def _unauthorized() -> ProblemError:
    return ProblemError.common(401, "unauthorized", headers=_BEARER_CHALLENGE)


def _explain(error: jwt.PyJWTError) -> ProblemError:
    # Say why in general terms only: the token and key material never appear in a response.
    if isinstance(error, jwt.ExpiredSignatureError):
        return _invalid_token("The token has expired", "Token sudah kedaluwarsa")
    if isinstance(error, jwt.ImmatureSignatureError):
        return _invalid_token("The token is not valid yet", "Token belum berlaku")
    if isinstance(error, jwt.InvalidAudienceError):
        return _invalid_token("The token is not meant for this service", "Token tidak ditujukan untuk layanan ini")
    if isinstance(error, jwt.InvalidIssuerError):
        return _invalid_token(
            "The token comes from an unknown issuer", "Token berasal dari penerbit yang tidak dikenal"
        )
    if isinstance(error, jwt.InvalidAlgorithmError):
        return _invalid_token(
            "The token uses a signing algorithm that is not accepted",
            "Token memakai algoritma tanda tangan yang tidak diterima",
        )
    if isinstance(error, jwt.MissingRequiredClaimError):
        return _invalid_token(
            f"The token lacks the required claim '{error.claim}'",
            f"Token tidak memuat klaim wajib '{error.claim}'",
        )
    if isinstance(error, jwt.InvalidSignatureError):
        return _invalid_token("The token signature is invalid", "Tanda tangan token tidak valid")
    if isinstance(error, jwt.DecodeError):
        return _invalid_token("The token is malformed", "Format token tidak valid")
    if isinstance(error, jwt.PyJWKClientError):
        return _invalid_token(
            "The token was signed with an unknown key",
            "Token ditandatangani dengan kunci yang tidak dikenal",
        )
    return _invalid_token("The token is invalid", "Token tidak valid")


class TokenVerifier:
    """Verify bearer tokens with either an HS256 secret or a JWKS URL, never both."""

    def __init__(
        self,
        *,
        hs256_secret: str | None = None,
        jwks_url: str | None = None,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        leeway_seconds: int = 30,
    ) -> None:
        if (hs256_secret is None) == (jwks_url is None):
            raise ValueError("give exactly one of hs256_secret or jwks_url")
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._secret: str | None = None
        self._jwks: jwt.PyJWKClient | None = None
        # One algorithm family per verifier: mixing them lets an attacker sign HS256 with the public key.
        if hs256_secret is not None:
            if len(hs256_secret.encode("utf-8")) < _MIN_SECRET_BYTES:
                raise ValueError(f"the HS256 secret must be at least {_MIN_SECRET_BYTES} bytes")
            self._secret = hs256_secret
            self._algorithms: tuple[str, ...] = _HMAC_ALGORITHMS
        else:
            assert jwks_url is not None
            self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)
            self._algorithms = _ASYMMETRIC_ALGORITHMS

    @property
    def algorithms(self) -> tuple[str, ...]:
        """The signing algorithms this verifier accepts."""
        return self._algorithms

    @property
    def uses_network(self) -> bool:
        """Tell whether verification may fetch keys over the network (JWKS mode)."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        """Check signature and claims and return the principal, or raise a 401 ProblemError."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise _explain(error) from None
        # Checked before any key lookup so junk tokens never trigger a JWKS fetch; also refuses "none".
        if header.get("alg") not in self._algorithms:
            raise _explain(jwt.InvalidAlgorithmError("algorithm not allowed"))
        key: Any
        if self._jwks is not None:
            try:
                key = self._jwks.get_signing_key_from_jwt(token)
            except jwt.PyJWKClientConnectionError:
                raise _keys_unavailable() from None
            except jwt.PyJWKSetError:
                raise _keys_unavailable() from None
            except jwt.PyJWTError as error:
                raise _explain(error) from None
        else:
            key = self._secret
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self._algorithms),
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as error:
            raise _explain(error) from None
        return _principal_from(claims)

    async def verify_async(self, token: str) -> Principal:
        """Verify without blocking the event loop when a JWKS fetch may be needed."""
        if self._jwks is None:
            return self.verify(token)
        # PyJWKClient fetches with blocking urllib; keep that off the event loop.
        return await run_in_threadpool(self.verify, token)


def _keys_unavailable() -> ProblemError:
    # Not the caller's fault: a 401 would make clients throw away a good token.
    return ProblemError(
        503,
        "auth_unavailable",
        "Token keys cannot be fetched right now; please try again",
        "Kunci token tidak dapat diambil saat ini; silakan coba lagi",
        headers={"Retry-After": "5"},
    )


def _principal_from(claims: dict[str, Any]) -> Principal:
    sub = claims.get("sub")
    office = claims.get("office")
    roles = claims.get("roles")
    if not isinstance(sub, str) or not sub:
        raise _invalid_token("The token subject is invalid", "Subjek token tidak valid")
    if not isinstance(office, str) or not office:
        raise _invalid_token("The token office is invalid", "Kantor pada token tidak valid")
    # A bare string would otherwise be read as a set of one-letter roles.
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise _invalid_token("The token roles are invalid", "Peran pada token tidak valid")
    # Roles we do not know grant nothing; dropping them keeps older services working when new roles appear.
    return Principal(sub=sub, office=office, roles=frozenset(roles) & ROLES)


def issue_dev_token(
    secret: str,
    *,
    sub: str,
    office: str,
    roles: Sequence[str],
    ttl_seconds: int = 8 * 3600,
    now: datetime | None = None,
) -> str:
    """Sign an HS256 token for embedded mode, tests and `make token`."""
    if isinstance(roles, str):
        raise TypeError("roles must be a sequence of role names, not a string")
    unknown = sorted(set(roles) - ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(unknown)}; known: {', '.join(sorted(ROLES))}")
    if not roles:
        raise ValueError("a token needs at least one role")
    if not sub or not office:
        raise ValueError("sub and office must not be empty")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    if len(secret.encode("utf-8")) < _MIN_SECRET_BYTES:
        raise ValueError(f"the HS256 secret must be at least {_MIN_SECRET_BYTES} bytes")
    issued_at = now or datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "office": office,
        "roles": list(dict.fromkeys(roles)),
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def _verifier_of(request: Request) -> TokenVerifier:
    verifier = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        raise RuntimeError("app.state.token_verifier is not set; the app factory must set it")
    if not isinstance(verifier, TokenVerifier):
        raise TypeError("app.state.token_verifier must be a TokenVerifier")
    return verifier


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise _unauthorized()
    return token


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller, or 401 without a valid bearer token."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    token = _bearer_token(request)
    if token is None:
        raise _unauthorized()
    principal = await _verifier_of(request).verify_async(token)
    # Kept on the request so audit writers and a second dependency need not verify again.
    request.state.principal = principal
    return principal


async def optional_principal(request: Request) -> Principal | None:
    """FastAPI dependency for public routes: None without a header, 401 with a bad one."""
    if request.headers.get("authorization") is None:
        return None
    return await current_principal(request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """Build a dependency that admits only principals holding one of the roles (admin is not implied)."""
    if not roles:
        raise ValueError("require_roles needs at least one role")
    unknown = sorted(set(roles) - ROLES)
    if unknown:
        # A typo here would silently lock everyone out; fail at import time instead.
        raise ValueError(f"unknown roles: {', '.join(unknown)}")
    wanted = frozenset(roles)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.roles.isdisjoint(wanted):
            raise ProblemError.common(403, "forbidden", extra={"required_roles": sorted(wanted)})
        return principal

    dependency.__name__ = f"require_roles_{'_'.join(sorted(wanted))}"
    return dependency


def ensure_office(principal: Principal, office: str) -> None:
    """Refuse with 403 `wrong_office` unless the principal belongs to the given office."""
    # Office codes are compared case-insensitively: a path may say "blt" for "BLT".
    if principal.office.casefold() != office.casefold():
        detail_en, detail_id = COMMON_MESSAGES["wrong_office"]
        raise ProblemError(403, "wrong_office", detail_en, detail_id)


def main(argv: Sequence[str] | None = None) -> int:
    """Print a dev token: `python -m sambang_runtime.auth --role supervisor --office BLT`."""
    parser = argparse.ArgumentParser(
        prog="python -m sambang_runtime.auth",
        description=f"Print an HS256 dev token signed with ${SECRET_ENV} (or the dev secret).",
    )
    parser.add_argument("--role", action="append", required=True, choices=sorted(ROLES), help="repeatable")
    parser.add_argument("--office", required=True, help="office code, e.g. BLT")
    parser.add_argument("--sub", default=None, help="subject; default dev-<first role>")
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    args = parser.parse_args(argv)
    secret = os.environ.get(SECRET_ENV) or DEV_HS256_SECRET
    roles: list[str] = args.role
    sub: str = args.sub or f"dev-{roles[0]}"
    try:
        token = issue_dev_token(secret, sub=sub, office=args.office, roles=roles, ttl_seconds=args.ttl)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


class ServiceToken:
    """The bearer token one service shows another (role ``service``), per office: the configured one in
    production; outside it, a short-lived dev token signed with the dev HS256 secret, reused for half its
    life. The gateway (capture's bundle) and the notifier (capture's checklist) both call capture so.

    Token lifetimes are wall-clock security, not domain time: the token is stamped by the signer's clock
    and its cached copy ages on the monotonic clock, so a test's fake clock never makes it stale or fresh.
    """

    DEV_SECONDS = 600

    def __init__(self, configured: str | None, *, dev_secret: str | None, sub: str, variable: str) -> None:
        self._configured = configured
        self._dev_secret = dev_secret
        self._sub = sub
        self._variable = variable
        self._cached: dict[str, tuple[str, float]] = {}

    @classmethod
    def of(cls, settings: Any, configured: str | None, *, sub: str, variable: str, purpose: str) -> ServiceToken:
        """The token for a service's ``RuntimeSettings``: production refuses to start without ``configured``
        (one line naming ``variable``); elsewhere the dev secret signs one when none is configured."""
        production = settings.environment == "production"
        if production and configured is None:
            raise ValueError(f"production needs {variable} ({purpose})")
        return cls(
            configured, dev_secret=None if production else settings.auth_hs256_secret, sub=sub, variable=variable
        )

    def __call__(self, office: str) -> str:
        if self._configured is not None:
            return self._configured
        if self._dev_secret is None:
            raise RuntimeError(f"no service token: set {self._variable}")
        cached = self._cached.get(office)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        token = issue_dev_token(
            self._dev_secret, sub=self._sub, office=office, roles=["service"], ttl_seconds=self.DEV_SECONDS
        )
        self._cached[office] = (token, time.monotonic() + self.DEV_SECONDS / 2)
        return token
