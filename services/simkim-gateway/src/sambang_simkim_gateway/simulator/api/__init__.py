"""The simulator's endpoints: SIMKIM's protocol under ``/simkim/v1`` and test controls under ``/simkim/_admin``."""

from __future__ import annotations

from fastapi import APIRouter

from . import admin, applications, violations

ROUTERS: list[APIRouter] = [applications.router, violations.router, admin.router]
