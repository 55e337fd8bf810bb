"""Dependencies of the capture routes: principals by role, the context, uploads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sambang_runtime.auth import Principal, require_roles
from sambang_runtime.http import read_limited_body
from sambang_runtime.problems import ProblemError
from sambang_runtime.service import UowDep

from ..adapters.imaging.formats import ImageHeader, check_pixels, checked_format, read_header
from ..context import CaptureContext, context_of

OFFICER_ROLES = ("customer_care", "verifier", "sambang_officer", "interviewer", "supervisor")

Officer = Annotated[Principal, Depends(require_roles(*OFFICER_ROLES))]
DocumentOfficer = Annotated[Principal, Depends(require_roles("verifier", "interviewer", "sambang_officer"))]
CaptureOfficer = Annotated[Principal, Depends(require_roles("interviewer", "sambang_officer"))]
Supervisor = Annotated[Principal, Depends(require_roles("supervisor"))]
#: The office's supervisor or its head (Kepala Kantor): the daily purge report.
OfficeHead = Annotated[Principal, Depends(require_roles("supervisor", "head_of_office"))]
ServiceCaller = Annotated[Principal, Depends(require_roles("service"))]

#: The one service that may take biometrics out of capture (to SIMKIM): its service token's subject.
BUNDLE_READER = "simkim-gateway"


async def _bundle_reader(caller: ServiceCaller) -> Principal:
    """A ``service`` token of the gateway; another service's (the notifier holds one for its reminders'
    checklist) is refused: a network policy admits both to capture's port, and cannot see paths."""
    if caller.sub != BUNDLE_READER:
        raise ProblemError.common(403, "forbidden", extra={"required_subject": BUNDLE_READER})
    return caller


BundleReader = Annotated[Principal, Depends(_bundle_reader)]
#: The checklist of a service type: officers, and the notifier (a ``service`` token) for the reminder the day
#: before, so the applicant reads the same list the verifier ticks.
ChecklistReader = Annotated[Principal, Depends(require_roles(*OFFICER_ROLES, "service"))]


async def get_context(uow: UowDep) -> CaptureContext:
    """FastAPI dependency: the capture context of this app."""
    return context_of(uow)


ContextDep = Annotated[CaptureContext, Depends(get_context)]


@dataclass(frozen=True, slots=True)
class Upload:
    """An uploaded image that passed the checks made before decoding."""

    data: bytes
    header: ImageHeader

    @property
    def sha256(self) -> str:
        """SHA-256 of the bytes as received."""
        return hashlib.sha256(self.data).hexdigest()


async def image_upload(request: Request, ctx: CaptureContext) -> Upload:
    """Size (413), declared and real type (415), completeness and pixel count (422), in that order."""
    data = await read_limited_body(request, ctx.settings.max_upload_bytes)
    fmt = checked_format(request.headers.get("content-type"), data)
    header = read_header(data, fmt)
    check_pixels(header, max_pixels=ctx.settings.max_pixels, max_side=ctx.settings.max_side)
    return Upload(data, header)
