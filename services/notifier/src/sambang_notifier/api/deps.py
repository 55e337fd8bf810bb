"""Annotated dependencies of the notifier's routes: principals by role, the context, stream access."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sambang_contracts.values import Text
from sambang_runtime.auth import Principal, current_principal, ensure_office, require_roles
from sambang_runtime.errors import DomainError
from sambang_runtime.problems import ProblemError
from sambang_runtime.service import ServiceRuntime, runtime_of

from ..context import NotifierContext, context_from
from ..domain.streams import DISPLAYS, OFFICERS, STREAM_ROLES, Mac, bearer_expiry, verify_ticket
from ..stores import tickets

OFFICE_PATTERN = "^[A-Za-z]{3}$"


async def get_context(request: Request) -> NotifierContext:
    """The notifier's state of the app serving this request."""
    return context_from(runtime_of(request).spec.context)


ContextDep = Annotated[NotifierContext, Depends(get_context)]
LogReader = Annotated[Principal, Depends(require_roles("supervisor", "customer_care"))]
#: Message templates are national: the national admin alone reads and changes them (an office admin doesn't).
NationalAdmin = Annotated[Principal, Depends(require_roles("national_admin"))]
StreamRequester = Annotated[Principal, Depends(require_roles(*STREAM_ROLES.values()))]


async def token_expiry(request: Request) -> dt.datetime | None:
    """When the (already verified) bearer token of this request ends: a stream opened or a ticket asked
    for with it ends then too."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return bearer_expiry(token.strip()) if scheme.lower() == "bearer" else None


TokenExpiry = Annotated[dt.datetime | None, Depends(token_expiry)]


def ticket_mac(runtime: ServiceRuntime) -> Mac:
    """The MAC of stream tickets: the service's keyed hash, so every replica verifies what another issued."""
    cipher = runtime.cipher

    def mac(message: str) -> str:
        # Hex first: the keyed hash case-folds what it hashes (it was made for NIKs), and base64 is case-sensitive.
        return cipher.blind_index(message.encode().hex(), purpose="stream_ticket")

    return mac


def require_stream_role(principal: Principal, stream: str, office: str) -> None:
    """403 unless the principal holds the stream's role, in the stream's office."""
    role = STREAM_ROLES[stream]
    if role not in principal.roles:
        raise ProblemError.common(403, "forbidden", extra={"required_roles": [role]})
    ensure_office(principal, office)


@dataclass(frozen=True, slots=True)
class StreamAccess:
    """Who opens a stream, and when the token that opened it ends (the stream ends then)."""

    principal: Principal
    until: dt.datetime | None


async def _stream_access(request: Request, stream: str, office: str, ticket: str | None) -> StreamAccess:
    """A bearer token (any client that can set headers) or a stream ticket in the URL (browsers' EventSource),
    which opens one stream once: a second open with it is 401 stream_ticket_used."""
    if request.headers.get("authorization") is not None:
        principal = await current_principal(request)
        require_stream_role(principal, stream, office)
        return StreamAccess(principal, await token_expiry(request))
    if ticket is None:
        raise ProblemError.common(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
    runtime = runtime_of(request)
    now = runtime.clock()
    claims = verify_ticket(ticket, stream=stream, office=office, now=now, mac=ticket_mac(runtime))
    async with runtime.uow() as uow:
        first = await tickets.use(uow, claims.id, now=now, expires_at=claims.expires_at)
        await uow.commit()
    if not first:
        raise DomainError("stream_ticket_used")
    return StreamAccess(
        Principal(sub=claims.sub, office=claims.office, roles=frozenset({STREAM_ROLES[stream]})), claims.until
    )


TicketQuery = Annotated[
    Text | None, Query(max_length=2000, description="a stream ticket (POST /v1/streams/tickets), good for one open")
]


async def officer_stream_access(
    request: Request, office: Annotated[str, Query(pattern=OFFICE_PATTERN)], ticket: TicketQuery = None
) -> StreamAccess:
    """Who opens an officers' stream: a sambang officer of that office."""
    return await _stream_access(request, OFFICERS, office, ticket)


async def display_stream_access(
    request: Request, office: Annotated[str, Path(pattern=OFFICE_PATTERN)], ticket: TicketQuery = None
) -> StreamAccess:
    """Who opens a display stream: a display board of that office."""
    return await _stream_access(request, DISPLAYS, office, ticket)


OfficerStream = Annotated[StreamAccess, Depends(officer_stream_access)]
DisplayStream = Annotated[StreamAccess, Depends(display_stream_access)]
