"""The queue service's problem codes with their HTTP status and bilingual messages (STYLE.md rule 7).

Routes, stores and the domain raise ``DomainError(code, **extra)``; the runtime renders it from here.
"""

from __future__ import annotations

from sambang_runtime.errors import ErrorCatalogue

#: code -> (status, English, Indonesian). The codes are part of the API: never rename one.
ERRORS = ErrorCatalogue(
    {
        "not_found": (404, "The requested resource was not found", "Data yang diminta tidak ditemukan"),
        "application_not_found": (
            404,
            "No application matches this receipt number and birth date",
            "Tidak ada permohonan dengan nomor tanda terima dan tanggal lahir ini",
        ),
        "office_not_found": (404, "Unknown office", "Kantor tidak dikenal"),
        "slot_not_found": (404, "Unknown slot", "Jadwal tidak ditemukan"),
        "visit_not_found": (404, "Unknown visit or ticket", "Kunjungan atau antrean tidak ditemukan"),
        "pickup_not_found": (404, "Unknown pickup", "Pengambilan paspor tidak ditemukan"),
        "slot_full": (409, "The slot is full", "Kuota jadwal sudah penuh"),
        "slot_of_other_office": (
            422,
            "The slot belongs to another office",
            "Jadwal tersebut milik kantor lain",
        ),
        "active_application_exists": (
            409,
            "This NIK already has an active application",
            "NIK ini sudah memiliki permohonan yang aktif",
        ),
        "outside_booking_window": (
            422,
            "The slot is outside the booking window of the office",
            "Jadwal berada di luar rentang pemesanan kantor",
        ),
        "duplicate_nik_in_group": (
            422,
            "The same NIK appears twice in the group",
            "NIK yang sama muncul dua kali dalam rombongan",
        ),
        "validity_years_not_allowed": (
            422,
            "A 10-year passport needs the applicant to be 17 or older, or married",
            "Paspor 10 tahun hanya untuk pemohon berusia 17 tahun ke atas atau sudah menikah",
        ),
        "birth_date_in_future": (422, "The birth date is in the future", "Tanggal lahir berada di masa depan"),
        "priority_category_mismatch": (
            422,
            "The priority category does not match the applicant",
            "Kategori prioritas tidak sesuai dengan pemohon",
        ),
        "priority_category_officer_only": (
            422,
            "Only an officer may set this priority category",
            "Hanya petugas yang dapat menetapkan kategori prioritas ini",
        ),
        "priority_required": (
            422,
            "Walk-ins are for priority applicants only",
            "Pendaftaran langsung hanya untuk pemohon prioritas",
        ),
        "idempotency_key_reused": (
            422,
            "This Idempotency-Key was used with a different request",
            "Idempotency-Key ini sudah dipakai untuk permintaan lain",
        ),
        "idempotency_key_invalid": (
            422,
            "The Idempotency-Key must be 1-200 visible characters",
            "Idempotency-Key harus 1-200 karakter yang terlihat",
        ),
        "invalid_timezone": (422, "Unknown time zone", "Zona waktu tidak dikenal"),
        "unknown_setting": (
            422,
            "Unknown office setting (see keys): nothing was changed",
            "Pengaturan kantor tidak dikenal (lihat keys): tidak ada yang diubah",
        ),
        "office_name_required": (
            422,
            "A new office needs a name and a time zone",
            "Kantor baru memerlukan nama dan zona waktu",
        ),
        "invalid_slot_plan": (422, "The slot plan is invalid", "Rencana jadwal tidak valid"),
        "date_in_past": (422, "The date is in the past", "Tanggal sudah lewat"),
        "range_too_long": (422, "The date range is too long", "Rentang tanggal terlalu panjang"),
        "quota_below_booked": (
            409,
            "The quota is below the places already booked",
            "Kuota lebih kecil dari jumlah yang sudah dipesan",
        ),
        "not_cancellable": (
            409,
            "The application can no longer be cancelled",
            "Permohonan tidak dapat dibatalkan lagi",
        ),
        "invalid_token": (403, "The arrival link is not valid", "Tautan konfirmasi kedatangan tidak valid"),
        "link_expired": (410, "The arrival link has expired", "Tautan konfirmasi kedatangan sudah kedaluwarsa"),
        "application_closed": (
            409,
            "The application is closed (cancelled, expired, rejected or collected)",
            "Permohonan sudah ditutup (dibatalkan, kedaluwarsa, ditolak atau sudah diambil)",
        ),
        "not_paid": (409, "The application is not paid yet", "Permohonan belum dibayar"),
        "not_today": (409, "The appointment is not today", "Jadwal kedatangan bukan hari ini"),
        "too_early": (409, "Check-in is not open yet for this slot", "Check-in untuk jadwal ini belum dibuka"),
        "too_late": (409, "Check-in for this slot has closed", "Check-in untuk jadwal ini sudah ditutup"),
        "not_checkable_in": (
            409,
            "The application cannot be checked in in its current state",
            "Permohonan tidak dapat check-in dalam status saat ini",
        ),
        "booked_at_other_office": (
            409,
            "The application was booked at another office",
            "Permohonan terdaftar di kantor lain",
        ),
        "tickets_exhausted": (
            409,
            "No ticket numbers are left for today in this lane",
            "Nomor antrean hari ini untuk jalur ini sudah habis",
        ),
        "stage_not_allowed": (
            403,
            "Your role may not call this stage",
            "Peran Anda tidak dapat memanggil tahap ini",
        ),
        "counter_busy": (
            409,
            "This counter still has a called ticket: complete it or mark it as a no-show first",
            "Loket ini masih memiliki antrean yang dipanggil: selesaikan atau tandai tidak hadir dahulu",
        ),
        "ticket_not_called": (409, "The ticket is not being called", "Antrean ini tidak sedang dipanggil"),
        "hand_over_required": (
            409,
            "A pickup ticket is completed by the hand-over",
            "Antrean pengambilan diselesaikan dengan serah terima paspor",
        ),
        "invalid_transfer": (
            409,
            "The ticket cannot be transferred to that stage",
            "Antrean tidak dapat dipindahkan ke tahap tersebut",
        ),
        "already_claimed": (
            409,
            "Another officer has already claimed this visit",
            "Kunjungan ini sudah diambil petugas lain",
        ),
        "not_claimable": (409, "The visit is not waiting for a sambang officer", "Kunjungan tidak sedang menunggu"),
        "not_claimed_by_you": (
            409,
            "The visit is not claimed by you",
            "Kunjungan ini tidak diambil oleh Anda",
        ),
        "not_ready": (409, "The passport is not ready for pickup yet", "Paspor belum siap diambil"),
        "already_collected": (409, "The passport was already handed over", "Paspor sudah diserahkan"),
        "identity_not_checked": (
            422,
            "The identity must be checked before the hand-over",
            "Identitas harus diperiksa sebelum serah terima",
        ),
        "proxy_required": (
            422,
            "A hand-over to a proxy needs the proxy's name, NIK and letter reference",
            "Serah terima kepada kuasa memerlukan nama, NIK dan nomor surat kuasa",
        ),
        "birth_date_required": (
            422,
            "The birth date is needed to check in at a kiosk",
            "Tanggal lahir diperlukan untuk check-in di kios",
        ),
        "invalid_period": (422, "Invalid report period", "Periode laporan tidak valid"),
        "receipt_locked": (
            429,
            "Too many wrong birth dates for this receipt: try again later or ask at the counter",
            "Terlalu banyak tanggal lahir yang salah untuk nomor ini: coba lagi nanti atau tanyakan di loket",
        ),
        "birth_date_in_url": (
            400,
            "A birth date never travels in a URL: use POST /v1/applications/{receipt_number}/lookup",
            "Tanggal lahir tidak boleh dikirim di URL: gunakan POST /v1/applications/{receipt_number}/lookup",
        ),
        "wrong_stage_role": (
            403,
            "Your role does not serve the stage of this ticket",
            "Peran Anda tidak melayani tahap antrean ini",
        ),
        "invalid_approval_position": (
            422,
            "A fingerprint exception names the finger (1-10); other approvals name none",
            "Pengecualian sidik jari menyebut jarinya (1-10); persetujuan lain tidak",
        ),
        "invalid_approval_subject": (
            422,
            "The subject does not fit this approval",
            "Subjek tidak sesuai dengan persetujuan ini",
        ),
    },
    service="queue",
)
