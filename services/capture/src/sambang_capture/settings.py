"""Settings of the capture service itself (the runtime's are in RuntimeSettings)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sambang_contracts.values import BIOMETRIC_RETENTION_MAX_DAYS

MIB = 1024 * 1024


class CaptureSettings(BaseSettings):
    """Knobs of the capture service, each settable as ``SAMBANG_CAPTURE_<FIELD>``.

    The office rules (fingerprint threshold, retention days) come from ``queue.office.updated``;
    the values here are only what applies to an office that has published none yet.
    """

    model_config = SettingsConfigDict(env_prefix="SAMBANG_CAPTURE_", extra="ignore")

    # -- uploads ----------------------------------------------------------------------------------
    #: API.md: at most 5 MiB per image.
    max_upload_bytes: int = Field(default=5 * MIB, ge=1024)
    #: Read from the image header before any decoding (decompression bombs): 30 MP is a 36 MP
    #: camera's photo cropped, and 90 MB decoded; no tablet sends more.
    max_pixels: int = Field(default=30_000_000, ge=10_000)
    max_side: int = Field(default=12_000, ge=100)
    #: Image analyses (decode, detect, re-encode) running at once in this process: CPU-bound work on
    #: threads, bounded so that a rush of uploads cannot hold hundreds of decoded images in memory.
    analysis_concurrency: int = Field(default=2, ge=1, le=64)
    jpeg_quality: int = Field(default=95, ge=50, le=100)

    # -- photo (ICAO 9303 part 3 portrait, measured on a Haar face box) -----------------------------
    photo_min_width: int = Field(default=300, ge=1)
    photo_min_height: int = Field(default=400, ge=1)
    #: Height of the detected face box over the image height. ICAO: the head (crown to chin) is
    #: 70-80 % of the photo; the Haar box (brows to chin) is about two thirds of the head, so ~0.5.
    photo_face_min_ratio: float = Field(default=0.40, gt=0, lt=1)
    photo_face_max_ratio: float = Field(default=0.80, gt=0, le=1)
    #: Mean luminance (0-255) of the face.
    photo_brightness_min: float = Field(default=60.0, ge=0, le=255)
    photo_brightness_max: float = Field(default=220.0, ge=0, le=255)
    #: Standard deviation of the face's luminance (RMS contrast).
    photo_contrast_min: float = Field(default=25.0, ge=0)
    #: Variance of the Laplacian of the face scaled to 128x128 at a fixed contrast.
    photo_sharpness_min: float = Field(default=60.0, ge=0)

    # -- fingerprints and signature ----------------------------------------------------------------
    #: 500 ppi: a plain impression of one finger is about 0.5 x 0.65 inch.
    fingerprint_min_width: int = Field(default=256, ge=16)
    fingerprint_min_height: int = Field(default=256, ge=16)
    fingerprint_default_threshold: int = Field(default=40, ge=0, le=100)
    signature_min_width: int = Field(default=120, ge=1)
    signature_min_height: int = Field(default=40, ge=1)
    #: Share of dark pixels below which a signature image counts as blank.
    signature_min_ink: float = Field(default=0.002, ge=0, le=1)

    # -- retention, time ------------------------------------------------------------------------------
    #: Days biometrics are kept after a final outcome where the office published no rule of its own.
    biometric_retention_days_default: int = Field(default=30, ge=0, le=BIOMETRIC_RETENTION_MAX_DAYS)
    purge_interval_seconds: float = Field(default=300.0, gt=0)
    purge_batch: int = Field(default=200, ge=1)
    #: Rows ``make rotate-data-key`` rewrites per transaction.
    rotation_batch: int = Field(default=200, ge=1, le=10_000)
    #: The zone ages are counted in when the office has not published its own.
    default_timezone: str = "Asia/Jakarta"
