"""Live streams (server-sent events) to sambang officers' tablets and to display boards.

A stream replays from the database and follows it: a connection is woken when this replica commits
a stream event (its own fan-out queue, or the shared queue), and also looks every
``stream_poll_seconds`` in case another replica recorded one it was not woken for. Ids are the
per-(office, stream) numbers of ``stores.streams``, the same on every replica, so a client that
reconnects with ``Last-Event-ID`` to either replica gets exactly what it missed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, Field
from sambang_runtime.auth import ensure_office
from sambang_runtime.logs import get_logger
from sambang_runtime.service import RuntimeDep, ServiceRuntime
from sse_starlette import EventSourceResponse, ServerSentEvent

from ..context import NotifierContext
from ..domain.streams import DISPLAYS, OFFICERS, TicketClaims, parse_last_event_id, replay_needs_reset, sign_ticket
from ..stores import streams
from .deps import (
    OFFICE_PATTERN,
    ContextDep,
    DisplayStream,
    OfficerStream,
    StreamRequester,
    require_stream_role,
    ticket_mac,
)

log = get_logger(__name__)
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
    body: TicketRequest, principal: StreamRequester, runtime: RuntimeDep, ctx: ContextDep
) -> StreamTicket:
    """A ticket for ``?ticket=``: it opens (and reopens) the stream for ``stream_ticket_seconds``, nothing else."""
    office = body.office.upper()
    require_stream_role(principal, body.stream, office)
    expires_at = runtime.clock() + dt.timedelta(seconds=ctx.settings.stream_ticket_seconds)
    ticket = sign_ticket(TicketClaims(principal.sub, office, body.stream, expires_at), ticket_mac(runtime))
    if body.stream == OFFICERS:
        url = "/v1/streams/officers?" + urlencode({"office": office, "ticket": ticket})
    else:
        url = f"/v1/streams/displays/{office}?" + urlencode({"ticket": ticket})
    return StreamTicket(ticket=ticket, stream=body.stream, office=office, expires_at=expires_at, url=url)


LastEventIdHeader = Annotated[str | None, Header(alias="Last-Event-ID")]
LastEventIdQuery = Annotated[
    str | None,
    Query(description="for a new EventSource after a ticket expired: the id last received", max_length=20),
]


@router.get("/officers", response_model=None, responses=SSE_RESPONSES)
async def officers_stream(
    principal: OfficerStream,
    runtime: RuntimeDep,
    ctx: ContextDep,
    office: Annotated[str, Query(pattern=OFFICE_PATTERN)],
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
) -> EventSourceResponse:
    """Sambang officers' tablets: priority check-ins (seat, category), claims and releases of the office."""
    ensure_office(principal, office)
    resume = parse_last_event_id(last_event_id_header or last_event_id)
    return _response(runtime, ctx, office.upper(), OFFICERS, resume, principal.sub)


@router.get("/displays/{office}", response_model=None, responses=SSE_RESPONSES)
async def displays_stream(
    office: str,
    principal: DisplayStream,
    runtime: RuntimeDep,
    ctx: ContextDep,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
) -> EventSourceResponse:
    """Display boards: tickets called, with counter or seat (never a name or a receipt number)."""
    ensure_office(principal, office)
    resume = parse_last_event_id(last_event_id_header or last_event_id)
    return _response(runtime, ctx, office.upper(), DISPLAYS, resume, principal.sub)


def _response(
    runtime: ServiceRuntime, ctx: NotifierContext, office: str, stream: str, resume: int | None, who: str
) -> EventSourceResponse:
    return EventSourceResponse(
        _follow(runtime, ctx, office, stream, resume, who),
        ping=ctx.settings.stream_ping_seconds,
        # A client that stops reading is dropped instead of holding memory and a listener for ever.
        send_timeout=30,
        headers={"Cache-Control": "no-store"},
    )


async def _follow(
    runtime: ServiceRuntime, ctx: NotifierContext, office: str, stream: str, resume: int | None, who: str
) -> AsyncIterator[ServerSentEvent]:
    """Replay what a reconnecting client missed, then follow the stream until the client or the replica goes."""
    s = ctx.settings
    # Listening before reading: an event committed between the read and the wait still wakes this stream.
    with ctx.hub.listen(office, stream) as listener:
        async with runtime.uow() as uow:
            oldest, newest = await streams.bounds(uow, office, stream)
        if resume is None:
            cursor = newest  # a new client loads its view from the queue service and follows from here
        elif replay_needs_reset(resume, oldest, newest):
            # What it missed is gone (pruned), or it names an id this stream never gave: reload the view.
            cursor = newest
            yield ServerSentEvent(data="{}", event="reset", id=str(newest), retry=RECONNECT_MS)
        else:
            cursor = resume
        log.info("stream.opened", office=office, stream=stream, subject=who, resume=resume, cursor=cursor)
        yield ServerSentEvent(comment="connected", retry=RECONNECT_MS)
        woken = False  # the first round reads the database: the replay
        try:
            while not listener.closed:
                # Woken by a commit of this replica: the hub has the next events. At a gap (recorded by another
                # replica, or older than the hub keeps) and on every poll: the database.
                rows = ctx.hub.after(office, stream, cursor) if woken else None
                if rows is None:
                    async with runtime.uow() as uow:
                        rows = await streams.since(uow, office, stream, cursor, limit=s.stream_replay_max)
                for row in rows:
                    cursor = row.seq
                    yield ServerSentEvent(data=row.payload, event=row.kind, id=str(row.seq))
                if len(rows) >= s.stream_replay_max:
                    woken = False  # more to replay
                    continue
                woken = await listener.wait(s.stream_poll_seconds)
        finally:
            log.info("stream.closed", office=office, stream=stream, subject=who, cursor=cursor)
