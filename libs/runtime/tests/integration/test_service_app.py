"""The app factory wires health, readiness, metrics, problems and request ids around a service."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from conftest import Harness, effect, effect_rows, emit_cancellations, probe_spec, producer_spec
from fastapi import APIRouter, Depends
from sambang_runtime.auth import issue_dev_token, require_roles
from sambang_runtime.problems import ProblemError
from sambang_runtime.service import UowDep, create_service_app
from sambang_runtime.testing import eventually
from sqlalchemy import insert


async def test_service_app_serves_health_readiness_metrics_and_problems(harness: Harness) -> None:
    router = APIRouter()

    @router.get("/v1/probe/{office}")
    async def read_probe(office: str, principal=Depends(require_roles("supervisor"))) -> dict[str, str]:
        """A guarded route."""
        if office != principal.office:
            raise ProblemError(
                403,
                "wrong_office",
                "Officers act only within their own office",
                "Petugas hanya dapat bertindak di kantornya sendiri",
            )
        return {"office": office}

    spec = probe_spec(harness.probe)
    spec.routers = [router]
    settings = harness.settings("probe")
    app = create_service_app(spec, settings, transport=harness.transport(settings), configure_logs=False)
    producer = await harness.start(producer_spec())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "consumers": "ok", "relay": "ok"}

        ids = await emit_cancellations(producer, 3)
        runtime = app.state.runtime
        await eventually(lambda: _applied(runtime, ids), what="events consumed by the app's consumer")
        metrics = (await client.get("/metrics")).text
        assert 'sambang_events_consumed_total{service="probe",type="queue.application.cancelled"}' in metrics
        assert "sambang_outbox_lag_seconds" in metrics
        assert "sambang_http_request_duration_seconds_bucket" in metrics

        resp = await client.get("/v1/probe/BLT", headers={"X-Request-ID": "req-123"})
        assert resp.status_code == 401 and resp.headers["x-request-id"] == "req-123"
        token = issue_dev_token(settings.auth_hs256_secret or "", sub="s1", office="BLT", roles=["supervisor"])
        auth = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/v1/probe/BLT", headers=auth)).json() == {"office": "BLT"}
        other = await client.get("/v1/probe/SBY", headers={**auth, "Accept-Language": "en"})
        assert other.status_code == 403
        assert other.headers["content-type"].startswith("application/problem+json")
        assert other.json()["code"] == "wrong_office"
        assert other.json()["detail"] == "Officers act only within their own office"
        missing = await client.get("/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def _applied(runtime: object, ids: list[str]) -> bool:
    rows = await effect_rows(runtime)  # type: ignore[arg-type]
    return all(rows.get(i) == 1 for i in ids)


async def test_a_request_that_finds_every_connection_busy_gets_503_and_changes_nothing(harness: Harness) -> None:
    if not harness.amqp:
        pytest.skip("the pool of PostgreSQL connections is the subject")
    router = APIRouter()

    @router.post("/v1/probe/writes")
    async def write(uow: UowDep) -> dict[str, int]:
        """Writes one effect row."""
        conn = await uow.session.connection()
        await conn.execute(insert(effect).values(event_id="http-write", receipt_number="BLT2612010421733"))
        await uow.commit()
        return {"written": 1}

    spec = probe_spec(harness.probe)
    spec.routers = [router]
    settings = harness.settings("probe", database_pool_size=1, database_pool_timeout_seconds=0.3)
    app = create_service_app(spec, settings, transport=harness.transport(settings), configure_logs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        runtime = app.state.runtime
        async with runtime.engine.connect():  # the only connection is taken
            busy = await client.post("/v1/probe/writes", headers={"Accept-Language": "en"})
        assert busy.status_code == 503, busy.text
        assert busy.headers["content-type"].startswith("application/problem+json")
        assert busy.json()["code"] == "service_busy" and busy.headers["retry-after"] == "2"
        assert "http-write" not in await effect_rows(runtime)
        done = await client.post("/v1/probe/writes")  # the connection is back: the same request works
        assert done.status_code == 200 and (await effect_rows(runtime))["http-write"] == 1


class _Relay:
    """A TCP relay in front of PostgreSQL that the test cuts (the database "down") and restores."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            self._writers |= {writer, up_writer}
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        self._server = await asyncio.start_server(serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for w in self._writers:
            w.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()


async def test_a_service_whose_database_is_down_answers_503_and_recovers(harness: Harness) -> None:
    if not harness.amqp:
        pytest.skip("a PostgreSQL server going away is the subject")
    from sqlalchemy.engine import make_url

    router = APIRouter()

    @router.post("/v1/probe/writes/{n}")
    async def write(n: int, uow: UowDep) -> dict[str, int]:
        """Writes one effect row."""
        conn = await uow.session.connection()
        await conn.execute(insert(effect).values(event_id=f"db-down-{n}", receipt_number="BLT2612010421733"))
        await uow.commit()
        return {"written": n}

    spec = probe_spec(harness.probe)
    spec.routers = [router]
    real = make_url(harness.settings("probe").database_url)
    relay = _Relay(real.host or "127.0.0.1", real.port or 5432)
    await relay.open()
    settings = harness.settings("probe").model_copy(
        update={"database_url": real.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)}
    )
    app = create_service_app(spec, settings, transport=harness.transport(settings), configure_logs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        assert (await client.post("/v1/probe/writes/1")).status_code == 200
        await relay.cut()  # pooled connections die, new ones are refused
        for n in (2, 3):
            down = await client.post(f"/v1/probe/writes/{n}", headers={"Accept-Language": "en"})
            assert down.status_code == 503, down.text
            assert down.headers["content-type"].startswith("application/problem+json")
            assert down.json()["code"] == "database_unavailable" and down.headers["retry-after"]
            assert "database" in down.json()["detail"]
        indonesian = await client.post("/v1/probe/writes/4", headers={"Accept-Language": "id"})
        assert indonesian.status_code == 503 and "Basis data" in indonesian.json()["detail"]
        await relay.open()  # the database is back: the service recovers by itself
        await eventually(
            lambda: _status_is(client.post("/v1/probe/writes/5"), 200), timeout=20, what="writes work again"
        )
        assert (await effect_rows(app.state.runtime))["db-down-5"] == 1
        await relay.cut()


async def _status_is(request: Any, status: int) -> bool:
    return bool((await request).status_code == status)
