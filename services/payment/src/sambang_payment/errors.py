"""Every problem code the payment service answers with, and its words (STYLE.md rule 7).

Routes, stores and the domain raise ``DomainError(code)``; the runtime renders it through ``ERRORS``.
The codes are API: never rename one. Numbers that depend on settings (a row limit, the signature
window) travel as members of the problem (``max_rows``, ``window_seconds``), so the words stay
fixed. The runtime's common codes (``not_found``, ``rate_limited``, ``payload_too_large``,
``validation_failed``, ``wrong_office``) keep the runtime's words.
"""

from __future__ import annotations

from sambang_runtime.errors import DomainError, ErrorCatalogue
from sambang_runtime.problems import ProblemError

from .domain.settlement import SETTLEMENT_HEADER

_HEADER = ",".join(SETTLEMENT_HEADER)

ERRORS = ErrorCatalogue(
    {
        # --- fee schedule
        "no_fee_schedule": (
            404,
            "No fee schedule is in force on that date",
            "Tidak ada tarif yang berlaku pada tanggal itu",
        ),
        "effective_date_in_past": (
            422,
            "A new fee schedule cannot take effect in the past",
            "Tarif baru tidak dapat berlaku surut",
        ),
        "schedule_exists": (
            409,
            "A fee schedule already takes effect on that date",
            "Sudah ada tarif yang berlaku mulai tanggal itu",
        ),
        "invalid_validity": (422, "Validity must be 5 or 10 years", "Masa berlaku harus 5 atau 10 tahun"),
        "ten_years_not_allowed": (
            422,
            "Ten-year validity is only for applicants aged 17 or over or married",
            "Masa berlaku 10 tahun hanya untuk pemohon berusia 17 tahun ke atas atau sudah menikah",
        ),
        # --- bills
        "birth_date_in_url": (
            400,
            "A birth date never travels in a URL: use POST /v1/bills/{receipt_number}/lookup",
            "Tanggal lahir tidak boleh dikirim di URL: gunakan POST /v1/bills/{receipt_number}/lookup",
        ),
        "receipt_locked": (
            429,
            "Too many wrong birth dates for this receipt: try again later or ask at the counter",
            "Terlalu banyak tanggal lahir yang salah untuk nomor ini: coba lagi nanti atau tanyakan di loket",
        ),
        # --- bank notifications (401: the WWW-Authenticate challenge is added by signature_refused)
        "missing_signature": (
            401,
            "The X-Partner-Key and X-Signature headers are required",
            "Header X-Partner-Key dan X-Signature wajib ada",
        ),
        "invalid_signature": (401, "The signature is not valid", "Tanda tangan tidak valid"),
        "stale_signature": (
            401,
            "The signature timestamp is outside the accepted window",
            "Waktu tanda tangan di luar batas waktu yang diterima",
        ),
        # --- settlement reconciliation
        "unsupported_media_type": (
            415,
            "Send the settlement file as text/csv",
            "Kirim berkas settlement sebagai text/csv",
        ),
        "empty_settlement_file": (422, "The settlement file is empty", "Berkas settlement kosong"),
        "settlement_not_utf8": (
            422,
            "The settlement file is not UTF-8 text",
            "Berkas settlement bukan teks UTF-8",
        ),
        "wrong_settlement_header": (
            422,
            f"The first line must be exactly: {_HEADER}",
            f"Baris pertama harus persis: {_HEADER}",
        ),
        "settlement_control_characters": (
            422,
            "A line of the settlement file holds a control character",
            "Satu baris berkas settlement berisi karakter kontrol",
        ),
        "too_many_rows": (
            422,
            "The settlement file has more rows than accepted",
            "Berkas settlement memiliki lebih banyak baris dari yang diterima",
        ),
        # --- discrepancies
        "invalid_range": (422, "'to' is before 'from'", "'to' sebelum 'from'"),
        # --- partners
        "partner_exists": (
            409,
            "A partner with this id already exists",
            "Mitra dengan id ini sudah terdaftar",
        ),
        "unknown_partner": (404, "No partner has this id", "Tidak ada mitra dengan id ini"),
        "unknown_key": (404, "This partner has no such key", "Mitra tidak memiliki kunci ini"),
    },
    service="payment",
)

#: RFC 9110: a 401 names the scheme the client must use.
_CHALLENGE = {"WWW-Authenticate": 'HMAC realm="sambang-payment"'}


def signature_refused(error: DomainError) -> ProblemError:
    """A refused bank signature as its catalogued 401, with the challenge header a 401 must carry.

    The one place a DomainError is turned into a problem by hand: the runtime's renderer carries no
    headers. The words still come from ``ERRORS``.
    """
    entry = ERRORS[error.code]
    return ProblemError(entry.status, error.code, entry.en, entry.id, extra=error.extra, headers=_CHALLENGE)
