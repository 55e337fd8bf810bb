"""What the notifier does with each event.

``HANDLERS`` run on the shared queue ``sambang.notifier`` (replicas compete, the inbox drops
redeliveries): applicants' e-mail and SMS are recorded here, once, and sent by the dispatcher.
``BROADCAST`` runs on every replica's own queue: it records the stream event (once, whoever is
first) and wakes the streams this replica holds. The shared queue hands stream events to this
replica's stream recorder too, after its commit: an event published while every replica's own queue
was being declared again (a broker restart) still reaches the streams. The recorder runs in a
transaction of its own because numbering a stream event takes the stream's counter lock, and a
batch that held it while taking other locks could deadlock with a replica's broadcast transaction.
Holds (simkim.hold.*) are bound by neither table: they are never told to the applicant.
"""

from __future__ import annotations

from typing import Any

from sambang_contracts import (
    ApplicationCancelled,
    ApplicationRegistered,
    ArrivalConfirmed,
    ArrivalLinkIssued,
    BillExpired,
    BillVoided,
    CloudEvent,
    OfficeUpdated,
    SambangClaimed,
    SambangReleased,
    TicketCalled,
    VoidReason,
)
from sambang_runtime.consumer import HandlerTable
from sambang_runtime.uow import UnitOfWork

from .context import context_of
from .domain import streams as stream_rules
from .domain.streams import StreamItem
from .hub import StreamRecord
from .stores import appointments, deferred, offices, recipients, streams
from .usecases.messages import tell_applicant


def _office_of(event: CloudEvent[Any]) -> str:
    return (event.office or (event.subject or "")[:3]).upper()


async def _to_stream(event: CloudEvent[Any], item: StreamItem | None, uow: UnitOfWork) -> None:
    """Record a stream event (once across replicas and queues) and wake this replica's streams after commit."""
    hub = context_of(uow).hub
    if item is None or hub.knows(event.id):
        return  # this replica's other copy of the event was first
    office = _office_of(event)
    recorded = await streams.record(uow, office, item, event_id=event.id, receipt=event.subject, now=uow.now())
    # Whether this transaction or another recorded it, it is committed once this one is: wake the streams.
    uow.after_commit(lambda: hub.committed(office, item.stream, recorded.row, event.id))


def _to_stream_after_commit(event: CloudEvent[Any], item: StreamItem | None, uow: UnitOfWork) -> None:
    """The shared queue's copy: this replica's stream recorder records it once the batch has committed."""
    ctx = context_of(uow)
    if item is None or ctx.hub.knows(event.id):
        return
    pending = StreamRecord(_office_of(event), item, event.id, event.subject)
    uow.after_commit(lambda: ctx.record_stream_later(pending))


async def when_office_updated_remember_office(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Office names and time zones, for messages in office time; a late (older) update changes nothing."""
    data: OfficeUpdated = event.data
    await offices.remember(uow, data, at=event.time or uow.now())


async def when_application_registered_remember_applicant(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Keep who to tell: name, language and contacts (encrypted)."""
    data: ApplicationRegistered = event.data
    await recipients.remember(uow, data, now=uow.now())


async def when_application_registered_remember_visit(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Keep what the reminder the day before needs: the slot, the service type, the birth date (encrypted)."""
    data: ApplicationRegistered = event.data
    await appointments.remember_registration(uow, data, now=uow.now())


async def when_arrival_link_issued_remember_link(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The reminder carries the arrival link while arrival is not confirmed."""
    data: ArrivalLinkIssued = event.data
    await appointments.remember_arrival_link(uow, data.receipt_number, data.url, data.expires_at, now=uow.now())


async def when_arrival_confirmed_drop_link_from_reminder(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Arrival confirmed: the reminder goes without the link."""
    data: ArrivalConfirmed = event.data
    await appointments.remember_arrival_confirmed(uow, data.receipt_number, now=uow.now())


async def when_application_cancelled_call_off_reminder(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """No reminder for a cancelled application (nor one whose bill expired: queue cancels it so)."""
    data: ApplicationCancelled = event.data
    await appointments.close(uow, data.receipt_number, f"CANCELLED_{data.reason.value}", now=uow.now())


async def when_bill_expired_call_off_reminder(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """No reminder once the bill expired unpaid (the booking is released), whichever of payment's and queue's
    events comes first."""
    data: BillExpired = event.data
    await appointments.close(uow, data.receipt_number, "BILL_EXPIRED", now=uow.now())


async def when_bill_voided_call_off_reminder(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """No reminder once the bill was voided with its application; a bill replaced by a new one changes nothing."""
    data: BillVoided = event.data
    if data.reason == VoidReason.APPLICATION_CANCELLED:
        await appointments.close(uow, data.receipt_number, "BILL_VOIDED", now=uow.now())


async def when_application_registered_send_receipt(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The receipt number and appointment after pre-application."""
    await tell_applicant(uow, event, now=uow.now())


async def when_application_registered_send_held_messages(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Events that came before the registration are told now, after the receipt, oldest first."""
    data: ApplicationRegistered = event.data
    for held in await deferred.release(uow, data.receipt_number):
        await tell_applicant(uow, held, now=uow.now())


async def when_bill_issued_send_billing_code(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The billing code, amount and deadline."""
    await tell_applicant(uow, event, now=uow.now())


async def when_arrival_link_issued_send_link(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The link to confirm arrival, once paid."""
    await tell_applicant(uow, event, now=uow.now())


async def when_application_cancelled_tell_applicant(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """A cancellation, or (reason BILL_EXPIRED) the bill expired and the booking was released."""
    await tell_applicant(uow, event, now=uow.now())


async def when_visit_checked_in_send_ticket(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The ticket (and priority seat) after check-in."""
    await tell_applicant(uow, event, now=uow.now())


async def when_ticket_near_turn_tell_applicant(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """ "Your turn is near"."""
    await tell_applicant(uow, event, now=uow.now())


async def when_passport_issued_tell_pickup_date(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The passport is ready, from its pickup date."""
    await tell_applicant(uow, event, now=uow.now())


async def when_passport_collected_tell_applicant(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The passport was handed over (so a stranger's pickup does not go unnoticed)."""
    await tell_applicant(uow, event, now=uow.now())


async def _display_item(data: TicketCalled, uow: UnitOfWork, office: str) -> StreamItem:
    seat = await streams.seat_of(uow, office, data.receipt_number, data.ticket)
    return stream_rules.ticket_called(data, seat)


async def when_visit_checked_in_alert_tablets(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """A priority applicant sat down: every sambang officer's tablet of the office hears it (each replica)."""
    await _to_stream(event, stream_rules.priority_check_in(event.data), uow)


async def when_sambang_claimed_alert_tablets(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """An officer took a priority visit (each replica)."""
    data: SambangClaimed = event.data
    await _to_stream(event, stream_rules.sambang_claimed(data), uow)


async def when_sambang_released_alert_tablets(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """An officer gave a priority visit back (each replica)."""
    data: SambangReleased = event.data
    await _to_stream(event, stream_rules.sambang_released(data), uow)


async def when_ticket_called_alert_displays(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """A ticket was called: the display boards show it with its counter or seat (each replica)."""
    await _to_stream(event, await _display_item(event.data, uow, _office_of(event)), uow)


async def when_visit_checked_in_make_sure_tablets_hear(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The shared queue's copy of a priority check-in, recorded after commit unless a replica did already."""
    _to_stream_after_commit(event, stream_rules.priority_check_in(event.data), uow)


async def when_sambang_claimed_make_sure_tablets_hear(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The shared queue's copy of a claim."""
    _to_stream_after_commit(event, stream_rules.sambang_claimed(event.data), uow)


async def when_sambang_released_make_sure_tablets_hear(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The shared queue's copy of a release."""
    _to_stream_after_commit(event, stream_rules.sambang_released(event.data), uow)


async def when_ticket_called_make_sure_displays_hear(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The shared queue's copy of a called ticket."""
    _to_stream_after_commit(event, await _display_item(event.data, uow, _office_of(event)), uow)


HANDLERS: HandlerTable = {
    "queue.office.updated": [when_office_updated_remember_office],
    "queue.application.registered": [
        when_application_registered_remember_applicant,
        when_application_registered_remember_visit,
        when_application_registered_send_receipt,
        when_application_registered_send_held_messages,
    ],
    "payment.bill.issued": [when_bill_issued_send_billing_code],
    "queue.arrival.link_issued": [when_arrival_link_issued_send_link, when_arrival_link_issued_remember_link],
    "queue.arrival.confirmed": [when_arrival_confirmed_drop_link_from_reminder],
    "queue.application.cancelled": [
        when_application_cancelled_tell_applicant,
        when_application_cancelled_call_off_reminder,
    ],
    "payment.bill.expired": [when_bill_expired_call_off_reminder],
    "payment.bill.voided": [when_bill_voided_call_off_reminder],
    "queue.visit.checked_in": [when_visit_checked_in_send_ticket, when_visit_checked_in_make_sure_tablets_hear],
    "queue.ticket.near_turn": [when_ticket_near_turn_tell_applicant],
    "simkim.passport.issued": [when_passport_issued_tell_pickup_date],
    "queue.passport.collected": [when_passport_collected_tell_applicant],
    "queue.sambang.claimed": [when_sambang_claimed_make_sure_tablets_hear],
    "queue.sambang.released": [when_sambang_released_make_sure_tablets_hear],
    "queue.ticket.called": [when_ticket_called_make_sure_displays_hear],
}

#: Every replica, from its own queue: the live streams.
BROADCAST: HandlerTable = {
    "queue.visit.checked_in": [when_visit_checked_in_alert_tablets],
    "queue.sambang.claimed": [when_sambang_claimed_alert_tablets],
    "queue.sambang.released": [when_sambang_released_alert_tablets],
    "queue.ticket.called": [when_ticket_called_alert_displays],
}
