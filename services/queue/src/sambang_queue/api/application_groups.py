"""Family bookings: up to five applicants take places of one slot together, all or none."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sambang_runtime.service import UowDep

from ..usecases.registration import register_applications
from .deps import IdempotencyKey, idempotency_of, registered_response
from .schemas import MemberIn, SlotView, Strict

router = APIRouter(prefix="/v1/application-groups", tags=["applications"])


class GroupIn(Strict):
    """`POST /v1/application-groups`: a family books one slot together, 1-5 members."""

    office: str = Field(pattern=r"^[A-Z]{3}$")
    slot_id: int = Field(ge=1, le=2**62)
    members: list[MemberIn] = Field(min_length=1, max_length=5)


class GroupCreated(BaseModel):
    """A family's booking: each member has their own receipt (and their own bill)."""

    group_id: str
    receipt_numbers: list[str]
    slot: SlotView


@router.post("", status_code=201, response_model=GroupCreated)
async def create_group(body: GroupIn, uow: UowDep, key: IdempotencyKey = None) -> JSONResponse:
    """A family books one slot together (1-5 members): all get places or none does."""
    registered = await register_applications(
        uow,
        office_code=body.office,
        slot_id=body.slot_id,
        bookings=[m.booking() for m in body.members],
        group=True,
        idempotency=idempotency_of(key, "application-groups", body),
        now=uow.now(),
    )
    return registered_response(registered)
