"""Payment partners (banks) and their signing keys: registration, rotation with grace, revocation; a
national admin's, each with a second national admin's approval (four eyes)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sambang_contracts import ApprovalAction
from sambang_contracts.values import Text
from sambang_runtime.errors import DomainError
from sambang_runtime.http import ApprovalHeader
from sambang_runtime.logs import get_logger

from ..domain.partners import PARTNER_ID, KeyState, grace_until, key_state
from ..stores import partners
from ..stores.audit import AuditAction, AuditDetail, add_audit
from .deps import ContextDep, NationalAdminDep, RuntimeDep, UowDep, approved

log = get_logger(__name__)

router = APIRouter(prefix="/v1/partners", tags=["partners"])

#: A partner's id in a path (``BANKBRI``); anything else cannot name a partner.
PartnerPath = Annotated[str, Path(pattern=PARTNER_ID.pattern, max_length=32, description="e.g. BANKBRI")]

SIGNING = "X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.<raw body>')>"


class PartnerIn(BaseModel):
    """A new payment partner."""

    model_config = ConfigDict(extra="forbid")

    partner_id: Annotated[str, Field(pattern=PARTNER_ID.pattern, description="e.g. BANKBRI")]
    name: Annotated[Text, Field(min_length=1, max_length=200)]


class RotateIn(BaseModel):
    """How long the old key keeps working."""

    model_config = ConfigDict(extra="forbid")

    grace_seconds: Annotated[int | None, Field(ge=0, le=30 * 24 * 3600)] = None


class RevokeIn(BaseModel):
    """The key to refuse from now on."""

    model_config = ConfigDict(extra="forbid")

    key_id: Annotated[Text, Field(min_length=1, max_length=64)]


class PartnerCreated(BaseModel):
    """A registered partner and its first key; the secret is shown this once."""

    partner_id: str
    name: str
    key_id: str
    secret: str
    signing: str = Field(description="how the bank signs a notification")


class KeyRotated(BaseModel):
    """A new key; the secret is shown this once."""

    partner_id: str
    key_id: str
    secret: str
    previous_keys_valid_until: dt.datetime
    signing: str = Field(description="how the bank signs a notification")


class KeyOut(BaseModel):
    """A key's state, never its secret."""

    key_id: str
    created_at: dt.datetime
    valid_until: dt.datetime | None
    state: KeyState


class PartnerOut(BaseModel):
    """A partner and its keys."""

    partner_id: str
    name: str
    keys: list[KeyOut]


@router.post("", status_code=201, responses={403: {}, 409: {}})
async def create_partner(
    body: PartnerIn, uow: UowDep, principal: NationalAdminDep, runtime: RuntimeDep, approval: ApprovalHeader = None
) -> PartnerCreated:
    """Register a bank partner and its first key; the secret is shown this once.

    National admins only, with ``X-Supervisor-Approval`` from a second national admin (action
    ``partner_create``, subject the new ``partner_id``); both are in the audit trail. 403
    ``approval_invalid`` without a fitting one, 409 ``approval_used`` for one used before.
    """
    claims = await approved(
        uow, runtime, approval, action=ApprovalAction.PARTNER_CREATE, subject=body.partner_id, caller=principal
    )
    now = uow.now()
    if not await partners.add_partner(uow, body.partner_id, body.name, now=now):
        raise DomainError("partner_exists")
    issued = await partners.add_key(uow, body.partner_id, now=now)
    registered = {"key_id": issued.key_id}
    await add_audit(
        uow,
        principal,
        AuditAction.PARTNER_REGISTERED,
        at=now,
        partner_id=body.partner_id,
        detail=registered,
        approval=claims,
    )
    await uow.commit()
    log.info(
        "partner.registered",
        partner=issued.partner_id,
        key_id=issued.key_id,
        by=principal.sub,
        approved_by=claims.approver,
    )
    return PartnerCreated(
        partner_id=issued.partner_id, name=body.name, key_id=issued.key_id, secret=issued.secret, signing=SIGNING
    )


@router.get("")
async def read_partners(uow: UowDep, _principal: NationalAdminDep) -> list[PartnerOut]:
    """Partners and the state of their keys (never a secret); national admins only."""
    now = uow.now()
    return [
        PartnerOut(
            partner_id=p.partner_id,
            name=p.name,
            keys=[
                KeyOut(
                    key_id=k.key_id,
                    created_at=k.created_at,
                    valid_until=k.valid_until,
                    state=key_state(revoked_at=k.revoked_at, valid_until=k.valid_until, now=now),
                )
                for k in p.keys
            ],
        )
        for p in await partners.partners_with_keys(uow)
    ]


@router.post("/{partner_id}/rotate", responses={403: {}, 404: {}, 409: {}})
async def rotate_partner_key(
    partner_id: PartnerPath,
    uow: UowDep,
    principal: NationalAdminDep,
    context: ContextDep,
    runtime: RuntimeDep,
    body: Annotated[RotateIn | None, Body()] = None,
    approval: ApprovalHeader = None,
) -> KeyRotated:
    """A new key; the old ones keep working for the grace period (default 24 hours, 0 ends them now).

    National admins only, with ``X-Supervisor-Approval`` from a second national admin (action
    ``partner_rotate``, subject the partner id); both are in the audit trail.
    """
    claims = await approved(
        uow, runtime, approval, action=ApprovalAction.PARTNER_ROTATE, subject=partner_id, caller=principal
    )
    default = context.settings.rotation_grace_seconds
    grace = body.grace_seconds if body and body.grace_seconds is not None else default
    if not await partners.partner_exists(uow, partner_id):
        raise DomainError("unknown_partner")
    now = uow.now()
    until = grace_until(now, grace)
    await partners.end_open_keys(uow, partner_id, until=until)
    issued = await partners.add_key(uow, partner_id, now=now)
    rotated: AuditDetail = {"key_id": issued.key_id, "grace_seconds": grace}
    await add_audit(
        uow, principal, AuditAction.PARTNER_KEY_ROTATED, at=now, partner_id=partner_id, detail=rotated, approval=claims
    )
    await uow.commit()
    log.info(
        "partner.key_rotated",
        partner=partner_id,
        key_id=issued.key_id,
        grace_seconds=grace,
        by=principal.sub,
        approved_by=claims.approver,
    )
    return KeyRotated(
        partner_id=partner_id,
        key_id=issued.key_id,
        secret=issued.secret,
        previous_keys_valid_until=until,
        signing=SIGNING,
    )


@router.post(
    "/{partner_id}/revoke",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "the key is refused from now on"}, 403: {}, 404: {}, 409: {}},
)
async def revoke_partner_key(
    partner_id: PartnerPath,
    body: RevokeIn,
    uow: UowDep,
    principal: NationalAdminDep,
    runtime: RuntimeDep,
    approval: ApprovalHeader = None,
) -> Response:
    """Refuse one key from now on (a leaked secret).

    National admins only, with ``X-Supervisor-Approval`` from a second national admin (action
    ``partner_revoke``, subject the partner id); both are in the audit trail.
    """
    claims = await approved(
        uow, runtime, approval, action=ApprovalAction.PARTNER_REVOKE, subject=partner_id, caller=principal
    )
    now = uow.now()
    if not await partners.revoke_key(uow, partner_id, body.key_id, now=now):
        raise DomainError("unknown_key")
    revoked = {"key_id": body.key_id}
    await add_audit(
        uow, principal, AuditAction.PARTNER_KEY_REVOKED, at=now, partner_id=partner_id, detail=revoked, approval=claims
    )
    await uow.commit()
    log.warning(
        "partner.key_revoked", partner=partner_id, key_id=body.key_id, by=principal.sub, approved_by=claims.approver
    )
    return Response(status_code=204)
