"""Office reports for the head of office (Anev meetings): daily and monthly, JSON or CSV."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from ..errors import problem
from ..reports import build_report, report_csv
from .deps import Conn, Ctx, Supervisor, office_or_404, officer_of_office

router = APIRouter(prefix="/v1/offices", tags=["reports"])


def _wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "")


async def _answer(request: Request, report: dict[str, Any], name: str) -> Response:
    if _wants_csv(request):
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return JSONResponse(report)


@router.get("/{office_code}/reports/daily")
async def daily_report(
    office_code: str, request: Request, principal: Supervisor, ctx: Ctx, conn: Conn, date: dt.date = Query()
) -> Response:
    """The figures of one day."""
    officer_of_office(principal, office_code)
    info = await office_or_404(ctx, conn, office_code)
    report = await build_report(conn, info, date, date, ctx.now(), period=date.isoformat())
    return await _answer(request, report, f"report-{info.code}-{date.isoformat()}")


@router.get("/{office_code}/reports/monthly")
async def monthly_report(
    office_code: str, request: Request, principal: Supervisor, ctx: Ctx, conn: Conn, month: str = Query()
) -> Response:
    """The figures of one month (`month=YYYY-MM`)."""
    officer_of_office(principal, office_code)
    info = await office_or_404(ctx, conn, office_code)
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise problem("invalid_period") from None
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    report = await build_report(conn, info, first, last, ctx.now(), period=month)
    return await _answer(request, report, f"report-{info.code}-{month}")
