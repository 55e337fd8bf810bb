"""Backup and restore, as docs/operations.md tells an operator to do it: a day's data written through the
real services (`make up` on this run's PostgreSQL and RabbitMQ: bookings in queue, bills issued and paid
in payment), then for each database `pg_dump -Fc`, drop it, `pg_restore` into a new database, and the
services' own code reads the restored rows, personal fields decrypted with the installation's keys.

The servers are the run's (sambang_runtime.testing: unique database names on the shared server, dropped
at the end of the run). About 40 s, most of it the stack's start.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sambang_runtime.db import drop_database, ensure_database
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import Servers
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from stack import launched, officer, ready, until
from steps import Applicant, book, new_applicant, pay, prepare_office

#: The tables holding the day's data in each service (every row is compared after the restore).
DAY_TABLES = {"queue": ("application", "slot"), "payment": ("bill", "payment")}


def pg_tool(name: str) -> str:
    """A PostgreSQL client program: on PATH, else in the server's bin directory (Debian keeps it there)."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise AssertionError(f"{name} not found: install postgresql-client")


def libpq_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection options of ``url`` for pg_dump/pg_restore, and the environment carrying its password."""
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    env = {**os.environ, "PGPASSWORD": url.password or ""} if url.password else dict(os.environ)
    return args, env


def dump(url: URL, to: Path) -> None:
    """`pg_dump -Fc` of one database (the operations runbook's command)."""
    args, env = libpq_args(url)
    subprocess.run([pg_tool("pg_dump"), "-Fc", *args, "-d", str(url.database), "-f", str(to)], env=env, check=True)


def restore(url: URL, dump_file: Path) -> None:
    """`pg_restore --exit-on-error` into an existing empty database (the runbook's command)."""
    args, env = libpq_args(url)
    subprocess.run(
        [pg_tool("pg_restore"), "--exit-on-error", *args, "-d", str(url.database), str(dump_file)], env=env, check=True
    )


async def rows(url: URL, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table``, ordered, to compare a database with its restored copy."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
            return [tuple(r) for r in result.all()]
    finally:
        await engine.dispose()


@asynccontextmanager
async def service_on(service: str, database: URL) -> AsyncIterator[httpx.AsyncClient]:
    """The service's own app (its stores, its cipher with the installation's keys) on ``database``,
    in-process with an in-memory bus; a client of it."""
    from importlib import import_module

    create_app = import_module(f"sambang_{service}.app").create_app
    uniq = uuid.uuid4().hex[:6]
    settings = RuntimeSettings(
        environment="development",  # the keys the stack ran with (make up's development defaults)
        service_name=service,
        database_url=database.render_as_string(hide_password=False),
        amqp_url="memory://",
        exchange=f"sambang.events.restore{uniq}",
        queue_prefix=f"sambang.restore{uniq}",
        log_level="WARNING",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}.test", timeout=30) as client:
            yield client


async def test_a_days_bookings_and_payments_survive_pg_dump_drop_and_pg_restore(
    servers: Servers, tmp_path: Path
) -> None:
    before = len(servers.databases)
    applicants = [new_applicant(full_name=name) for name in ("Siti Aminah", "Budi Santoso", "Ratna Dewi")]
    with launched(servers, tmp_path) as up:
        databases = {
            name.rsplit("_", 1)[-1]: make_url(servers.base_pg).set(database=name)
            for name in servers.databases[before:]
            if name.endswith(("_queue", "_payment"))
        }
        async with httpx.AsyncClient(timeout=30) as client:
            await ready(client, up)
            slot_id = await prepare_office(client, up.front_door)
            for a in applicants:
                await book(client, up.front_door, a, slot_id)
            paid, unpaid = applicants[:2], applicants[2]
            for a in paid:
                await pay(client, up.front_door, a.receipt)

            async def queue_knows_paid() -> bool:
                for a in paid:
                    page = (await client.get(up.url(f"/v1/applications/{a.receipt}"), headers=officer())).json()
                    if (page.get("bill") or {}).get("status") != "PAID":
                        return False
                return True

            await until("the queue to learn of both payments", queue_knows_paid, up)
    # The stack is stopped: nothing writes while the dumps are taken (a live pg_dump is consistent too).
    assert set(databases) == {"queue", "payment"}, databases
    restored: dict[str, URL] = {}
    for service, url in databases.items():
        kept = {table: await rows(url, table) for table in DAY_TABLES[service]}
        assert all(kept.values()), f"{service}: the day's tables are empty: nothing to prove"
        dump_file = tmp_path / f"{url.database}.dump"
        await asyncio.to_thread(dump, url, dump_file)
        await drop_database(url.render_as_string(hide_password=False))
        new = make_url(servers.pg_url(f"restored_{service}"))
        await ensure_database(new.render_as_string(hide_password=False))
        await asyncio.to_thread(restore, new, dump_file)
        for table, before_rows in kept.items():
            assert await rows(new, table) == before_rows, f"{service}.{table} differs after the restore"
        restored[service] = new

    # The services' own code on the restored databases: names decrypt, birth dates match, bills are paid.
    async with service_on("queue", restored["queue"]) as queue:
        for a in applicants:
            page = await queue.post(f"/v1/applications/{a.receipt}/lookup", json={"birth_date": a.birth_date})
            assert page.status_code == 200, page.text
            assert page.json()["applicant"]["full_name"] == a.full_name
            bill_status = (page.json().get("bill") or {}).get("status")
            assert bill_status == ("PAID" if a in paid else "ISSUED"), (a.receipt, bill_status)
    async with service_on("payment", restored["payment"]) as payment:
        for a in applicants:
            bill = await payment.get(f"/v1/bills/{a.receipt}", headers=officer())
            assert bill.status_code == 200, bill.text
            assert bill.json()["status"] == ("PAID" if a in paid else "UNPAID")
            looked_up = await payment.post(f"/v1/bills/{a.receipt}/lookup", json={"birth_date": a.birth_date})
            assert looked_up.status_code == 200, looked_up.text
        wrong: Applicant = unpaid
        refused = await payment.post(f"/v1/bills/{wrong.receipt}/lookup", json={"birth_date": "1970-01-01"})
        assert refused.status_code == 404  # the birth date is checked against the restored sealed value
