"""REST endpoints of the payment service (API.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["payment"])
