"""REST endpoints of the queue service (API.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["queue"])
