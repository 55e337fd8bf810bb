"""The internal biometric bundle: the one way biometrics leave capture, to the SIMKIM gateway only."""

from __future__ import annotations

import datetime as dt
import hashlib

from fastapi import APIRouter, Response
from sambang_contracts import bundles as contract
from sambang_runtime.errors import DomainError
from sambang_runtime.http import ReceiptPath
from sambang_runtime.logs import get_logger
from sambang_runtime.service import UowDep

from ..stores import applications, audit, items
from .deps import BundleReader
from .schemas import ManifestException

log = get_logger(__name__)

router = APIRouter(prefix="/internal/v1/captures", tags=["internal"])


class BundleItem(contract.BundleItem):
    """The contract's item (kind, position, sha256, content_type, base64 ``data``) with its size and quality."""

    bytes: int
    quality: float


class Bundle(contract.CaptureBundle):
    """The contract's bundle (``sambang_contracts.bundles``, which the gateway reads) with office, time and
    the exceptions of the completion manifest."""

    office: str
    completed_at: dt.datetime
    items: list[BundleItem]  # type: ignore[assignment]  # the contract's items, with size and quality
    exceptions: list[ManifestException]


@router.get(
    "/{receipt_number}/bundle",
    response_model=Bundle,
    responses={
        403: {"description": "Any token but the SIMKIM gateway's service token"},
        409: {"description": "The capture is not completed"},
        410: {"description": "Purged after the retention period"},
    },
)
async def biometric_bundle(caller: BundleReader, receipt: ReceiptPath, uow: UowDep, response: Response) -> Bundle:
    """The biometric items of a completed capture for a service token (the gateway); nobody else."""
    # A service acts for every office (the gateway submits them all), so no office check; the
    # receipt's own office is written into the audit trail with the caller.
    app = await applications.registered(uow, receipt)
    if app.completed_at is None:
        raise DomainError("capture_not_completed")
    if app.purged_at is not None:
        raise DomainError("biometrics_purged")
    stored = await items.stored_contents(uow, receipt)
    out: list[BundleItem] = []
    for record, content in stored:
        if content is None:
            raise DomainError("biometrics_purged")
        if hashlib.sha256(content).hexdigest() != record.sha256:
            # AES-GCM already refuses altered ciphertexts; this catches a row whose hash was changed.
            log.error("capture.bundle_hash_mismatch", receipt_number=receipt, kind=record.kind.value)
            raise RuntimeError("a stored item does not match its hash")
        out.append(
            BundleItem(
                kind=record.kind,
                position=record.position,
                content_type=record.media_type,
                sha256=record.sha256,
                bytes=record.bytes,
                quality=record.quality,
                data=content,
            )
        )
    exceptions = await items.exceptions(uow, receipt)
    detail = {"items": len(out), "sha256": [i.sha256 for i in out]}
    await audit.record_on(uow, app, "bundle.read", officer=caller.sub, at=uow.now(), detail=detail)
    await uow.commit()
    response.headers["Cache-Control"] = "no-store"
    return Bundle(
        receipt_number=receipt,
        office=app.office,
        completed_at=app.completed_at,
        items=out,
        exceptions=[ManifestException(kind=e.kind, position=e.position, reason=e.reason) for e in exceptions],
    )
