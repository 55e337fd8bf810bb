"""REST endpoints of the queue service (API.md, queue table): one prefixed router per file."""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    application_groups,
    applications,
    approvals,
    audit,
    checkins,
    counters,
    lines,
    offices,
    pickups,
    reports,
    sambang,
    tickets,
    visits,
)

# Starlette tries routes in order: the booking rush's routes come first.
ROUTERS: list[APIRouter] = [
    applications.router,
    application_groups.router,
    offices.router,
    checkins.router,
    counters.router,
    tickets.router,
    sambang.router,
    visits.router,
    pickups.router,
    reports.router,
    lines.router,
    audit.router,
    approvals.router,
]
