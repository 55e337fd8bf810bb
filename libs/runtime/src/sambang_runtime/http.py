"""Request plumbing every service needs the same way: the receipt number in a path, a bounded body,
the per-client rate limit. One home, so the checks and their problem responses cannot drift apart
(five services validated receipts, two read bounded bodies, two limited clients, each its own way).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from sambang_contracts.values import InvalidValue, parse_receipt_number

from .auth import OFFICER_ROLES, current_principal
from .clientaddr import client_address
from .problems import ProblemError
from .ratelimit import RateLimiter
from .service import UowDep

__all__ = [
    "APPROVAL_HEADER",
    "ApprovalHeader",
    "ReceiptPath",
    "client_rate_limit",
    "read_limited_body",
    "valid_receipt",
]

#: The header an approval (sambang_runtime.approvals) travels in; never the Authorization header.
APPROVAL_HEADER = "X-Supervisor-Approval"

#: A route's approval, unverified: ``verify_approval(settings, approval, action=..., ...)`` checks it.
ApprovalHeader = Annotated[
    str | None,
    Header(
        alias=APPROVAL_HEADER,
        description="A single-use approval from POST /v1/approvals (not a login token), at most 15 minutes old",
        # A JWT's alphabet, documented (verify_approval refuses anything else with its own 403).
        json_schema_extra={"pattern": "^[A-Za-z0-9_=-]+\\.[A-Za-z0-9_=-]+\\.[A-Za-z0-9_=-]*$"},
    ),
]


def valid_receipt(receipt: str) -> str:
    """A well-formed receipt number (the check digit catches a typo before any look-up), else the
    common 422 ``invalid_receipt_number`` problem with the ``reason``; never echoes the value."""
    try:
        parse_receipt_number(receipt)
    except InvalidValue as exc:
        raise ProblemError.common(422, "invalid_receipt_number", extra={"reason": exc.reason}) from None
    return receipt


async def _receipt_from_path(
    receipt_number: Annotated[
        str,
        Path(
            description="Pre-application receipt number (nomor tanda terima)",
            # Documented, not enforced here: valid_receipt answers with its own code and reason.
            json_schema_extra={"pattern": "^[A-Z]{3}[0-9]{13}$"},
        ),
    ],
) -> str:
    return valid_receipt(receipt_number)


#: A route's ``{receipt_number}`` path parameter, validated: ``async def get(receipt: ReceiptPath)``.
ReceiptPath = Annotated[str, Depends(_receipt_from_path)]


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 ``payload_too_large`` (``max_bytes``) as soon as the declared
    length or the bytes received pass ``limit``: never read whole first."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ProblemError.common(413, "payload_too_large", extra={"max_bytes": limit})
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ProblemError.common(413, "payload_too_large", extra={"max_bytes": limit})
    return bytes(body)


def client_rate_limit(
    limiter_of: Callable[[Any], RateLimiter], *, officers_exempt: bool = False
) -> Callable[[Request, Any], Awaitable[None]]:
    """A FastAPI dependency taking one token per request from ``limiter_of(uow.context)`` for the
    client's address (``sambang_runtime.clientaddr``); 429 ``rate_limited`` with ``Retry-After`` once
    the bucket is empty. ``officers_exempt``: a request whose bearer token verifies and carries an
    officer role is left to auth and audit; any other header (junk, expired, a kiosk's or a display's
    token) is limited like the public, so carrying ``Authorization`` buys nothing.

    Monotonic time, not the service clock: the bucket measures elapsed seconds, not domain time.
    """

    async def limit(request: Request, uow: UowDep) -> None:
        if officers_exempt and request.headers.get("authorization"):
            try:
                principal = await current_principal(request)
            except ProblemError:
                principal = None  # the route's own auth answers for the token; the bucket still counts
            if principal is not None and not principal.roles.isdisjoint(OFFICER_ROLES):
                return
        wait = limiter_of(uow.context).take(client_address(request), time.monotonic())
        if wait > 0:
            raise ProblemError.common(429, "rate_limited", headers={"Retry-After": str(max(1, math.ceil(wait)))})

    return limit
