"""`make rotate-data-key` (ServiceSpec.rotate_data_key): re-encrypt every encrypted column of the queue
not yet under the cipher's active key (``sambang_runtime.rotation``), while the service runs."""

from __future__ import annotations

from sambang_runtime.rotation import BATCH, SealedColumn, field_context, rotate_sealed
from sambang_runtime.service import ServiceRuntime

from ..models import application, pickup

_APPLICATION = ("nik", "full_name", "birth_date", "email", "phone", "passport_number")
_PICKUP = ("proxy_name", "proxy_nik")

#: Every encrypted column of the queue (personal data; the context is ``<table>.<field>:<key>``).
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    *(SealedColumn(application, "receipt_number", f"{f}_enc", field_context("application", f)) for f in _APPLICATION),
    *(SealedColumn(pickup, "id", f"{f}_enc", field_context("pickup", f)) for f in _PICKUP),
)


async def rotate_data_key(runtime: ServiceRuntime, *, batch: int = BATCH) -> int:
    """Re-encrypt every personal value (applications' NIK, name, birth date, e-mail, phone, passport
    number; pickups' proxy name and NIK) still under an older key; returns how many were rewritten."""
    return await rotate_sealed(runtime, SEALED_COLUMNS, batch=batch)
