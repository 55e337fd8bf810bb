"""REST endpoints of the capture service (API.md, capture table): one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from . import biometrics, bundles, captures, documents, interviews

# Paths differ in their last segment, so the order only says what a tablet calls most.
ROUTERS: list[APIRouter] = [
    biometrics.router,
    documents.router,
    interviews.router,
    captures.router,
    bundles.router,
]
