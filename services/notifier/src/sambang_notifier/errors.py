"""Every problem code the notifier answers with (codes are API: never rename one)."""

from __future__ import annotations

from sambang_runtime.errors import ErrorCatalogue

NAME = "notifier"

ERRORS = ErrorCatalogue(
    {
        "not_found": (404, "The requested resource was not found", "Data yang diminta tidak ditemukan"),
        "template_not_found": (
            404,
            "There is no template of this name and language",
            "Tidak ada templat dengan nama dan bahasa ini",
        ),
        "template_invalid": (
            422,
            "The template does not compile or does not render with its variables",
            "Templat tidak dapat dikompilasi atau tidak dapat ditampilkan dengan variabelnya",
        ),
        "stream_ticket_invalid": (
            401,
            "The stream ticket is not valid for this stream",
            "Tiket aliran tidak berlaku untuk aliran ini",
        ),
        "stream_ticket_expired": (
            401,
            "The stream ticket has expired; ask for a new one",
            "Tiket aliran sudah kedaluwarsa; mintalah tiket baru",
        ),
        "stream_ticket_used": (
            401,
            "The stream ticket was used already: a ticket opens a stream once; ask for a new one",
            "Tiket aliran sudah dipakai: satu tiket membuka aliran sekali; mintalah tiket baru",
        ),
    },
    service=NAME,
)
