"""REST endpoints of the capture service (API.md, capture table): one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from . import biometrics, bundles, captures, documents, interviews, retention

# Paths differ in their last segment, so the order only says what a tablet calls most; but
# /v1/captures/purge-report comes before /v1/captures/{receipt_number}, which would take it.
ROUTERS: list[APIRouter] = [
    biometrics.router,
    documents.router,
    interviews.router,
    retention.router,
    captures.router,
    bundles.router,
]
