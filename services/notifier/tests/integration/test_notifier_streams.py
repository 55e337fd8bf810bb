"""Live streams over a real HTTP server: officers' tablets get priority check-ins, claims and releases, display
boards get called tickets; a reconnecting client gets what it missed (Last-Event-ID), on either replica."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from notifier_support import (
    Notifier,
    NotifierFactory,
    SmtpCatcher,
    SseReader,
    registration,
    served,
    unique_address,
)
from sambang_contracts import (
    Lane,
    PriorityCategory,
    SambangClaimed,
    SambangReleased,
    Stage,
    TicketCalled,
    VisitCheckedIn,
)
from sambang_runtime.testing import eventually

AT = dt.datetime(2026, 12, 1, 1, 10, tzinfo=dt.UTC)


def check_in(
    receipt: str, *, lane: Lane = Lane.PRIORITY, ticket: str = "P001", seat: str | None = "P3"
) -> VisitCheckedIn:
    """queue.visit.checked_in."""
    return VisitCheckedIn(
        receipt_number=receipt,
        visit_id=f"v-{uuid.uuid4().hex[:8]}",
        ticket=ticket,
        lane=lane,
        seat=seat if lane == Lane.PRIORITY else None,
        priority_category=PriorityCategory.ELDERLY if lane == Lane.PRIORITY else PriorityCategory.NONE,
        paid=True,
        checked_in_at=AT,
    )


def officers_url(base: str, office: str = "BLT") -> str:
    """The officers' stream of an office."""
    return f"{base}/v1/streams/officers?office={office}"


async def ticket_url(n: Notifier, base: str, stream: str, role: str, office: str = "BLT") -> str:
    """A stream URL with a fresh ticket, as a browser tablet gets it (EventSource cannot send headers)."""
    r = await n.client.post(
        "/v1/streams/tickets", json={"stream": stream, "office": office}, headers=n.auth(role, office=office)
    )
    assert r.status_code == 201, r.text
    return base + r.json()["url"]


async def test_a_tablet_gets_a_priority_check_in_and_after_a_dropped_connection_what_it_missed(
    start_notifier: NotifierFactory,
) -> None:
    n = await start_notifier()
    receipt = registration().receipt_number
    async with served(n.app) as base:
        tablet = SseReader(officers_url(base), n.auth("sambang_officer", sub="officer-1"))
        witness = SseReader(officers_url(base), n.auth("sambang_officer", sub="officer-2"))
        async with tablet, witness:
            priority = check_in(receipt)
            await n.publish(check_in(registration().receipt_number, lane=Lane.REGULAR, ticket="A001"), priority)
            (alert,) = await tablet.wait_for("priority_check_in")
            assert alert.data["seat"] == "P3" and alert.data["priority_category"] == "ELDERLY"
            assert alert.data["visit_id"] == priority.visit_id and alert.data["ticket"] == "P001"
            assert alert.id is not None and int(alert.id) >= 1

            await tablet.close()  # the tablet loses its network
            await n.publish(
                SambangClaimed(receipt_number=receipt, visit_id=priority.visit_id, officer_id="officer-2", seat="P3"),
                SambangReleased(receipt_number=receipt, visit_id=priority.visit_id, officer_id="officer-2"),
            )
            await witness.wait_for("sambang_released")

            # Back, through a stream ticket and the Last-Event-ID an EventSource sends on reconnecting.
            url = await ticket_url(n, base, "officers", "sambang_officer")
            async with SseReader(url, {"Last-Event-ID": alert.id}) as back:
                await back.wait_for("sambang_released")
                assert [e.event for e in back.events] == ["sambang_claimed", "sambang_released"], back.events
                assert [int(e.id or 0) for e in back.events] == [int(alert.id) + 1, int(alert.id) + 2]
                assert back.events[0].data["officer_id"] == "officer-2"
        assert [e.event for e in witness.events] == ["priority_check_in", "sambang_claimed", "sambang_released"]
        assert witness.events[0].id == alert.id, "ids are the stream's, not the connection's"


async def test_a_display_board_gets_called_tickets_with_counter_or_seat_and_nothing_personal(
    start_notifier: NotifierFactory,
) -> None:
    n = await start_notifier()
    reg = registration(email_address=unique_address(), name="Budi Santoso")
    priority = check_in(reg.receipt_number, ticket="P002", seat="P2")
    async with served(n.app) as base:
        url = await ticket_url(n, base, "displays", "display")
        async with SseReader(url) as board, SseReader(officers_url(base), n.auth("sambang_officer")) as tablet:
            await n.publish(reg, priority)
            await tablet.wait_for("priority_check_in")
            await n.publish(
                TicketCalled(
                    receipt_number=registration().receipt_number,
                    ticket="A007",
                    stage=Stage.VERIFICATION,
                    counter="3",
                    called_at=AT,
                ),
                TicketCalled(
                    receipt_number=reg.receipt_number,
                    ticket="P002",
                    stage=Stage.INTERVIEW,
                    counter="5",
                    called_at=AT,
                    recall=1,
                ),
            )
            regular, called_priority = await board.wait_for("ticket_called", 2)
        assert regular.data == {"ticket": "A007", "stage": "VERIFICATION", "counter": "3", "seat": None, "recall": 0}
        assert called_priority.data == {
            "ticket": "P002",
            "stage": "INTERVIEW",
            "counter": "5",
            "seat": "P2",
            "recall": 1,
        }
        raw = json.dumps([e.data for e in board.events])
        assert reg.receipt_number not in raw and "Budi" not in raw
        assert [e.event for e in board.events] == ["ticket_called", "ticket_called"]
        assert not tablet.of("ticket_called"), "called tickets go to the displays, not the tablets"


async def test_streams_admit_only_their_role_and_office_and_a_ticket_only_briefly(
    start_notifier: NotifierFactory,
) -> None:
    n = await start_notifier()
    c = n.client
    assert (await c.get("/v1/streams/officers", params={"office": "BLT"})).status_code == 401
    wrong_role = await c.get("/v1/streams/displays/BLT", headers=n.auth("sambang_officer"))
    assert wrong_role.status_code == 403
    wrong_office = await c.get("/v1/streams/displays/BLT", headers=n.auth("display", office="SBY"))
    assert wrong_office.status_code == 403 and wrong_office.json()["code"] == "wrong_office"
    refused = await c.post(
        "/v1/streams/tickets", json={"stream": "officers", "office": "BLT"}, headers=n.auth("supervisor")
    )
    assert refused.status_code == 403
    r = await c.post("/v1/streams/tickets", json={"stream": "displays", "office": "BLT"}, headers=n.auth("display"))
    ticket = r.json()["ticket"]
    other_stream = await c.get("/v1/streams/officers", params={"office": "BLT", "ticket": ticket})
    assert other_stream.status_code == 401 and other_stream.json()["code"] == "stream_ticket_invalid"
    other_office = await c.get("/v1/streams/displays/SBY", params={"ticket": ticket})
    assert other_office.status_code == 401
    forged = await c.get("/v1/streams/displays/BLT", params={"ticket": ticket[:-2] + "00"})
    assert forged.status_code == 401 and forged.json()["code"] == "stream_ticket_invalid"
    payload, _, signature = ticket.partition(".")
    recased = await c.get("/v1/streams/displays/BLT", params={"ticket": payload.swapcase() + "." + signature})
    assert recased.status_code == 401, "the MAC covers the payload's exact bytes (the keyed hash case-folds text)"
    async with served(n.app) as base:
        async with SseReader(f"{base}/v1/streams/displays/BLT?ticket={ticket}") as ok:
            assert ok.status == 200
        n.clock.advance(seconds=61)
        late = await c.get("/v1/streams/displays/BLT", params={"ticket": ticket})
        assert late.status_code == 401 and late.json()["code"] == "stream_ticket_expired"


async def test_two_replicas_both_stream_an_event_while_the_email_is_sent_once(
    start_notifier: NotifierFactory, smtp: SmtpCatcher
) -> None:
    one = await start_notifier(share="pair")
    two = await start_notifier(share="pair")
    assert one.runtime.broadcast_consumer is not None and two.runtime.broadcast_consumer is not None
    assert one.runtime.broadcast_consumer.queue != two.runtime.broadcast_consumer.queue
    address = unique_address("pair")
    reg = registration(email_address=address)
    async with served(one.app) as base_one, served(two.app) as base_two:
        tablet_one = SseReader(officers_url(base_one), one.auth("sambang_officer", sub="officer-1"))
        tablet_two = SseReader(officers_url(base_two), two.auth("sambang_officer", sub="officer-2"))
        async with tablet_one, tablet_two:
            await one.publish(reg)
            await eventually(lambda: _true(len(smtp.to(address)) == 1), 20, "the receipt mail")
            await one.publish(check_in(reg.receipt_number))
            (a,) = await tablet_one.wait_for("priority_check_in")
            (b,) = await tablet_two.wait_for("priority_check_in")
            assert a.id == b.id and a.data == b.data
            await eventually(lambda: _true(len(smtp.to(address)) == 2), 20, "the ticket mail")
            rows = await one.wait_log(reg.receipt_number, lambda r: len(r) == 2 and r[-1]["status"] == "SENT", "sent")
    assert [r["template"] for r in rows] == ["receipt", "ticket"]
    assert sorted(str(m["Subject"]) for m in smtp.to(address)) == sorted(
        [f"Tanda terima pra-permohonan {reg.receipt_number}", "Nomor antrean P001"]
    ), "each e-mail went out once though two replicas run"


async def _true(value: bool) -> bool:
    return value


async def test_a_check_in_that_reached_no_replicas_own_queue_still_reaches_the_tablets(
    start_notifier: NotifierFactory,
) -> None:
    n = await start_notifier()
    assert n.runtime.broadcast_consumer is not None
    async with served(n.app) as base, SseReader(officers_url(base), n.auth("sambang_officer")) as tablet:
        # As in the moments after a broker restart, before the replica's own queue is declared again.
        await n.runtime.broadcast_consumer.stop()
        priority = check_in(registration().receipt_number, ticket="P009", seat="P9")
        await n.publish(priority)
        (alert,) = await tablet.wait_for("priority_check_in")
        assert alert.data["visit_id"] == priority.visit_id
