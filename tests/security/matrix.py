"""THE authorisation matrix: who may call each route of each service. One table, read by
``test_authorisation_matrix.py``; a route a service serves that is missing here fails that test, and so
does an entry here for a route no service serves.

Each entry is "<METHOD> <path template>" → a ``Rule``:

- ``public(...)``: no token needed; a token (good or forged) never earns a 403 there.
- ``roles(...)``: the roles that pass the route's check (a token holding any one of them); every other
  role gets 403, and no token, an expired one, one signed with another key, ``alg=none``, HS256 signed
  with a public key, or an approval shown as a bearer token get 401.
  ``office`` says how the office binds:
  ``"path"`` / ``"query"``: the office is in the URL; the right role of another office gets 403 wrong_office.
  ``"resource"``: the office is the looked-up record's; another office's officer never gets a 2xx (the
  matrix's records are dummies, so it sees the 404; each service's tests prove the 403 on real records).
  ``"national"``: national data (fees, partners, checklists): any office's holder of the role may.
  ``approval=True``: the right role still needs an ``X-Supervisor-Approval`` from another person; the
  matrix sends none and expects 403 ``approval_invalid`` (reason ``missing``), i.e. past the role check.
- ``hmac(...)``: signed by a bank partner (``X-Partner-Key`` + ``X-Signature``), never by a bearer token:
  401 for every token and every role.

The roles are the issue's (#16): ``head_of_office`` decides holds; ``national_admin`` alone changes fees,
partners and templates; ``admin`` keeps office settings; the rest as API.md says. Development-only
services (the SIMKIM simulator) and paths (the mailbox) are listed as public: outside development the
front door, nginx and the ingress never route them (tests/e2e, tests/contract prove that), and the
mailbox answers 404 outside development.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Office = Literal["path", "query", "resource", "national", "none"]

OFFICERS = ("customer_care", "verifier", "interviewer", "sambang_officer", "supervisor", "head_of_office")
COUNTER_STAFF = ("customer_care", "verifier", "interviewer")
CAPTURING = ("interviewer", "sambang_officer")


@dataclass(frozen=True)
class Rule:
    """Who may call one route: ``kind`` public / roles / hmac, with ``allowed`` roles for ``roles``."""

    kind: Literal["public", "roles", "hmac"]
    allowed: frozenset[str] = frozenset()
    office: Office = "none"
    approval: bool = False
    note: str = ""
    #: The one token subject (``sub``) a ``service`` caller must have, when the route names one.
    subject: str | None = None


def public(note: str = "") -> Rule:
    return Rule("public", note=note)


def roles(*allowed: str, office: Office, approval: bool = False, note: str = "", subject: str | None = None) -> Rule:
    assert allowed, "a protected route names at least one role"
    return Rule("roles", frozenset(allowed), office, approval, note, subject)


def hmac(note: str = "") -> Rule:
    return Rule("hmac", note=note)


#: Every service serves these (health, metrics, its API description); the edge routes none of them.
COMMON: dict[str, Rule] = {
    "GET /healthz": public("liveness"),
    "GET /readyz": public("readiness: database and broker reachable, nothing personal"),
    "GET /metrics": public("Prometheus; not routed by the edge (front door, nginx, ingress)"),
    "GET /openapi.json": public("the API description"),
    "GET /docs": public(),
    "GET /docs/oauth2-redirect": public(),
    "GET /redoc": public(),
}

MATRIX: dict[str, dict[str, Rule]] = {
    "queue": {
        "GET /v1/offices": public(),
        "GET /v1/offices/{office_code}/slots": public(),
        "GET /v1/lines/{office_code}/estimates": public("the board's estimates: no receipt numbers"),
        "POST /v1/applications": public("booking"),
        "POST /v1/application-groups": public("family booking"),
        "POST /v1/applications/{receipt_number}/lookup": public("birth date in the body; limited per client, receipt"),
        "POST /v1/applications/{receipt_number}/cancel": public("birth date in the body"),
        "POST /v1/applications/{receipt_number}/arrival-confirmation": public("the mailed token"),
        "GET /v1/applications/{receipt_number}": roles(*OFFICERS, office="resource", note="public: /lookup"),
        "GET /v1/offices/{office_code}/settings": roles("supervisor", "head_of_office", "admin", office="path"),
        "PUT /v1/offices/{office_code}/settings": roles("admin", office="path"),
        "PATCH /v1/offices/{office_code}/settings": roles("admin", office="path"),
        "PUT /v1/offices/{office_code}/slots": roles("supervisor", office="path"),
        "POST /v1/offices/{office_code}/check-ins": roles("kiosk", "customer_care", office="path"),
        "POST /v1/offices/{office_code}/walk-ins": roles("customer_care", office="path"),
        "POST /v1/offices/{office_code}/pickups": roles("kiosk", "customer_care", office="path"),
        "POST /v1/offices/{office_code}/counters/{counter}/call-next": roles(*COUNTER_STAFF, office="path"),
        "GET /v1/offices/{office_code}/queue": roles(*OFFICERS, office="path"),
        "GET /v1/offices/{office_code}/sambang/worklist": roles("sambang_officer", office="path"),
        "GET /v1/offices/{office_code}/reports/daily": roles("supervisor", "head_of_office", office="path"),
        "GET /v1/offices/{office_code}/reports/monthly": roles("supervisor", "head_of_office", office="path"),
        "POST /v1/tickets/{ticket_id}/recall": roles(*COUNTER_STAFF, office="resource"),
        "POST /v1/tickets/{ticket_id}/no-show": roles(*COUNTER_STAFF, office="resource"),
        "POST /v1/tickets/{ticket_id}/complete": roles(*COUNTER_STAFF, office="resource"),
        "POST /v1/tickets/{ticket_id}/transfer": roles(*COUNTER_STAFF, office="resource"),
        "POST /v1/visits/{visit_id}/claim": roles("sambang_officer", office="resource"),
        "POST /v1/visits/{visit_id}/release": roles("sambang_officer", office="resource"),
        "POST /v1/visits/{visit_id}/no-show": roles("sambang_officer", office="resource"),
        "POST /v1/pickups/{pickup_id}/hand-over": roles("customer_care", office="resource"),
        "GET /v1/audit": roles("supervisor", "head_of_office", office="resource", note="an application's audit trail"),
        "POST /v1/approvals": roles(
            "supervisor", "national_admin", office="resource", note="APPROVERS decides per action (approvals.py)"
        ),
    },
    "capture": {
        "POST /v1/captures/{receipt_number}/documents": roles("verifier", *CAPTURING, office="resource"),
        "PUT /v1/captures/{receipt_number}/photo": roles(*CAPTURING, office="resource"),
        "PUT /v1/captures/{receipt_number}/fingerprints/{position}": roles(*CAPTURING, office="resource"),
        "PUT /v1/captures/{receipt_number}/fingerprints/{position}/exception": roles(
            *CAPTURING, office="resource", note="the exception itself takes a supervisor's approval"
        ),
        "PUT /v1/captures/{receipt_number}/signature": roles(*CAPTURING, office="resource"),
        "POST /v1/captures/{receipt_number}/interview": roles(*CAPTURING, office="resource"),
        "POST /v1/captures/{receipt_number}/nonconformances": roles(
            "customer_care", "verifier", "supervisor", *CAPTURING, office="resource"
        ),
        "POST /v1/captures/{receipt_number}/complete": roles(*CAPTURING, office="resource"),
        "GET /v1/captures/{receipt_number}": roles(
            "customer_care", "verifier", "supervisor", *CAPTURING, office="resource", note="no biometric bytes"
        ),
        "GET /v1/captures/{receipt_number}/audit": roles("supervisor", office="resource"),
        "GET /v1/captures/checklists/{service_type}": roles(
            "customer_care", "verifier", "supervisor", "service", *CAPTURING, office="national"
        ),
        "GET /v1/captures/purge-report": roles("supervisor", "head_of_office", office="query"),
        "GET /internal/v1/captures/{receipt_number}/bundle": roles(
            "service",
            office="resource",
            note="biometrics for SIMKIM: the gateway alone; never routed by the edge",
            subject="simkim-gateway",
        ),
    },
    "payment": {
        "GET /v1/fees": public(),
        "POST /v1/bills/{receipt_number}/lookup": public("birth date in the body; limited per client and receipt"),
        "GET /v1/bills/{receipt_number}": roles(*OFFICERS, office="resource", note="officers; public uses /lookup"),
        "POST /v1/payments/notifications": hmac("bank partners sign each notification"),
        "PUT /v1/fees": roles("national_admin", office="national"),
        "GET /v1/partners": roles("national_admin", office="national"),
        "POST /v1/partners": roles("national_admin", office="national", approval=True),
        "POST /v1/partners/{partner_id}/rotate": roles("national_admin", office="national", approval=True),
        "POST /v1/partners/{partner_id}/revoke": roles("national_admin", office="national", approval=True),
        "POST /v1/reconciliations": roles(
            "supervisor", "national_admin", office="national", note="dry run; applying takes a settlement approval"
        ),
        "GET /v1/discrepancies": roles("supervisor", office="query"),
    },
    "simkim-gateway": {
        "GET /v1/submissions/{receipt_number}": roles("supervisor", "head_of_office", "service", office="resource"),
        "POST /v1/submissions/{receipt_number}/retry": roles("supervisor", office="resource"),
        "GET /v1/holds": roles("supervisor", "head_of_office", office="query"),
        "POST /v1/holds/{receipt_number}/decision": roles(
            "head_of_office", office="resource", note="never the interviewer of that receipt; once"
        ),
    },
    "notifier": {
        "GET /v1/notifications": roles("supervisor", "customer_care", office="resource"),
        "POST /v1/streams/tickets": roles("sambang_officer", "display", office="resource"),
        "GET /v1/streams/officers": roles("sambang_officer", office="query"),
        "GET /v1/streams/displays/{office}": roles("display", office="path"),
        "GET /v1/templates": roles("national_admin", office="national"),
        "PUT /v1/templates/{name}/{language}": roles("national_admin", office="national"),
        "GET /v1/dev/mailbox": public("development only: 404 elsewhere"),
    },
    "simkim-simulator": {
        "POST /simkim/v1/applications": public("development only: the SIMKIM simulator"),
        "GET /simkim/v1/applications/{reference}": public("development only"),
        "POST /simkim/v1/applications/{reference}/decision": public("development only"),
        "POST /simkim/v1/violations": public("development only"),
        "PUT /simkim/_admin/watchlist": public("development only"),
        "PUT /simkim/_admin/passports": public("development only"),
        "GET /simkim/_admin/faults": public("development only"),
        "PUT /simkim/_admin/faults": public("development only"),
        "PUT /simkim/_admin/issuance": public("development only"),
        "GET /simkim/_admin/stats": public("development only"),
    },
}


def rule_of(service: str, key: str) -> Rule | None:
    """The rule of one route, the common ones included; None when the table lacks it."""
    return MATRIX.get(service, {}).get(key) or COMMON.get(key)
