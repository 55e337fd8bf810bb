"""Image formats from their bytes: the type by magic bytes, the size from the header, no decoding.

The header is read before anything is decoded, so a 20000 x 20000 image (a decompression bomb:
a few kilobytes that would decode to gigabytes) is refused for what it claims to be. The parser
also walks the whole file's structure, so a truncated upload is refused rather than decoded with
grey where the missing part was (libjpeg only warns about a premature end).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import StrEnum

from sambang_runtime.errors import DomainError

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# SOF markers carry the frame size: C0-CF except DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})
_SOS, _EOI = 0xDA, 0xD9
# PNG colour type -> channels; 0 and 4 are grey (4 with alpha).
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}


class ImageFormat(StrEnum):
    """The image formats accepted, by media type."""

    JPEG = "image/jpeg"
    PNG = "image/png"


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What an image says about itself before it is decoded."""

    format: ImageFormat
    width: int
    height: int
    channels: int
    grayscale: bool

    @property
    def pixels(self) -> int:
        """Width times height."""
        return self.width * self.height


def sniff(data: bytes) -> ImageFormat | None:
    """The format the bytes are in, by their magic number; None for anything else."""
    if data.startswith(_PNG_MAGIC):
        return ImageFormat.PNG
    if data.startswith(_JPEG_MAGIC):
        return ImageFormat.JPEG
    return None


def declared_format(content_type: str | None) -> ImageFormat:
    """The format a Content-Type declares, else ``unsupported_media_type``."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    try:
        return ImageFormat(media)
    except ValueError:
        raise DomainError("unsupported_media_type", accepted=[f.value for f in ImageFormat]) from None


def checked_format(content_type: str | None, data: bytes) -> ImageFormat:
    """The format of an upload: declared as JPEG or PNG, and really that (415 otherwise)."""
    declared = declared_format(content_type)
    actual = sniff(data)
    if actual is None:
        raise DomainError("not_an_image", declared=declared.value)
    if actual is not declared:
        raise DomainError("media_type_mismatch", declared=declared.value, detected=actual.value)
    return actual


def read_header(data: bytes, fmt: ImageFormat) -> ImageHeader:
    """The size and channels of a complete image file, else ``image_corrupt``."""
    header = _png_header(data) if fmt is ImageFormat.PNG else _jpeg_header(data)
    if header.width <= 0 or header.height <= 0:
        raise DomainError("image_corrupt", detail="zero_size")
    return header


def check_pixels(header: ImageHeader, *, max_pixels: int, max_side: int) -> None:
    """Refuse an image larger than the limits (before it is decoded)."""
    if header.pixels > max_pixels or max(header.width, header.height) > max_side:
        raise DomainError(
            "too_many_pixels",
            width=header.width,
            height=header.height,
            max_pixels=max_pixels,
            max_side=max_side,
        )


def _corrupt(detail: str) -> DomainError:
    return DomainError("image_corrupt", detail=detail)


def _png_header(data: bytes) -> ImageHeader:
    pos = len(_PNG_MAGIC)
    width = height = channels = -1
    grayscale = False
    first = True
    while True:
        if pos + 12 > len(data):
            raise _corrupt("truncated")
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise _corrupt("truncated")
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        if zlib.crc32(kind + body) != crc:
            raise _corrupt("checksum")
        if first:
            if kind != b"IHDR" or length != 13:
                raise _corrupt("no_header")
            width, height = struct.unpack_from(">II", body, 0)
            colour_type = body[9]
            if colour_type not in _PNG_CHANNELS:
                raise _corrupt("colour_type")
            channels = _PNG_CHANNELS[colour_type]
            grayscale = colour_type in (0, 4)
            first = False
        if kind == b"IEND":
            return ImageHeader(ImageFormat.PNG, width, height, channels, grayscale)
        pos = end


def _jpeg_header(data: bytes) -> ImageHeader:
    pos = 2
    frame: tuple[int, int, int] | None = None
    size = len(data)
    while True:
        if pos >= size or data[pos] != 0xFF:
            raise _corrupt("truncated" if pos >= size else "marker")
        while pos < size and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            raise _corrupt("truncated")
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE_MARKERS:
            continue
        if marker == _EOI:
            raise _corrupt("no_image_data")
        if pos + 2 > size:
            raise _corrupt("truncated")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > size:
            raise _corrupt("truncated")
        if marker in _SOF_MARKERS:
            if length < 8:
                raise _corrupt("frame_header")
            height, width = struct.unpack_from(">HH", data, pos + 3)
            frame = (width, height, data[pos + 7])
        if marker == _SOS:
            break
        pos += length
    if frame is None:
        raise _corrupt("no_frame_header")
    # Entropy-coded data never holds FF D9 (an FF there is stuffed with 00), so an end-of-image
    # marker after the scan header means the file arrived whole; cameras may append trailers.
    if data.rfind(b"\xff\xd9", pos) < 0:
        raise _corrupt("truncated")
    width, height, components = frame
    return ImageHeader(ImageFormat.JPEG, width, height, components, components == 1)
