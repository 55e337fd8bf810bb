"""Annotated dependencies of the notifier's routes: principals by role, the context, stream access."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sambang_runtime.auth import Principal, current_principal, ensure_office, require_roles
from sambang_runtime.problems import ProblemError
from sambang_runtime.service import ServiceRuntime, runtime_of

from ..context import NotifierContext, context_from
from ..domain.streams import DISPLAYS, OFFICERS, STREAM_ROLES, Mac, verify_ticket

OFFICE_PATTERN = "^[A-Za-z]{3}$"


async def get_context(request: Request) -> NotifierContext:
    """The notifier's state of the app serving this request."""
    return context_from(runtime_of(request).spec.context)


ContextDep = Annotated[NotifierContext, Depends(get_context)]
LogReader = Annotated[Principal, Depends(require_roles("supervisor", "customer_care"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
StreamRequester = Annotated[Principal, Depends(require_roles(*STREAM_ROLES.values()))]


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


async def _stream_principal(request: Request, stream: str, office: str, ticket: str | None) -> Principal:
    """A bearer token (any client that can set headers) or a stream ticket in the URL (browsers' EventSource)."""
    if request.headers.get("authorization") is not None:
        principal = await current_principal(request)
        require_stream_role(principal, stream, office)
        return principal
    if ticket is None:
        raise ProblemError.common(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
    runtime = runtime_of(request)
    claims = verify_ticket(ticket, stream=stream, office=office, now=runtime.clock(), mac=ticket_mac(runtime))
    return Principal(sub=claims.sub, office=claims.office, roles=frozenset({STREAM_ROLES[stream]}))


TicketQuery = Annotated[str | None, Query(max_length=2000, description="a stream ticket (POST /v1/streams/tickets)")]


async def officer_stream_principal(
    request: Request, office: Annotated[str, Query(pattern=OFFICE_PATTERN)], ticket: TicketQuery = None
) -> Principal:
    """Who opens an officers' stream: a sambang officer of that office."""
    return await _stream_principal(request, OFFICERS, office, ticket)


async def display_stream_principal(
    request: Request, office: Annotated[str, Path(pattern=OFFICE_PATTERN)], ticket: TicketQuery = None
) -> Principal:
    """Who opens a display stream: a display board of that office."""
    return await _stream_principal(request, DISPLAYS, office, ticket)


OfficerStream = Annotated[Principal, Depends(officer_stream_principal)]
DisplayStream = Annotated[Principal, Depends(display_stream_principal)]
