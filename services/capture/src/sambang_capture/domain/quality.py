"""Quality rules of photos, fingerprints and signatures: measures in, a verdict with every check out.

Pure: the measuring (decoding, face detection, ridge coherence) is in ``adapters.imaging``; here the
thresholds decide, so each rule is tested without an image.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Check:
    """One measured property against its limits; ``reason`` names what to fix when it failed."""

    name: str
    passed: bool
    value: float
    minimum: float | None = None
    maximum: float | None = None
    reason: str | None = None
    #: 0-1: how well the property meets the rule (below 0.5 failed, 1 comfortably); the weakest is the score.
    grade: float = 1.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """Every check of one image and a 0-100 score; accepted only when every check passed."""

    score: float
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        """The refusal reasons of the failed checks, each once, in check order."""
        return list(dict.fromkeys(c.reason for c in self.checks if not c.passed and c.reason))


def _at_least(name: str, value: float, minimum: float, reason: str, *, comfort: float = 1.0) -> Check:
    # Grades: a failed check below 0.5, a passed one from 0.5 at the minimum up to 1 at `comfort`
    # times the minimum; so the score (the weakest grade) is under 50 exactly when a check failed.
    if minimum <= 0:
        return Check(name, True, round(value, 4), minimum=minimum, reason=reason)
    if value < minimum:
        return Check(
            name, False, round(value, 4), minimum=minimum, reason=reason, grade=max(0.0, 0.5 * value / minimum)
        )
    headroom = 1.0 if comfort <= 1 else min(1.0, (value - minimum) / (minimum * (comfort - 1)))
    return Check(name, True, round(value, 4), minimum=minimum, reason=reason, grade=0.5 + 0.5 * headroom)


def _within(name: str, value: float, low: float, high: float, below: str, above: str) -> Check:
    if value < low:
        grade = max(0.0, 0.5 * value / low) if low > 0 else 0.0
        return Check(name, False, round(value, 4), low, high, below, grade=grade)
    if value > high:
        grade = max(0.0, 0.5 * high / value) if value > 0 else 0.0
        return Check(name, False, round(value, 4), low, high, above, grade=grade)
    return Check(name, True, round(value, 4), low, high)


def _verdict(checks: list[Check]) -> Verdict:
    # An image is as good as its weakest property: a sharp photo of two faces is not a good photo.
    score = 100.0 * min((c.grade for c in checks), default=0.0)
    return Verdict(round(score, 1), tuple(checks))


# -- photo ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PhotoRules:
    """Passport photo limits (ICAO 9303 part 3 portrait, as far as a Haar face box can tell)."""

    min_width: int = 300
    min_height: int = 400
    face_min_ratio: float = 0.40
    face_max_ratio: float = 0.80
    brightness_min: float = 60.0
    brightness_max: float = 220.0
    contrast_min: float = 25.0
    sharpness_min: float = 60.0


@dataclass(frozen=True, slots=True)
class PhotoMeasures:
    """What was measured on a photo; the face values are of the largest face, else of the centre."""

    width: int
    height: int
    face_count: int
    #: Height of the largest face box over the image height; None without a face.
    face_ratio: float | None
    brightness: float
    contrast: float
    sharpness: float


def judge_photo(m: PhotoMeasures, rules: PhotoRules) -> Verdict:
    """Every check of a passport photo: size, exactly one face, face size, light, contrast, focus."""
    checks = [
        _at_least("width", m.width, rules.min_width, "too_small"),
        _at_least("height", m.height, rules.min_height, "too_small"),
    ]
    if m.face_count == 1:
        checks.append(Check("face_count", True, 1, 1, 1))
    else:
        reason = "no_face" if m.face_count == 0 else "several_faces"
        checks.append(Check("face_count", False, m.face_count, 1, 1, reason, grade=0.0))
    if m.face_ratio is not None:
        checks.append(
            _within(
                "face_size",
                m.face_ratio,
                rules.face_min_ratio,
                rules.face_max_ratio,
                "face_too_small",
                "face_too_large",
            )
        )
    checks.append(
        _within("brightness", m.brightness, rules.brightness_min, rules.brightness_max, "too_dark", "too_bright")
    )
    checks.append(_at_least("contrast", m.contrast, rules.contrast_min, "low_contrast", comfort=1.6))
    checks.append(_at_least("sharpness", m.sharpness, rules.sharpness_min, "blurred", comfort=2.0))
    return _verdict(checks)


# -- fingerprint ---------------------------------------------------------------------------------

#: Share of the image the finger must cover for its ridge quality to count in full.
FINGER_AREA_FOR_FULL_SCORE = 0.4


@dataclass(frozen=True, slots=True)
class FingerprintRules:
    """Fingerprint limits; the quality threshold is the office's (40 by default, as MOSIP uses)."""

    min_width: int = 256
    min_height: int = 256
    threshold: int = 40


@dataclass(frozen=True, slots=True)
class FingerprintMeasures:
    """Ridge structure of a fingerprint image, measured block by block."""

    width: int
    height: int
    grayscale: bool
    #: Mean orientation coherence (0-1) of the blocks that hold ridges.
    coherence: float
    #: Share of blocks that hold ridges (the finger's area).
    foreground: float


def fingerprint_score(coherence: float, foreground: float) -> float:
    """0-100: clear ridges (coherent orientation) over enough of the image."""
    area = min(1.0, foreground / FINGER_AREA_FOR_FULL_SCORE)
    return round(100.0 * max(0.0, min(1.0, coherence)) * area, 1)


def judge_fingerprint(m: FingerprintMeasures, rules: FingerprintRules) -> Verdict:
    """Grayscale, big enough, and a ridge-structure score at or above the office threshold."""
    score = fingerprint_score(m.coherence, m.foreground)
    checks = [
        Check("grayscale", m.grayscale, 1.0 if m.grayscale else 0.0, reason="not_grayscale"),
        _at_least("width", m.width, rules.min_width, "too_small"),
        _at_least("height", m.height, rules.min_height, "too_small"),
        Check("ridge_quality", score >= rules.threshold, score, minimum=rules.threshold, reason="low_quality"),
    ]
    # The score of a fingerprint is its ridge quality (NFIQ-like), not an average of the checks.
    return Verdict(score, tuple(checks))


# -- signature -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignatureRules:
    """Signature limits: big enough, and some ink."""

    min_width: int = 120
    min_height: int = 40
    min_ink: float = 0.002


@dataclass(frozen=True, slots=True)
class SignatureMeasures:
    """Size and the share of dark pixels of a signature image."""

    width: int
    height: int
    ink: float


def judge_signature(m: SignatureMeasures, rules: SignatureRules) -> Verdict:
    """Big enough and not blank."""
    return _verdict(
        [
            _at_least("width", m.width, rules.min_width, "too_small"),
            _at_least("height", m.height, rules.min_height, "too_small"),
            _at_least("ink", m.ink, rules.min_ink, "blank", comfort=5.0),
        ]
    )
