"""Embedded mode (SQLite + in-memory bus), the migration history and the development seed."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import DAY0, QueueHarness
from sambang_queue.app import MIGRATIONS
from sambang_queue.models import metadata
from sambang_queue.settings import QueueSettings
from sambang_runtime.migrations import upgrade_to_head
from sambang_runtime.testing import Servers
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

TOMORROW = DAY0 + dt.timedelta(days=1)


async def test_embedded_mode_books_checks_in_calls_and_consumes_events(queue_embedded: QueueHarness) -> None:
    queue = queue_embedded
    code, s = await queue.office_with_slot(quota=2)
    app = await queue.booked(code, s["slot_id"])
    again = await queue.book(code, s["slot_id"], applicant={**queue.applicant(), "nik": app["nik"]})
    assert again.json()["code"] == "active_application_exists"
    await queue.booked(code, s["slot_id"])
    assert (await queue.book(code, s["slot_id"])).json()["code"] == "slot_full"
    await queue.pay(app["receipt_number"])
    await queue.event("queue.arrival.link_issued", app["receipt_number"])
    queue.set_local(TOMORROW, 8, 5)
    checked = await queue.check_in(code, app)
    assert checked.status_code == 201 and checked.json()["ticket"] == "A001"
    called = await queue.client.post(
        f"/v1/offices/{code}/counters/1/call-next",
        json={"stage": "VERIFICATION"},
        headers=queue.auth("verifier", office=code),
    )
    assert called.json()["ticket"] == "A001"
    walk = await queue.client.post(
        f"/v1/offices/{code}/walk-ins",
        json={
            "service_type": "NEW",
            "passport_type": "REGULAR",
            "priority_category": "DISABLED",
            "applicant": queue.applicant(),
        },
        headers=queue.auth("customer_care", office=code),
    )
    claim = await queue.client.post(
        f"/v1/visits/{walk.json()['visit_id']}/claim", headers=queue.auth("sambang_officer", office=code)
    )
    assert claim.status_code == 200 and claim.json()["seat"] == "P1"
    report = await queue.client.get(
        f"/v1/offices/{code}/reports/daily",
        params={"date": TOMORROW.isoformat()},
        headers=queue.auth("supervisor", office=code),
    )
    assert report.json()["check_ins"]["total"] == 2


async def test_concurrent_bookings_never_oversell_on_sqlite_either(queue_embedded: QueueHarness) -> None:
    queue = queue_embedded
    code, s = await queue.office_with_slot(quota=10)
    results = await asyncio.gather(*(queue.book(code, s["slot_id"]) for _ in range(30)))
    assert sorted(r.status_code for r in results) == [201] * 10 + [409] * 20


def _diffs(sync_conn: Any) -> list[Any]:
    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, metadata))


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
async def test_fresh_database_migrated_to_head_matches_the_models(
    backend: str, servers: Servers, fresh_pg_url: str, tmp_path: Path
) -> None:
    url = fresh_pg_url if backend == "postgres" else f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, url)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diffs) == []
            if backend == "postgres":
                triggers = (
                    await conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'outbox_message'::regclass"))
                ).all()
                assert triggers == [], "the outbox NOTIFY trigger is still there (a lock at every commit)"
    finally:
        await engine.dispose()


async def test_development_start_seeds_blitar_with_slots_on_bookable_days(queue_make_harness: Any) -> None:
    async with queue_make_harness(
        "sqlite+memory", environment="development", queue_settings=QueueSettings(seed_days=5)
    ) as h:
        offices = (await h.client.get("/v1/offices")).json()
        assert offices == [
            {"code": "BLT", "name": "Kantor Imigrasi Kelas II Non TPI Blitar", "timezone": "Asia/Jakarta"}
        ]
        slots = (await h.client.get("/v1/offices/BLT/slots")).json()
        days = sorted({s["date"] for s in slots})
        assert len(days) == 5 and len(slots) == 10
        assert all(dt.date.fromisoformat(d).isoweekday() <= 5 for d in days)
        assert {(s["start"], s["quota"]) for s in slots} == {("08:00:00", 90), ("13:00:00", 50)}
        await h.event("queue.office.updated", where=lambda e: e.data.office == "BLT")


async def test_outside_development_no_demo_office_is_seeded(queue_make_harness: Any) -> None:
    async with queue_make_harness("sqlite+memory", queue_settings=QueueSettings(seed_days=5)) as h:
        assert h.settings.environment == "test"
        assert (await h.client.get("/v1/offices")).json() == []
        assert (await h.client.get("/v1/offices/BLT/slots")).status_code == 404
