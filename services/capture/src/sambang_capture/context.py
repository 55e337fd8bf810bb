"""The capture service's own per-app state: its settings, the rules built from them, the analysis gate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sambang_runtime.uow import UnitOfWork

from .domain.capture import OfficeRules
from .domain.quality import FingerprintRules, PhotoRules, SignatureRules
from .settings import CaptureSettings

P = ParamSpec("P")
T = TypeVar("T")


class CaptureContext:
    """Shared by the routes and handlers of one capture app (never a module global)."""

    def __init__(self, settings: CaptureSettings | None = None) -> None:
        self.settings = s = settings or CaptureSettings()
        self.photo_rules = PhotoRules(
            min_width=s.photo_min_width,
            min_height=s.photo_min_height,
            face_min_ratio=s.photo_face_min_ratio,
            face_max_ratio=s.photo_face_max_ratio,
            brightness_min=s.photo_brightness_min,
            brightness_max=s.photo_brightness_max,
            contrast_min=s.photo_contrast_min,
            sharpness_min=s.photo_sharpness_min,
        )
        self.signature_rules = SignatureRules(
            min_width=s.signature_min_width, min_height=s.signature_min_height, min_ink=s.signature_min_ink
        )
        # Created here, bound to the serving loop on first use.
        self._analyses = asyncio.Semaphore(s.analysis_concurrency)

    @property
    def default_office_rules(self) -> OfficeRules:
        """The rules of an office that has not published its own yet."""
        s = self.settings
        return OfficeRules(s.default_timezone, s.fingerprint_default_threshold, s.biometric_retention_days_default)

    def fingerprint_rules(self, threshold: int) -> FingerprintRules:
        """The fingerprint limits with an office's quality threshold."""
        return FingerprintRules(
            min_width=self.settings.fingerprint_min_width,
            min_height=self.settings.fingerprint_min_height,
            threshold=threshold,
        )

    async def analyse(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run CPU-bound image work on a thread (OpenCV releases the GIL), a bounded number at once."""
        async with self._analyses:
            return await asyncio.to_thread(work, *args, **kwargs)


def context_of(uow: UnitOfWork) -> CaptureContext:
    """The capture context of the app this unit of work belongs to."""
    ctx = uow.context
    if not isinstance(ctx, CaptureContext):
        raise RuntimeError("this unit of work does not belong to a capture app")
    return ctx
