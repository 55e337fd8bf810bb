"""Every problem code the capture service answers with, and the words of each refusal reason."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sambang_runtime.errors import ErrorCatalogue

NAME = "capture"

#: code -> (status, English, Indonesian). The codes are part of the API: never rename one.
ERRORS = ErrorCatalogue(
    {
        "application_not_found": (
            404,
            "This receipt number is not known to capture (yet); if it was just registered, try again shortly",
            "Nomor tanda terima ini belum dikenal oleh layanan perekaman; jika baru terdaftar, coba lagi sebentar",
        ),
        "invalid_finger_position": (
            422,
            "The finger position must be 1 to 10 (ISO/IEC 19794-4 order)",
            "Posisi jari harus 1 sampai 10 (urutan ISO/IEC 19794-4)",
        ),
        "unsupported_media_type": (
            415,
            "Send the image as image/jpeg or image/png",
            "Kirim gambar sebagai image/jpeg atau image/png",
        ),
        "not_an_image": (
            415,
            "The file is not a JPEG or PNG image",
            "Berkas ini bukan gambar JPEG atau PNG",
        ),
        "media_type_mismatch": (
            415,
            "The file's content does not match its declared type",
            "Isi berkas tidak sesuai dengan jenis yang dinyatakan",
        ),
        "image_corrupt": (
            422,
            "The image is damaged or incomplete; take or send it again",
            "Gambar rusak atau tidak lengkap; ambil atau kirim ulang",
        ),
        "too_many_pixels": (
            422,
            "The image has more pixels than allowed",
            "Jumlah piksel gambar melebihi batas",
        ),
        "photo_rejected": (
            422,
            "The photo does not meet the passport photo rules; see reasons",
            "Foto tidak memenuhi ketentuan foto paspor; lihat alasannya",
        ),
        "fingerprint_rejected": (
            422,
            "The fingerprint image is not good enough; see reasons",
            "Kualitas gambar sidik jari tidak memadai; lihat alasannya",
        ),
        "signature_rejected": (
            422,
            "The signature image is not usable; see reasons",
            "Gambar tanda tangan tidak dapat digunakan; lihat alasannya",
        ),
        "no_fingerprints_under_five": (
            422,
            "Children under 5 give no fingerprints",
            "Anak di bawah 5 tahun tidak direkam sidik jarinya",
        ),
        "duplicate_document": (
            422,
            "The same document is listed twice",
            "Dokumen yang sama tercantum dua kali",
        ),
        "interview_already_decided": (
            409,
            "The interview was already decided differently",
            "Wawancara sudah diputuskan dengan hasil lain",
        ),
        "capture_incomplete": (
            409,
            "The capture is not complete; see missing",
            "Perekaman belum lengkap; lihat daftar yang kurang",
        ),
        "capture_already_completed": (
            409,
            "The capture was already completed; it can no longer change",
            "Perekaman sudah diselesaikan; tidak dapat diubah lagi",
        ),
        "capture_not_completed": (
            409,
            "The capture is not completed yet",
            "Perekaman belum diselesaikan",
        ),
        "biometrics_purged": (
            410,
            "The biometric data was deleted after the retention period",
            "Data biometrik sudah dihapus setelah masa retensi",
        ),
    },
    service=NAME,
)

#: Why an image was refused: reason -> (English, Indonesian). Sent beside the codes so that the
#: tablet can show the officer what to fix in either language.
REASONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "too_small": ("The image is too small", "Ukuran gambar terlalu kecil"),
        "no_face": ("No face was found", "Wajah tidak ditemukan"),
        "several_faces": ("More than one face was found", "Terdapat lebih dari satu wajah"),
        "face_too_small": (
            "The face is too small: move closer so the face fills most of the frame",
            "Wajah terlalu kecil: dekatkan kamera agar wajah memenuhi sebagian besar bingkai",
        ),
        "face_too_large": (
            "The face is too large: move back so the whole head is in the frame",
            "Wajah terlalu besar: jauhkan kamera agar seluruh kepala masuk bingkai",
        ),
        "too_dark": ("The face is too dark: add light", "Wajah terlalu gelap: tambahkan cahaya"),
        "too_bright": ("The face is overexposed", "Wajah terlalu terang"),
        "low_contrast": ("The contrast is too low", "Kontras terlalu rendah"),
        "blurred": ("The photo is blurred: hold still and refocus", "Foto buram: tahan kamera dan fokuskan ulang"),
        "not_grayscale": ("A fingerprint must be a grayscale image", "Sidik jari harus berupa gambar skala abu-abu"),
        "low_quality": (
            "The ridge structure is too weak: clean the finger and the scanner, then press again",
            "Struktur guratan terlalu lemah: bersihkan jari dan pemindai, lalu tekan ulang",
        ),
        "blank": ("The signature is blank", "Tanda tangan kosong"),
    }
)


def reasons_of(codes: list[str]) -> list[dict[str, str]]:
    """Refusal reasons with their words in both languages, in the order given."""
    return [{"code": c, "en": REASONS[c][0], "id": REASONS[c][1]} for c in codes]
