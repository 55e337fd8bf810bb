"""`make rotate-data-key` (ServiceSpec.rotate_data_key): re-encrypt every encrypted column of payment
(bills' birth dates, partner keys' webhook secrets) not yet under the cipher's active key
(``sambang_runtime.rotation``), while the service runs."""

from __future__ import annotations

from sambang_runtime.rotation import BATCH, SealedColumn, rotate_sealed
from sambang_runtime.service import ServiceRuntime

from ..models import BILL, PARTNER_KEY

#: The applicant's birth date on each bill (``bill.birth_date:<receipt>``) and each partner key's
#: webhook secret (``partner_key.secret:<key id>``).
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn(BILL, "receipt_number", "birth_date_enc", lambda key: f"bill.birth_date:{key}"),
    SealedColumn(PARTNER_KEY, "key_id", "secret_enc", lambda key: f"partner_key.secret:{key}"),
)


async def rotate_data_key(runtime: ServiceRuntime, *, batch: int = BATCH) -> int:
    """Re-encrypt every birth date and partner secret still under an older key; returns how many values
    were rewritten."""
    return await rotate_sealed(runtime, SEALED_COLUMNS, batch=batch)
