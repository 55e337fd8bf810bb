"""Approvals are not logins: a second person's consent to one action on one subject, used once.

A supervisor (or, for national powers, a second national admin) asks the queue service for an approval
(``POST /v1/approvals``): a JWT with its own audience ``sambang-approval``, signed with
``SAMBANG_APPROVAL_SECRET`` (never the bearer tokens' key), naming the action, its subject (a receipt, a
partner, a settlement file's digest), the finger where it is one, a single-use id and at most 15 minutes
of life. The service that performs the action checks it with ``verify_approval`` and records its id with
``consume_approval`` in the same transaction as the action, so it works once. The bearer verifier refuses
it (wrong audience, wrong key), and this verifier refuses a bearer token (wrong audience, wrong key).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import jwt
from sambang_contracts import ApprovalAction

from .auth import ISSUER, Principal
from .entropy import uuid4
from .problems import ProblemError

if TYPE_CHECKING:
    from .uow import UnitOfWork

__all__ = [
    "APPROVAL_AUDIENCE",
    "APPROVERS",
    "DEV_APPROVAL_SECRET",
    "MAX_APPROVAL_SECONDS",
    "ApprovalClaims",
    "IssuedApproval",
    "consume_approval",
    "issue_approval",
    "verify_approval",
]

APPROVAL_AUDIENCE = "sambang-approval"
# Published on purpose, like the other development keys: production refuses it (settings.py).
DEV_APPROVAL_SECRET = "sambang-dev-approval-secret-not-for-production"  # noqa: S105
MAX_APPROVAL_SECONDS = 900
_LEEWAY_SECONDS = 30
_MIN_SECRET_BYTES = 32

#: Who may give each approval. National powers take a second national admin (four eyes).
APPROVERS: Mapping[ApprovalAction, frozenset[str]] = MappingProxyType(
    {
        ApprovalAction.FINGERPRINT_EXCEPTION: frozenset({"supervisor"}),
        ApprovalAction.PARTNER_CREATE: frozenset({"national_admin"}),
        ApprovalAction.PARTNER_ROTATE: frozenset({"national_admin"}),
        ApprovalAction.PARTNER_REVOKE: frozenset({"national_admin"}),
        ApprovalAction.SETTLEMENT_APPLY: frozenset({"supervisor", "national_admin"}),
    }
)


@dataclass(frozen=True)
class IssuedApproval:
    """What the approver hands over: the token (shown once), its id and when it lapses."""

    token: str
    jti: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class ApprovalClaims:
    """A verified approval: who gave it, for what, until when."""

    jti: str
    approver: str
    office: str
    roles: frozenset[str]
    action: ApprovalAction
    subject: str
    position: int | None
    issued_at: dt.datetime
    expires_at: dt.datetime


def _secret_of(settings: Any) -> str:
    secret = getattr(settings, "approval_secret", None)
    if not isinstance(secret, str) or len(secret.encode("utf-8")) < _MIN_SECRET_BYTES:
        raise RuntimeError("SAMBANG_APPROVAL_SECRET is not set (settings fill the development one outside production)")
    return secret


def issue_approval(
    settings: Any,
    approver: Principal,
    *,
    action: ApprovalAction,
    subject: str,
    position: int | None = None,
    ttl_seconds: int = 600,
    now: dt.datetime | None = None,
) -> IssuedApproval:
    """Sign an approval of ``approver`` for ``action`` on ``subject`` (and finger ``position``).

    Refuses (403 ``forbidden``) an approver without a role of ``APPROVERS[action]``; lifetimes are clamped
    to 1..``MAX_APPROVAL_SECONDS``.
    """
    wanted = APPROVERS[action]
    if approver.roles.isdisjoint(wanted):
        raise ProblemError.common(403, "forbidden", extra={"required_roles": sorted(wanted)})
    ttl = max(1, min(int(ttl_seconds), MAX_APPROVAL_SECONDS))
    issued = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    expires = issued + dt.timedelta(seconds=ttl)
    jti = str(uuid4())
    claims = {
        "iss": ISSUER,
        "aud": APPROVAL_AUDIENCE,
        "jti": jti,
        "sub": approver.sub,
        "office": approver.office,
        "roles": sorted(approver.roles & wanted),
        "action": action.value,
        "subject": subject,
        "position": position,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
    }
    token = jwt.encode(claims, _secret_of(settings), algorithm="HS256")
    return IssuedApproval(token=token, jti=jti, expires_at=expires)


def _refused(reason: str) -> ProblemError:
    return ProblemError.common(403, "approval_invalid", extra={"reason": reason})


def _decode(settings: Any, token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _refused("malformed") from None
    if header.get("alg") != "HS256":
        raise _refused("malformed")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _secret_of(settings),
            algorithms=["HS256"],
            audience=APPROVAL_AUDIENCE,
            issuer=ISSUER,
            leeway=_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "jti", "sub", "office", "action", "subject"]},
        )
    except jwt.ExpiredSignatureError:
        raise _refused("expired") from None
    except jwt.InvalidSignatureError:
        raise _refused("signature") from None
    except jwt.PyJWTError:
        # Wrong audience (a login token), issuer, missing claims, junk: not an approval.
        raise _refused("malformed") from None
    return claims


def verify_approval(
    settings: Any,
    token: str | None,
    *,
    action: ApprovalAction,
    subject: str,
    caller: Principal,
    position: int | None = None,
    office_bound: bool = True,
) -> ApprovalClaims:
    """The approval in ``token`` if it allows ``caller`` to do ``action`` on ``subject`` now, else 403
    ``approval_invalid`` with the ``reason``. Not yet used up: call ``consume_approval`` in the action's
    unit of work. ``office_bound``: the approver must be of the caller's office (national actions are not).
    """
    if not token or not token.strip():
        raise _refused("missing")
    claims = _decode(settings, token.strip())
    try:
        granted = ApprovalAction(claims["action"])
    except ValueError:
        raise _refused("wrong_action") from None
    if granted is not action:
        raise _refused("wrong_action")
    if claims["subject"] != subject:
        raise _refused("wrong_subject")
    claimed_position = claims.get("position")
    if claimed_position != position:
        raise _refused("wrong_position")
    issued_at = dt.datetime.fromtimestamp(int(claims["iat"]), dt.UTC)
    expires_at = dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
    if (expires_at - issued_at).total_seconds() > MAX_APPROVAL_SECONDS:
        raise _refused("too_long")
    roles = claims.get("roles")
    held = frozenset(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else frozenset()
    if held.isdisjoint(APPROVERS[action]):
        raise _refused("approver_role")
    approver = str(claims["sub"])
    office = str(claims["office"])
    if office_bound and office.casefold() != caller.office.casefold():
        raise _refused("wrong_office")
    # Four eyes: nobody approves their own action.
    if approver == caller.sub:
        raise _refused("self_approval")
    return ApprovalClaims(
        jti=str(claims["jti"]),
        approver=approver,
        office=office,
        roles=held,
        action=action,
        subject=subject,
        position=claimed_position if isinstance(claimed_position, int) else None,
        issued_at=issued_at,
        expires_at=expires_at,
    )


async def consume_approval(uow: UnitOfWork, claims: ApprovalClaims) -> None:
    """Use the approval up within ``uow``'s transaction: 409 ``approval_used`` if it ever was before.

    The id rides the service's inbox table, so use and effect commit (or roll back) together.
    """
    if not await uow.claim_once(claims.jti, f"approval:{claims.action.value}"[:64]):
        raise ProblemError.common(409, "approval_used")
