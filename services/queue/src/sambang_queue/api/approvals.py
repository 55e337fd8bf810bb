"""Approvals (#16): a supervisor's (or a second national admin's) consent to one action on one subject,
signed for its own audience and used once by the service that performs the action. Never a login."""

from __future__ import annotations

import re

from fastapi import APIRouter
from sambang_contracts.enums import ApprovalAction
from sambang_runtime.approvals import APPROVERS, issue_approval
from sambang_runtime.errors import DomainError
from sambang_runtime.http import valid_receipt
from sambang_runtime.problems import ProblemError
from sambang_runtime.service import RuntimeDep, UowDep

from ..stores import applications, trail
from .deps import Approver
from .schemas import ApprovalIn, ApprovalIssued

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])

#: A bank partner's id (payment's own rule is narrower; this only keeps junk out of a signed token).
_PARTNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$", re.ASCII)
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$", re.ASCII)
_PARTNER_ACTIONS = frozenset(
    {ApprovalAction.PARTNER_CREATE, ApprovalAction.PARTNER_ROTATE, ApprovalAction.PARTNER_REVOKE}
)


def _subject_of(action: ApprovalAction, subject: str) -> str:
    """The subject as the approval will carry it, or 422 `invalid_approval_subject`."""
    if action is ApprovalAction.FINGERPRINT_EXCEPTION:
        return valid_receipt(subject)
    if action in _PARTNER_ACTIONS and _PARTNER.match(subject):
        return subject
    if action is ApprovalAction.SETTLEMENT_APPLY and _SHA256_HEX.match(subject.lower()):
        return subject.lower()
    raise DomainError("invalid_approval_subject", action=action.value)


@router.post("", status_code=201)
async def issue(body: ApprovalIn, principal: Approver, runtime: RuntimeDep, uow: UowDep) -> ApprovalIssued:
    """Sign an approval for one action on one subject, valid at most 15 minutes and once: a supervisor's
    for a fingerprint exception on a receipt of their office (finger 1-10), a national admin's for a
    partner's creation, key rotation or revocation, a supervisor's or national admin's for applying a
    settlement file (its sha256). The approver never uses it themself (four eyes: the verifier refuses).
    Audited (who approved what for which receipt); the token is never logged or stored."""
    wanted = APPROVERS[body.action]
    if principal.roles.isdisjoint(wanted):
        raise ProblemError.common(403, "forbidden", extra={"required_roles": sorted(wanted)})
    subject = _subject_of(body.action, body.subject)
    fingerprint = body.action is ApprovalAction.FINGERPRINT_EXCEPTION
    if fingerprint != (body.position is not None):
        raise DomainError("invalid_approval_position", action=body.action.value)
    receipt = None
    if fingerprint:
        # Only for a receipt of the approver's own office; any other answers as an unknown one does.
        app = await applications.find(uow, subject)
        if app is None or app.office.upper() != principal.office.upper():
            raise DomainError("application_not_found")
        receipt = subject
    # The verifier checks the token's times against the wall clock (PyJWT), so it is issued on that
    # clock too, not the service's (a test's FakeClock would make it expired or not yet valid).
    issued = issue_approval(runtime.settings, principal, action=body.action, subject=subject, position=body.position)
    expires_at = issued.expires_at.replace(microsecond=0)  # as the token's `exp` says it, whole seconds
    detail: dict[str, object] = {
        "action": body.action.value,
        "jti": issued.jti,
        "expires_at": expires_at.isoformat(),
    }
    if body.position is not None:
        detail["position"] = body.position
    if not fingerprint:
        detail["subject"] = subject
    await trail.add_audit(uow, principal, "approval.issued", uow.now(), receipt_number=receipt, detail=detail)
    await uow.commit()
    return ApprovalIssued(
        token=issued.token,
        jti=issued.jti,
        action=body.action,
        subject=subject,
        position=body.position,
        expires_at=expires_at,
    )
