"""`make rotate-data-key` (ServiceSpec.rotate_data_key): re-encrypt every encrypted column of the notifier
that is not yet under the cipher's active key (``sambang_runtime.rotation``), while the service runs."""

from __future__ import annotations

from sambang_runtime.rotation import BATCH, SealedColumn, field_context, rotate_sealed
from sambang_runtime.service import ServiceRuntime

from ..models import appointment, deferred_event, notification, recipient

#: Every encrypted column of the notifier, with the contexts its stores encrypt under.
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn(recipient, "receipt_number", "name_enc", field_context("recipient", "name")),
    SealedColumn(recipient, "receipt_number", "email_enc", field_context("recipient", "email")),
    SealedColumn(recipient, "receipt_number", "phone_enc", field_context("recipient", "phone")),
    SealedColumn(appointment, "receipt_number", "birth_date_enc", field_context("appointment", "birth_date")),
    SealedColumn(appointment, "receipt_number", "arrival_url_enc", field_context("appointment", "arrival_url")),
    SealedColumn(notification, "id", "recipient_enc", field_context("notification", "recipient")),
    SealedColumn(notification, "id", "content_enc", field_context("notification", "content")),
    SealedColumn(deferred_event, "event_id", "body_enc", lambda key: f"deferred_event:{key}", binary=True),
)


async def rotate_data_key(runtime: ServiceRuntime, *, batch: int = BATCH) -> int:
    """Re-encrypt every personal value (recipients' names and contacts, visits' birth dates and arrival
    links, the delivery log's addresses and messages, events held for a registration) still under an older
    key; returns how many were rewritten."""
    return await rotate_sealed(runtime, SEALED_COLUMNS, batch=batch)
