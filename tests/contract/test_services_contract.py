"""Every installed service keeps the house contract: handler table, bindings, migrations, API surface."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sambang_contracts import REGISTRY
from sambang_runtime.bus.transport import topic_matches
from sambang_runtime.db import create_engine, drop_database, ensure_database
from sambang_runtime.migrations import upgrade_to_head
from sambang_runtime.service import ServiceDescriptor, discover_services
from sambang_runtime.testing import Servers
from sqlalchemy import text

SERVICES = discover_services()
IDS = [d.name for d in SERVICES]


def test_at_least_one_service_is_installed() -> None:
    assert SERVICES, "no service registered under the entry point group sambang.services"


@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_every_handler_key_names_known_events(descriptor: ServiceDescriptor) -> None:
    assert descriptor.spec is not None
    spec = descriptor.spec()
    for key, handlers in spec.handlers.items():
        assert handlers, f"{key} has an empty handler list"
        assert any(topic_matches(key, t) for t in REGISTRY), f"{descriptor.name}: {key} matches no event type"
        for h in handlers:
            assert h.__name__.startswith("when_"), f"{h.__name__}: handler names say the reaction (when_x_do_y)"


@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_a_service_never_consumes_its_own_events_by_accident(descriptor: ServiceDescriptor) -> None:
    assert descriptor.spec is not None
    own = descriptor.name.replace("simkim-gateway", "simkim") + "."
    for key in descriptor.spec().handlers:
        assert not key.startswith(own) or descriptor.name == "notifier", key


@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_prefixes_follow_api_md_and_do_not_overlap(descriptor: ServiceDescriptor) -> None:
    others = {p for d in SERVICES if d is not descriptor for p in d.prefixes}
    for p in descriptor.prefixes:
        assert p.startswith(("/v1/", "/internal/v1/", "/simkim/")), p
        assert p not in others


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_migrations_at_head_match_the_models(
    descriptor: ServiceDescriptor, backend: str, servers: Servers, tmp_path: Path
) -> None:
    assert descriptor.spec is not None and descriptor.migrations is not None
    assert any(descriptor.migrations.glob("versions/*.py")), f"{descriptor.name} has no migration yet"
    spec = descriptor.spec()
    url = servers.pg_url(f"mig_{descriptor.name}") if backend == "postgres" else f"sqlite+aiosqlite:///{tmp_path}/m.db"

    async def check() -> None:
        await ensure_database(url)
        try:
            await asyncio.to_thread(upgrade_to_head, descriptor.migrations, url)
            engine = create_engine(url)
            async with engine.connect() as conn:
                diffs = await conn.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), spec.metadata)
                )
                if backend == "postgres":  # no trigger on the outbox: a NOTIFY per commit serialises commits
                    trig = await conn.execute(
                        text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'outbox_message'::regclass")
                    )
                    assert trig.all() == [], "the outbox must carry no trigger (drop_outbox_notify_trigger)"
            await engine.dispose()
            assert diffs == [], f"{descriptor.name}: models and migrations differ: {diffs}"
        finally:
            await drop_database(url)

    asyncio.run(check())


@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_no_route_dependency_runs_in_the_thread_pool(descriptor: ServiceDescriptor, tmp_path: Path) -> None:
    """FastAPI runs a plain `def` dependency or endpoint on a worker thread: a thread hop and a GIL
    hand-over per request (measured in bench/booking.py). Every one must be `async def`."""
    from fastapi.routing import APIRoute
    from sambang_runtime.service import settings_for

    settings = settings_for(descriptor.name, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db", amqp_url="memory://")
    app = descriptor.create_app(settings)
    sync: list[str] = []

    def visit(dependant: Any, route: str) -> None:
        call = dependant.call
        if call is not None and not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)):
            sync.append(f"{route}: {getattr(call, '__qualname__', call)}")
        for sub in dependant.dependencies:
            visit(sub, route)

    def api_routes(routes: list[Any]) -> list[APIRoute]:
        # FastAPI keeps an included router whole (its `original_router`) rather than copying its routes.
        found: list[APIRoute] = []
        for r in routes:
            if isinstance(r, APIRoute):
                found.append(r)
            else:
                inner = getattr(getattr(r, "original_router", r), "routes", None)
                if inner is not None and inner is not routes:
                    found += api_routes(list(inner))
        return found

    routes = api_routes(list(app.routes))
    assert len(routes) > 5, "the walk found no routes: has FastAPI changed how it keeps included routers?"
    for r in routes:
        visit(r.dependant, f"{sorted(r.methods)} {r.path}")
    assert sync == [], "plain def dependencies/endpoints (run on a worker thread): " + "; ".join(sync)
