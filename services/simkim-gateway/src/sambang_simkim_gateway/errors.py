"""Every problem code the SIMKIM gateway answers with (the codes are API: never rename one)."""

from __future__ import annotations

from sambang_runtime.errors import ErrorCatalogue

NAME = "simkim-gateway"

ERRORS = ErrorCatalogue(
    {
        "submission_not_found": (
            404,
            "The gateway knows nothing about this receipt number yet",
            "Gateway belum mengenal nomor tanda terima ini",
        ),
        "hold_not_found": (404, "No hold for this receipt number", "Tidak ada penahanan untuk nomor tanda terima ini"),
        "hold_not_open": (
            409,
            "The application is not held, or the hold was already decided",
            "Permohonan tidak sedang ditahan, atau penahanan sudah diputuskan",
        ),
        "hold_already_decided": (
            409,
            "The hold was already decided: a hold is decided once",
            "Penahanan sudah diputuskan: penahanan hanya diputuskan sekali",
        ),
        "decider_is_interviewer": (
            403,
            "The officer who interviewed the applicant may not decide the hold",
            "Petugas yang mewawancarai pemohon tidak boleh memutuskan penahanan",
        ),
        "not_retryable": (
            409,
            "Only a failed submission can be retried",
            "Hanya pengiriman yang gagal yang dapat diulang",
        ),
    },
    service=NAME,
)
