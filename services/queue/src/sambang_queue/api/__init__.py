"""REST endpoints of the queue service (API.md, queue table): one router per file."""

from __future__ import annotations

from fastapi import APIRouter

from . import applications, audit, checkins, counters, offices, pickups, reports, sambang

# Starlette tries routes in order: the booking rush's routes come first.
ROUTERS: list[APIRouter] = [
    applications.router,
    offices.router,
    checkins.router,
    counters.router,
    sambang.router,
    pickups.router,
    reports.router,
    audit.router,
]
