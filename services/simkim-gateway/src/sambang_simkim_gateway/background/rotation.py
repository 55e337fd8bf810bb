"""`make rotate-data-key` (ServiceSpec.rotate_data_key): re-encrypt every encrypted column of the gateway
that is not yet under the cipher's active key (``sambang_runtime.rotation``), while the service runs."""

from __future__ import annotations

from sambang_runtime.rotation import BATCH, SealedColumn, rotate_sealed
from sambang_runtime.service import ServiceRuntime

from ..handlers import biodata_context, violation_context
from ..models import submission, violation_report

#: Every encrypted column of the gateway: an application's biodata (name, NIK, birth date) and a
#: violation report's free text, with the contexts its handlers encrypt under.
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn(submission, "receipt_number", "biodata_enc", biodata_context),
    SealedColumn(violation_report, "id", "detail_enc", violation_context),
)


async def rotate_data_key(runtime: ServiceRuntime, *, batch: int = BATCH) -> int:
    """Re-encrypt every personal value (submissions' biodata, violation reports' detail) still under an
    older key; returns how many were rewritten (a row changed meanwhile keeps its newer value)."""
    return await rotate_sealed(runtime, SEALED_COLUMNS, batch=batch)
