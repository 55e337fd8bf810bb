"""Live streams (server-sent events) to sambang officers' tablets and to display boards.

Each connection runs the follower of ``background.streams`` (replay from the database, then follow);
here its events become server-sent events whose ids are the stream's numbers, so a client that
reconnects with ``Last-Event-ID`` to either replica gets exactly what it missed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, Field
from sambang_contracts.values import Text
from sambang_runtime.auth import ensure_office
from sambang_runtime.entropy import uuid4
from sambang_runtime.service import RuntimeDep, ServiceRuntime
from sse_starlette import EventSourceResponse, ServerSentEvent

from ..background.streams import Reset, follow_stream
from ..context import NotifierContext
from ..domain.streams import DISPLAYS, OFFICERS, StreamRow, TicketClaims, parse_last_event_id, sign_ticket
from .deps import (
    OFFICE_PATTERN,
    ContextDep,
    DisplayStream,
    OfficerStream,
    StreamAccess,
    StreamRequester,
    TokenExpiry,
    require_stream_role,
    ticket_mac,
)

router = APIRouter(prefix="/v1/streams", tags=["streams"])

#: Browsers wait this long before reconnecting a dropped stream (the SSE ``retry`` field, milliseconds).
RECONNECT_MS = 2000
SSE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "text/event-stream: `id` is the stream's event number, `event` the kind, `data` JSON",
        "content": {"text/event-stream": {}},
    }
}


class TicketRequest(BaseModel):
    """Which stream a ticket is for."""

    stream: Literal["officers", "displays"]
    office: str = Field(pattern=OFFICE_PATTERN)


class StreamTicket(BaseModel):
    """A short-lived ticket that opens one stream of one office (for EventSource, which cannot send headers)."""

    ticket: str
    stream: str
    office: str
    expires_at: dt.datetime
    url: str


@router.post("/tickets", response_model=StreamTicket, status_code=201)
async def issue_stream_ticket(
    body: TicketRequest, principal: StreamRequester, until: TokenExpiry, runtime: RuntimeDep, ctx: ContextDep
) -> StreamTicket:
    """A ticket for ``?ticket=``: it opens the stream once, within ``stream_ticket_seconds`` (and never after
    the bearer token ends); the stream it opens ends when the bearer token does."""
    office = body.office.upper()
    require_stream_role(principal, body.stream, office)
    now = runtime.clock()
    end = until or now + dt.timedelta(seconds=ctx.settings.stream_ticket_seconds)
    expires_at = min(now + dt.timedelta(seconds=ctx.settings.stream_ticket_seconds), end)
    claims = TicketClaims(principal.sub, office, body.stream, expires_at, id=str(uuid4()), until=end)
    ticket = sign_ticket(claims, ticket_mac(runtime))
    if body.stream == OFFICERS:
        url = "/v1/streams/officers?" + urlencode({"office": office, "ticket": ticket})
    else:
        url = f"/v1/streams/displays/{office}?" + urlencode({"ticket": ticket})
    return StreamTicket(ticket=ticket, stream=body.stream, office=office, expires_at=expires_at, url=url)


LastEventIdHeader = Annotated[Text | None, Header(alias="Last-Event-ID", max_length=20)]
LastEventIdQuery = Annotated[
    Text | None,
    Query(description="for a new EventSource after a ticket expired: the id last received", max_length=20),
]


@router.get("/officers", response_model=None, responses=SSE_RESPONSES)
async def officers_stream(
    access: OfficerStream,
    runtime: RuntimeDep,
    ctx: ContextDep,
    office: Annotated[str, Query(pattern=OFFICE_PATTERN)],
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
) -> EventSourceResponse:
    """Sambang officers' tablets: priority check-ins (seat, category), claims and releases of the office.
    The stream ends when the token it was opened with ends."""
    ensure_office(access.principal, office)
    resume = parse_last_event_id(last_event_id_header or last_event_id)
    return _response(runtime, ctx, office.upper(), OFFICERS, resume, access)


@router.get("/displays/{office}", response_model=None, responses=SSE_RESPONSES)
async def displays_stream(
    office: str,
    access: DisplayStream,
    runtime: RuntimeDep,
    ctx: ContextDep,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
) -> EventSourceResponse:
    """Display boards: tickets called, with counter or seat (never a name or a receipt number). The stream
    ends when the token it was opened with ends."""
    ensure_office(access.principal, office)
    resume = parse_last_event_id(last_event_id_header or last_event_id)
    return _response(runtime, ctx, office.upper(), DISPLAYS, resume, access)


def _response(
    runtime: ServiceRuntime, ctx: NotifierContext, office: str, stream: str, resume: int | None, access: StreamAccess
) -> EventSourceResponse:
    return EventSourceResponse(
        _follow(runtime, ctx, office, stream, resume, access),
        ping=ctx.settings.stream_ping_seconds,
        # A client that stops reading is dropped instead of holding memory and a listener for ever.
        send_timeout=30,
        headers={"Cache-Control": "no-store"},
    )


async def _follow(
    runtime: ServiceRuntime, ctx: NotifierContext, office: str, stream: str, resume: int | None, access: StreamAccess
) -> AsyncIterator[ServerSentEvent]:
    """The stream's follower, as server-sent events, until the client or the replica goes or the token ends."""
    followed_stream = follow_stream(runtime, ctx, office, stream, resume, access.principal.sub, until=access.until)
    async with aclosing(followed_stream) as followed:
        async for item in followed:
            if isinstance(item, Reset):
                yield ServerSentEvent(data="{}", event="reset", id=str(item.newest), retry=RECONNECT_MS)
            elif isinstance(item, StreamRow):
                yield ServerSentEvent(data=item.payload, event=item.kind, id=str(item.seq))
            else:
                yield ServerSentEvent(comment=item, retry=RECONNECT_MS)
