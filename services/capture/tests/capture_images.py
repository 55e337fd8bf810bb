"""Real test images, built in code: photographs from scikit-image and synthetic fingerprints.

``skimage.data.astronaut()`` (Eileen Collins, 512 x 512) has one face; a portrait crop of it where
the face fills about half the frame's height passes the passport photo rules, two crops side by
side hold two faces, and ``coffee()`` holds none. Fingerprints are sinusoidal ridges following a
curving orientation field, inside a finger-shaped mask, with sensor noise.
"""

from __future__ import annotations

import io
import zlib
from functools import cache

import cv2
import numpy as np
from numpy.typing import NDArray
from skimage import data

Image = NDArray[np.uint8]

#: The face box of astronaut() (x, y, w, h), as the Haar cascade finds it on the full image.
_ASTRONAUT_FACE = (177, 66, 94, 94)


@cache
def _astronaut() -> Image:
    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])  # RGB -> BGR, as OpenCV holds images


def portrait(face_fraction: float = 0.47, upscale: float = 2.5) -> Image:
    """A passport-style crop (35:45) of astronaut() where the face box fills ``face_fraction`` of the height."""
    x, y, w, h = _ASTRONAUT_FACE
    height = round(h / face_fraction)
    width = round(height * 35 / 45)
    cx, cy = x + w // 2, y + h // 2 + 8
    top, left = max(0, cy - height // 2), max(0, cx - width // 2)
    crop = _astronaut()[top : top + height, left : left + width]
    return np.ascontiguousarray(cv2.resize(crop, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC))


def holiday_snapshot() -> Image:
    """The whole astronaut() picture: one face, but small in the frame (upper body, flag, shuttle)."""
    return cv2.resize(_astronaut(), (600, 600), interpolation=cv2.INTER_CUBIC)


def two_faces() -> Image:
    """Two portrait crops side by side."""
    p = portrait()
    return np.ascontiguousarray(np.hstack([p, p]))


def no_face() -> Image:
    """coffee(): a cup of coffee, 600 x 400, no face."""
    return np.ascontiguousarray(data.coffee()[:, :, ::-1])


def darkened(image: Image, factor: float = 0.3) -> Image:
    """The image with its light cut to ``factor``."""
    return (image.astype(np.float32) * factor).astype(np.uint8)


def blurred(image: Image, sigma: float = 3.0) -> Image:
    """The image out of focus (Gaussian blur)."""
    return np.asarray(cv2.GaussianBlur(image, (0, 0), sigma), dtype=np.uint8)


def jpeg(image: Image, quality: int = 92) -> bytes:
    """JPEG bytes of an image."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def png(image: Image) -> bytes:
    """PNG bytes of an image."""
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


#: Text that must not survive into the stored photo.
EXIF_MARKER = "SAMBANG-EXIF-GPS-7.7 112.1"


def jpeg_with_exif(image: Image) -> bytes:
    """JPEG bytes carrying EXIF (camera, a GPS-like comment) written by Pillow."""
    from PIL import Image as PILImage

    pil = PILImage.fromarray(image[:, :, ::-1])
    exif = PILImage.Exif()
    exif[0x010F] = "SambangTestCam"  # Make
    exif[0x010E] = EXIF_MARKER  # ImageDescription
    out = io.BytesIO()
    pil.save(out, format="JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


# -- fingerprints -----------------------------------------------------------------------------------


def fingerprint(seed: int = 1, width: int = 320, height: int = 400, period: float = 9.0, noise: float = 12.0) -> Image:
    """A synthetic fingerprint: ridges every ``period`` px (500 ppi) curving round a core, loop-like."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cx = width * 0.5 + rng.uniform(-20, 20)
    cy = height * 0.42 + rng.uniform(-20, 20)
    # Distance to the core, stretched and bent: the ridges close round the core and sweep down
    # to one side like a loop; the orientation field curves everywhere.
    bend = 18.0 * np.tanh((yy - cy) / 60.0) * np.sin((xx - cx) / 55.0 + rng.uniform(0, 1))
    phase = np.sqrt((xx - cx) ** 2 + (1.35 * (yy - cy)) ** 2) + bend
    ridges = 0.5 + 0.5 * np.cos(2 * np.pi * phase / period)
    finger = ((xx - width / 2) / (width * 0.42)) ** 2 + ((yy - height * 0.52) / (height * 0.46)) ** 2 <= 1
    img = 255.0 - finger * ridges * 190.0 + rng.normal(0, noise, (height, width))
    return np.clip(img, 0, 255).astype(np.uint8)


def noise_image(seed: int = 3, width: int = 320, height: int = 400) -> Image:
    """Uniform noise, 8-bit grey."""
    return np.random.default_rng(seed).integers(0, 256, (height, width), dtype=np.uint8)


def blank_page(width: int = 320, height: int = 400) -> Image:
    """A blank scanner page: near-white with a little sensor noise."""
    rng = np.random.default_rng(5)
    return np.clip(rng.normal(245, 2, (height, width)), 0, 255).astype(np.uint8)


# -- signature and oddities ---------------------------------------------------------------------------


def signature() -> Image:
    """A hand-like stroke in black ink on white, 400 x 150."""
    img = np.full((150, 400), 255, np.uint8)
    t = np.linspace(0, 1, 200)
    xs = 30 + 340 * t
    ys = 75 + 35 * np.sin(t * 14) * np.exp(-t)
    pts = np.stack([xs, ys], axis=1).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(img, [pts], False, 0, 3, cv2.LINE_AA)
    return img


def bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A real, complete PNG of width x height grey pixels: a few hundred kilobytes, 400 MP decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    compressor = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0 and black pixels
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


# -- cached encodings the suites use again and again ---------------------------------------------------


@cache
def portrait_jpeg() -> bytes:
    """The passing portrait as JPEG."""
    return jpeg(portrait())


@cache
def fingerprint_png(seed: int = 1) -> bytes:
    """A good synthetic fingerprint as grayscale PNG (one seed per finger)."""
    return png(fingerprint(seed))


@cache
def signature_png() -> bytes:
    """The signature as grayscale PNG."""
    return png(signature())


@cache
def bomb() -> bytes:
    """The 20000 x 20000 PNG, built once per run."""
    return bomb_png()
