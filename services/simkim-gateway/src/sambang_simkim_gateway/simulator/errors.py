"""Every problem code the SIMKIM simulator answers with."""

from __future__ import annotations

from sambang_runtime.errors import ErrorCatalogue

NAME = "simkim-simulator"

ERRORS = ErrorCatalogue(
    {
        "simkim_unavailable": (503, "SIMKIM is unavailable", "SIMKIM sedang tidak tersedia"),
        "simkim_error": (500, "SIMKIM failed to process the request", "SIMKIM gagal memproses permintaan"),
        "idempotency_key_required": (
            422,
            "The Idempotency-Key header must carry the receipt number (or the violation id)",
            "Header Idempotency-Key harus berisi nomor tanda terima (atau id pelanggaran)",
        ),
        "biometric_hash_mismatch": (
            422,
            "A biometric item does not match its sha256",
            "Data biometrik tidak sesuai dengan sha256-nya",
        ),
        "application_not_found": (404, "Unknown SIMKIM reference", "Referensi SIMKIM tidak dikenal"),
        "not_held": (409, "The application is not held", "Permohonan tidak sedang ditahan"),
        "decision_conflict": (
            409,
            "A different decision was already recorded",
            "Keputusan lain sudah tercatat",
        ),
    },
    service=NAME,
)
