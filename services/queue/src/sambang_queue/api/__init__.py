"""REST endpoints of the queue service (API.md, queue table): one router per file."""

from __future__ import annotations

from fastapi import APIRouter

from . import applications, audit, checkins, counters, offices, pickups, reports, sambang

ROUTERS: list[APIRouter] = [
    offices.router,
    applications.router,
    checkins.router,
    counters.router,
    sambang.router,
    pickups.router,
    reports.router,
    audit.router,
]
