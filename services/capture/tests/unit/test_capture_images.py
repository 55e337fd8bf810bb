"""Image formats and measurements on real images (no network): magic bytes, headers, bombs,
Haar faces on skimage photographs, ridge coherence on synthetic fingerprints, EXIF stripping."""

from __future__ import annotations

import io
import time

import capture_images as img
import cv2
import numpy as np
import pytest
from sambang_capture.adapters.imaging.analysis import analyse_fingerprint, analyse_photo, measure_photo, ridge_structure
from sambang_capture.adapters.imaging.formats import ImageFormat, check_pixels, checked_format, read_header, sniff
from sambang_capture.domain.quality import (
    FingerprintRules,
    PhotoRules,
    fingerprint_score,
    judge_fingerprint,
    judge_photo,
)
from sambang_runtime.errors import DomainError


def _code(call: object) -> str:
    with pytest.raises(DomainError) as err:
        call()  # type: ignore[operator]
    return err.value.code


# -- formats: decided by the bytes, before any decoding ---------------------------------------------------


def test_the_format_is_read_from_the_magic_bytes() -> None:
    assert sniff(img.portrait_jpeg()) is ImageFormat.JPEG
    assert sniff(img.png(img.portrait())) is ImageFormat.PNG
    assert sniff(b"Hello, this is photo.jpg") is None


def test_a_png_declared_as_jpeg_and_a_jpeg_declared_as_png_are_refused() -> None:
    assert _code(lambda: checked_format("image/jpeg", img.png(img.portrait()))) == "media_type_mismatch"
    assert _code(lambda: checked_format("image/png", img.portrait_jpeg())) == "media_type_mismatch"


def test_a_text_file_named_photo_jpg_is_not_an_image() -> None:
    assert _code(lambda: checked_format("image/jpeg", b"this is not a photo\n" * 10)) == "not_an_image"


def test_other_declared_types_are_unsupported() -> None:
    for declared in ("image/gif", "application/octet-stream", None, "text/plain"):
        assert _code(lambda d=declared: checked_format(d, img.portrait_jpeg())) == "unsupported_media_type"
    assert checked_format("IMAGE/JPEG; charset=binary", img.portrait_jpeg()) is ImageFormat.JPEG


def test_the_header_gives_size_and_channels() -> None:
    photo = read_header(img.portrait_jpeg(), ImageFormat.JPEG)
    assert (photo.width, photo.height, photo.channels, photo.grayscale) == (390, 500, 3, False)
    finger = read_header(img.fingerprint_png(1), ImageFormat.PNG)
    assert (finger.width, finger.height, finger.channels, finger.grayscale) == (320, 400, 1, True)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_a_truncated_jpeg_is_corrupt(keep: float) -> None:
    data = img.portrait_jpeg()
    assert _code(lambda: read_header(data[: int(len(data) * keep)], ImageFormat.JPEG)) == "image_corrupt"


def test_a_truncated_or_altered_png_is_corrupt() -> None:
    data = img.png(img.portrait())
    assert _code(lambda: read_header(data[: len(data) // 2], ImageFormat.PNG)) == "image_corrupt"
    altered = bytearray(data)
    altered[len(data) // 2] ^= 0xFF
    assert _code(lambda: read_header(bytes(altered), ImageFormat.PNG)) == "image_corrupt"


def test_a_20000_pixel_square_is_refused_from_its_header_without_decoding() -> None:
    bomb = img.bomb()
    assert len(bomb) < 1024 * 1024  # small on the wire, 400 MP once decoded
    start = time.perf_counter()
    header = read_header(bomb, ImageFormat.PNG)
    code = _code(lambda: check_pixels(header, max_pixels=30_000_000, max_side=12_000))
    assert code == "too_many_pixels"
    assert (header.width, header.height) == (20000, 20000)
    assert time.perf_counter() - start < 0.5  # a decode would take seconds and 400 MB


# -- photos: Haar faces and the rules, on skimage photographs ------------------------------------------------


def _reasons(image: np.ndarray) -> list[str]:
    return judge_photo(measure_photo(image), PhotoRules()).reasons


def test_a_portrait_crop_of_astronaut_passes_every_photo_check() -> None:
    measures = measure_photo(img.portrait())
    assert measures.face_count == 1
    assert 0.40 <= (measures.face_ratio or 0) <= 0.8
    assert judge_photo(measures, PhotoRules()).passed


def test_two_portraits_side_by_side_have_two_faces() -> None:
    assert measure_photo(img.two_faces()).face_count == 2
    assert _reasons(img.two_faces()) == ["several_faces"]


def test_coffee_has_no_face() -> None:
    assert measure_photo(img.no_face()).face_count == 0
    assert _reasons(img.no_face()) == ["no_face"]


def test_a_holiday_snapshot_has_one_face_but_too_small_for_a_passport() -> None:
    measures = measure_photo(img.holiday_snapshot())
    assert measures.face_count == 1
    assert _reasons(img.holiday_snapshot()) == ["face_too_small"]


def test_a_darkened_portrait_is_too_dark() -> None:
    assert "too_dark" in _reasons(img.darkened(img.portrait()))


def test_a_blurred_portrait_is_blurred_and_only_that() -> None:
    assert _reasons(img.blurred(img.portrait())) == ["blurred"]


def test_the_stored_photo_is_a_re_encoding_without_exif_and_upright() -> None:
    from PIL import Image as PILImage

    portrait = img.portrait()
    pil = PILImage.fromarray(portrait[:, :, ::-1])
    exif = PILImage.Exif()
    exif[0x0112] = 6  # Orientation: the camera was turned, display rotated 90 degrees clockwise
    exif[0x010E] = img.EXIF_MARKER
    out = io.BytesIO()
    pil.transpose(PILImage.Transpose.ROTATE_90).save(out, format="JPEG", quality=92, exif=exif.tobytes())
    data = out.getvalue()
    assert img.EXIF_MARKER.encode() in data
    header = read_header(data, ImageFormat.JPEG)
    assert (header.width, header.height) == (500, 390)  # as the sensor saw it, lying on its side

    analysis = analyse_photo(data, header, jpeg_quality=95)
    stored = analysis.image.content
    assert img.EXIF_MARKER.encode() not in stored and b"Exif" not in stored
    assert (analysis.image.width, analysis.image.height) == (390, 500)  # upright again
    assert analysis.measures.face_count == 1


# -- fingerprints: ridge coherence ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(1, 11))
def test_synthetic_ridge_patterns_score_well_above_the_threshold(seed: int) -> None:
    coherence, foreground = ridge_structure(img.fingerprint(seed))
    assert fingerprint_score(coherence, foreground) >= 80


def test_uniform_noise_and_a_blank_page_score_below_the_threshold() -> None:
    noise = fingerprint_score(*ridge_structure(img.noise_image()))
    blank = fingerprint_score(*ridge_structure(img.blank_page()))
    assert noise < 25
    assert blank == 0.0


def test_a_smudged_print_loses_its_ridges() -> None:
    assert fingerprint_score(*ridge_structure(img.blurred(img.fingerprint(1), 4))) < 40


def test_a_colour_fingerprint_image_is_refused_as_not_grayscale() -> None:
    data = img.png(cv2.cvtColor(img.fingerprint(1), cv2.COLOR_GRAY2BGR))
    analysis = analyse_fingerprint(data, read_header(data, ImageFormat.PNG))
    verdict = judge_fingerprint(analysis.measures, FingerprintRules())
    assert verdict.reasons == ["not_grayscale"]


def test_a_stored_fingerprint_is_a_lossless_grayscale_png() -> None:
    data = img.jpeg(img.fingerprint(2))
    analysis = analyse_fingerprint(data, read_header(data, ImageFormat.JPEG))
    assert analysis.image.media_type == "image/png"
    decoded = cv2.imdecode(np.frombuffer(analysis.image.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.ndim == 2
    assert np.array_equal(decoded, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE))
