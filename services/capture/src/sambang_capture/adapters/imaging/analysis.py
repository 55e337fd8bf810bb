"""Decode, measure and re-encode images with OpenCV (CPU-bound: callers run these on a thread).

Every stored image is the re-encoding of what was decoded: EXIF, GPS, maker notes, thumbnails and
anything appended to the file are left behind, and OpenCV applies the EXIF orientation first so
the stored photo stands upright. Measurements are made on a copy scaled to a fixed working size,
so the same face gives the same figures from a 0.3 MP or a 30 MP camera.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from sambang_runtime.errors import DomainError

from ...domain.quality import FingerprintMeasures, PhotoMeasures, SignatureMeasures
from .formats import ImageFormat, ImageHeader

Gray = NDArray[np.uint8]

#: Faces are looked for on the photo scaled to this height (Haar cascades work at 24 px and up).
WORK_HEIGHT = 320
#: Smallest face counted: 15 % of the working height. Smaller "faces" in a passport photo are
#: background clutter or false positives, and the face-size rule refuses small faces anyway.
MIN_FACE_FRACTION = 0.15
HAAR_SCALE_FACTOR = 1.15
#: Neighbours a detection needs: 6 keeps the false positives of full scenes away (measured on
#: skimage's astronaut: 5 finds a second "face" in the flag, 6 does not).
HAAR_MIN_NEIGHBORS = 6
#: The face is scaled to this square and to a fixed contrast before the Laplacian is taken, so
#: sharpness depends neither on the camera's resolution nor on the light (light has its own check).
SHARPNESS_SIDE = 128
SHARPNESS_STD = 50.0
#: Fingerprint blocks: 16 px at 500 ppi hold one to two ridge periods.
RIDGE_BLOCK = 16
#: A block holds ridges when its grey levels vary this much (a blank page or a flat scanner does not).
RIDGE_BLOCK_MIN_STD = 12.0
#: Dark pixels of a signature (on a white background).
INK_LEVEL = 128

_CASCADE_FILE = "haarcascade_frontalface_default.xml"
_local = threading.local()


@dataclass(frozen=True, slots=True)
class Sanitised:
    """The image as it is stored: re-encoded without metadata."""

    content: bytes
    media_type: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class PhotoAnalysis:
    """A photo's measures and its sanitised bytes."""

    measures: PhotoMeasures
    image: Sanitised


@dataclass(frozen=True, slots=True)
class FingerprintAnalysis:
    """A fingerprint's measures and its sanitised bytes (lossless grayscale PNG)."""

    measures: FingerprintMeasures
    image: Sanitised


@dataclass(frozen=True, slots=True)
class SignatureAnalysis:
    """A signature's measures and its sanitised bytes (grayscale PNG)."""

    measures: SignatureMeasures
    image: Sanitised


def _face_detector() -> Any:
    # CascadeClassifier is not safe to share between threads: one per worker thread.
    detector = getattr(_local, "detector", None)
    if detector is None:
        detector = cv2.CascadeClassifier(cv2.data.haarcascades + _CASCADE_FILE)  # type: ignore[attr-defined]
        if detector.empty():
            raise RuntimeError(f"OpenCV's {_CASCADE_FILE} could not be loaded")
        _local.detector = detector
    return detector


def _decode(data: bytes, flags: int) -> NDArray[np.uint8]:
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    if image is None or image.size == 0:
        raise DomainError("image_corrupt", detail="undecodable")
    if image.dtype == np.uint16:  # 16-bit PNGs (only IMREAD_UNCHANGED keeps the depth)
        return np.asarray(np.right_shift(np.asarray(image, dtype=np.uint16), 8), dtype=np.uint8)
    return np.asarray(image, dtype=np.uint8)


def _encode(image: NDArray[np.uint8], fmt: ImageFormat, jpeg_quality: int) -> Sanitised:
    if fmt is ImageFormat.JPEG:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    else:
        # Level 1: sensor noise barely compresses, so level 6 cost half again the time for 2 % fewer
        # bytes (bench/capture.py, a 320 x 400 fingerprint: 7.1 ms against 4.8 ms).
        ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise DomainError("image_corrupt", detail="unencodable")
    return Sanitised(buf.tobytes(), fmt.value, int(image.shape[1]), int(image.shape[0]))


def _to_work_height(gray: Gray, height: int = WORK_HEIGHT) -> tuple[Gray, float]:
    scale = height / gray.shape[0]
    width = max(1, round(gray.shape[1] * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(gray, (width, height), interpolation=interpolation), dtype=np.uint8), scale


def detect_faces(work: Gray) -> list[tuple[int, int, int, int]]:
    """Face boxes (x, y, w, h) on a working-size grayscale image."""
    side = max(24, int(MIN_FACE_FRACTION * work.shape[0]))
    found = _face_detector().detectMultiScale(
        cv2.equalizeHist(work),
        scaleFactor=HAAR_SCALE_FACTOR,
        minNeighbors=HAAR_MIN_NEIGHBORS,
        minSize=(side, side),
    )
    return [tuple(int(v) for v in box) for box in found]  # type: ignore[misc]


def sharpness(region: Gray) -> float:
    """Variance of the Laplacian of a region scaled to a fixed size and contrast."""
    patch = cv2.resize(region, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    std = float(patch.std())
    if std < 1.0:
        return 0.0
    patch = (patch - float(patch.mean())) * (SHARPNESS_STD / std)
    return float(cv2.Laplacian(patch, cv2.CV_32F).var())


def measure_photo(image: NDArray[np.uint8]) -> PhotoMeasures:
    """Faces, light, contrast and focus of a decoded BGR photo."""
    gray = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    work, _ = _to_work_height(gray)
    faces = detect_faces(work)
    if faces:
        x, y, w, h = max(faces, key=lambda b: b[2] * b[3])
        region = work[y : y + h, x : x + w]
        ratio: float | None = h / work.shape[0]
    else:  # no face: judge the light of the centre, where the face should have been
        hh, ww = work.shape[0] // 4, work.shape[1] // 4
        region = work[hh : work.shape[0] - hh, ww : work.shape[1] - ww]
        ratio = None
    return PhotoMeasures(
        width=int(image.shape[1]),
        height=int(image.shape[0]),
        face_count=len(faces),
        face_ratio=ratio,
        brightness=float(region.mean()),
        contrast=float(region.std()),
        sharpness=sharpness(region),
    )


def analyse_photo(data: bytes, header: ImageHeader, *, jpeg_quality: int) -> PhotoAnalysis:
    """Decode a photo (EXIF orientation applied), measure it and re-encode it without metadata."""
    image = _decode(data, cv2.IMREAD_COLOR)
    return PhotoAnalysis(measure_photo(image), _encode(image, header.format, jpeg_quality))


def ridge_structure(gray: Gray) -> tuple[float, float]:
    """Mean orientation coherence of the ridge blocks, and the share of blocks holding ridges.

    Per 16 px block, the structure tensor of the gradients (Gxx, Gyy, Gxy) gives the coherence
    sqrt((Gxx - Gyy)^2 + 4 Gxy^2) / (Gxx + Gyy): 1 where parallel ridges run one way, near 0
    for noise or a blank page.
    """
    smooth = np.asarray(cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.0), dtype=np.float32)
    gx = np.asarray(cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3), dtype=np.float32)
    gy = np.asarray(cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3), dtype=np.float32)
    rows, cols = gray.shape[0] // RIDGE_BLOCK, gray.shape[1] // RIDGE_BLOCK
    if rows == 0 or cols == 0:
        return 0.0, 0.0
    h, w = rows * RIDGE_BLOCK, cols * RIDGE_BLOCK

    def blocks(a: NDArray[np.float32]) -> NDArray[np.float32]:
        return a[:h, :w].reshape(rows, RIDGE_BLOCK, cols, RIDGE_BLOCK)

    gxx = blocks(gx * gx).sum(axis=(1, 3))
    gyy = blocks(gy * gy).sum(axis=(1, 3))
    gxy = blocks(gx * gy).sum(axis=(1, 3))
    coherence = np.sqrt((gxx - gyy) ** 2 + 4 * gxy**2) / (gxx + gyy + 1e-6)
    ridged = blocks(smooth).std(axis=(1, 3)) > RIDGE_BLOCK_MIN_STD
    if not ridged.any():
        return 0.0, 0.0
    return float(coherence[ridged].mean()), float(ridged.mean())


def analyse_fingerprint(data: bytes, header: ImageHeader) -> FingerprintAnalysis:
    """Decode a fingerprint as grayscale, measure its ridges and store it as a lossless PNG."""
    gray = _decode(data, cv2.IMREAD_GRAYSCALE)
    coherence, foreground = ridge_structure(gray)
    measures = FingerprintMeasures(
        width=int(gray.shape[1]),
        height=int(gray.shape[0]),
        grayscale=header.grayscale,
        coherence=coherence,
        foreground=foreground,
    )
    return FingerprintAnalysis(measures, _encode(gray, ImageFormat.PNG, 100))


def _on_white(image: NDArray[np.uint8]) -> Gray:
    # Signature pads send strokes on a transparent background: lay them on white paper.
    if image.ndim == 2:
        return image
    channels = image.shape[2]
    if channels in (2, 4):
        alpha = image[:, :, -1:].astype(np.float32) / 255.0
        colour = image[:, :, :1] if channels == 2 else image[:, :, :3]
        image = (colour.astype(np.float32) * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
        if channels == 2:
            return np.asarray(image[:, :, 0], dtype=np.uint8)
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def analyse_signature(data: bytes, header: ImageHeader) -> SignatureAnalysis:
    """Decode a signature onto white, measure its ink and store it as a grayscale PNG."""
    gray = _on_white(_decode(data, cv2.IMREAD_UNCHANGED))
    ink = float((gray < INK_LEVEL).mean())
    measures = SignatureMeasures(width=int(gray.shape[1]), height=int(gray.shape[0]), ink=ink)
    return SignatureAnalysis(measures, _encode(gray, ImageFormat.PNG, 100))
