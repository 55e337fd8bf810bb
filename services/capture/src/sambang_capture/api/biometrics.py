"""Photo, fingerprints (with exceptions) and signature: checked, re-encoded, encrypted, idempotent.

The image work (decode, detect, measure, re-encode) runs before the unit of work touches the
database, so no connection waits on OpenCV. Nothing is stored on a refused call: every refusal
is raised before the write, and the unit of work rolls back without a commit.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from sambang_contracts import ApprovalAction, CaptureItemKind
from sambang_contracts.values import Text
from sambang_runtime.approvals import consume_approval, verify_approval
from sambang_runtime.auth import Principal, ensure_office
from sambang_runtime.errors import DomainError
from sambang_runtime.http import ApprovalHeader, ReceiptPath, read_limited_body
from sambang_runtime.logs import get_logger
from sambang_runtime.service import RuntimeDep, UowDep
from sambang_runtime.uow import UnitOfWork

from ..adapters.imaging.analysis import Sanitised, analyse_fingerprint, analyse_photo, analyse_signature
from ..domain.capture import FINGER_NAMES, FingerprintExceptionReason, SignatureExceptionReason, finger_position
from ..domain.quality import Verdict, judge_fingerprint, judge_photo, judge_signature
from ..stores import applications
from ..stores.items import NewException, NewItem
from ..usecases.biometrics import Kept, fingerprint_subject, keep_item, record_exception
from .deps import CaptureOfficer, ContextDep, Upload, image_upload
from .schemas import ExceptionOut, QualityOut, exception_out, quality_out, rejection

log = get_logger(__name__)

router = APIRouter(prefix="/v1/captures", tags=["biometrics"])

_BINARY = {"schema": {"type": "string", "format": "binary"}}
IMAGE_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"image/jpeg": _BINARY, "image/png": _BINARY}}
}
_IMAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Another office's receipt"},
    404: {"description": "Receipt not known to capture (yet)"},
    409: {"description": "The capture was already completed"},
    413: {"description": "Larger than 5 MiB"},
    415: {"description": "Not JPEG or PNG, or not what the Content-Type says"},
    422: {"description": "Corrupt, too many pixels, or refused by a quality check (reasons named)"},
}


class StoredImageOut(BaseModel):
    """A stored image: the SHA-256 and size of the stored (re-encoded) bytes, and its quality."""

    sha256: str
    bytes: int
    media_type: str
    width: int
    height: int
    quality: QualityOut
    unchanged: bool = Field(description="True when the same bytes were already stored (a resend)")


class FingerprintOut(StoredImageOut):
    """A stored fingerprint."""

    position: int
    finger: str
    threshold: int


class FingerprintExceptionIn(BaseModel):
    """Why a finger cannot be taken; a supervisor approves it in X-Supervisor-Approval."""

    reason: FingerprintExceptionReason
    note: Text | None = Field(default=None, max_length=2000)


class SignatureExceptionIn(BaseModel):
    """No signature: the applicant cannot sign."""

    exception: SignatureExceptionReason
    note: Text | None = Field(default=None, max_length=2000)


class SignatureOut(BaseModel):
    """A stored signature image, or the recorded exception."""

    sha256: str | None = None
    bytes: int | None = None
    quality: QualityOut | None = None
    exception: Literal["CANNOT_SIGN"] | None = None
    unchanged: bool


def _new_item(
    kind: CaptureItemKind, position: int | None, upload: Upload, image: Sanitised, verdict: Verdict, quality: QualityOut
) -> NewItem:
    """An accepted image as it is stored: its sanitised bytes, the score and every check."""
    checks = [c.model_dump() for c in quality.checks]
    return NewItem(
        kind, position, upload.sha256, image.content, image.media_type, image.width, image.height, verdict.score, checks
    )


def _stored(kept: Kept, image: Sanitised, quality: QualityOut) -> dict[str, Any]:
    """The members every stored image's answer has."""
    return {
        "sha256": kept.sha256,
        "bytes": kept.bytes,
        "media_type": image.media_type,
        "width": image.width,
        "height": image.height,
        "quality": quality,
        "unchanged": kept.unchanged,
    }


@router.put("/{receipt_number}/photo", response_model=StoredImageOut, openapi_extra=IMAGE_BODY, responses=_IMAGE_ERRORS)
async def put_photo(
    officer: CaptureOfficer, receipt: ReceiptPath, request: Request, uow: UowDep, ctx: ContextDep
) -> StoredImageOut:
    """Store the passport photo if every quality check passes; else 422 `photo_rejected` naming each failed one."""
    ensure_office(officer, receipt[:3])
    upload = await image_upload(request, ctx)
    analysis = await ctx.analyse(analyse_photo, upload.data, upload.header, jpeg_quality=ctx.settings.jpeg_quality)
    verdict = judge_photo(analysis.measures, ctx.photo_rules)
    quality = quality_out(verdict, face_count=analysis.measures.face_count)
    if not verdict.passed:
        log.info("capture.photo_rejected", receipt_number=receipt, reasons=verdict.reasons)
        raise DomainError("photo_rejected", **rejection(verdict, quality))
    app = await applications.registered(uow, receipt, lock=True)
    item = _new_item(CaptureItemKind.PHOTO, None, upload, analysis.image, verdict, quality)
    kept = await keep_item(uow, app, item, officer=officer.sub, now=uow.now())
    await uow.commit()
    return StoredImageOut(**_stored(kept, analysis.image, quality))


@router.put(
    "/{receipt_number}/fingerprints/{position}",
    response_model=FingerprintOut,
    openapi_extra=IMAGE_BODY,
    responses=_IMAGE_ERRORS,
)
async def put_fingerprint(
    officer: CaptureOfficer, receipt: ReceiptPath, position: int, request: Request, uow: UowDep, ctx: ContextDep
) -> FingerprintOut:
    """Store one finger (1-10, ISO/IEC 19794-4) if grayscale, big enough and at or above the office's threshold."""
    ensure_office(officer, receipt[:3])
    position = finger_position(position)
    upload = await image_upload(request, ctx)
    analysis = await ctx.analyse(analyse_fingerprint, upload.data, upload.header)
    app, rules = await fingerprint_subject(uow, receipt, ctx.default_office_rules)
    verdict = judge_fingerprint(analysis.measures, ctx.fingerprint_rules(rules.fingerprint_quality_threshold))
    quality = quality_out(verdict)
    if not verdict.passed:
        log.info("capture.fingerprint_rejected", receipt_number=receipt, position=position, reasons=verdict.reasons)
        raise DomainError(
            "fingerprint_rejected",
            position=position,
            threshold=rules.fingerprint_quality_threshold,
            **rejection(verdict, quality),
        )
    item = _new_item(CaptureItemKind.FINGERPRINT, position, upload, analysis.image, verdict, quality)
    kept = await keep_item(uow, app, item, officer=officer.sub, now=uow.now())
    await uow.commit()
    return FingerprintOut(
        **_stored(kept, analysis.image, quality),
        position=position,
        finger=FINGER_NAMES[position],
        threshold=rules.fingerprint_quality_threshold,
    )


@router.put(
    "/{receipt_number}/fingerprints/{position}/exception",
    response_model=ExceptionOut,
    responses={
        403: {
            "description": "approval_invalid (reason): no approval of this finger of this receipt by another "
            "supervisor of the office; or another office's receipt"
        },
        409: {"description": "approval_used: the approval was used before; or the capture was completed"},
    },
)
async def put_fingerprint_exception(
    officer: CaptureOfficer,
    receipt: ReceiptPath,
    position: int,
    body: FingerprintExceptionIn,
    uow: UowDep,
    ctx: ContextDep,
    runtime: RuntimeDep,
    approval: ApprovalHeader = None,
) -> ExceptionOut:
    """Record why a finger cannot be taken, with a supervisor's approval of exactly this finger of this
    receipt (X-Supervisor-Approval from POST /v1/approvals, action fingerprint_exception): never a login
    token, never the recording officer's own, and used up by this request (a second use answers 409)."""
    ensure_office(officer, receipt[:3])
    position = finger_position(position)
    claims = verify_approval(
        runtime.settings,
        approval,
        action=ApprovalAction.FINGERPRINT_EXCEPTION,
        subject=receipt,
        position=position,
        caller=officer,
    )
    app, _ = await fingerprint_subject(uow, receipt, ctx.default_office_rules)
    # Used up in the exception's own transaction: both commit, or neither does.
    await consume_approval(uow, claims)
    exception = NewException(
        CaptureItemKind.FINGERPRINT, position, body.reason.value, body.note, claims.approver, claims.jti
    )
    recorded = await record_exception(uow, app, exception, officer=officer.sub, now=uow.now())
    await uow.commit()
    return exception_out(recorded.record)


@router.put(
    "/{receipt_number}/signature",
    response_model=SignatureOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "image/jpeg": _BINARY,
                "image/png": _BINARY,
                "application/json": {"schema": SignatureExceptionIn.model_json_schema()},
            },
        }
    },
    responses=_IMAGE_ERRORS,
)
async def put_signature(
    officer: CaptureOfficer, receipt: ReceiptPath, request: Request, uow: UowDep, ctx: ContextDep
) -> SignatureOut:
    """Store the signature image, or record with {"exception": "CANNOT_SIGN"} that the applicant cannot sign."""
    ensure_office(officer, receipt[:3])
    if (request.headers.get("content-type") or "").split(";")[0].strip().lower() == "application/json":
        raw = await read_limited_body(request, 64 * 1024)
        try:
            body = SignatureExceptionIn.model_validate_json(raw)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_input=False)) from None
        return await _cannot_sign(uow, receipt, body, officer)
    upload = await image_upload(request, ctx)
    analysis = await ctx.analyse(analyse_signature, upload.data, upload.header)
    verdict = judge_signature(analysis.measures, ctx.signature_rules)
    quality = quality_out(verdict)
    if not verdict.passed:
        raise DomainError("signature_rejected", **rejection(verdict, quality))
    app = await applications.registered(uow, receipt, lock=True)
    item = _new_item(CaptureItemKind.SIGNATURE, None, upload, analysis.image, verdict, quality)
    kept = await keep_item(uow, app, item, officer=officer.sub, now=uow.now())
    await uow.commit()
    return SignatureOut(sha256=kept.sha256, bytes=kept.bytes, quality=quality, unchanged=kept.unchanged)


async def _cannot_sign(uow: UnitOfWork, receipt: str, body: SignatureExceptionIn, officer: Principal) -> SignatureOut:
    app = await applications.registered(uow, receipt, lock=True)
    exception = NewException(CaptureItemKind.SIGNATURE, None, body.exception.value, body.note, None)
    recorded = await record_exception(uow, app, exception, officer=officer.sub, now=uow.now())
    await uow.commit()
    return SignatureOut(exception="CANNOT_SIGN", unchanged=recorded.unchanged)
