"""REST endpoints of the payment service (API.md, payment table): one prefixed router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from . import bills, discrepancies, fees, partners, payments, reconciliations

# Starlette tries routes in order: the bank webhook (the busiest route) first.
ROUTERS: list[APIRouter] = [
    payments.router,
    bills.router,
    fees.router,
    reconciliations.router,
    discrepancies.router,
    partners.router,
]
