"""REST endpoints of the SIMKIM gateway (API.md, simkim-gateway table): one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from . import holds, submissions

ROUTERS: list[APIRouter] = [submissions.router, holds.router]
