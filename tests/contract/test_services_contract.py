"""Every installed service keeps the house contract: handler table, bindings, migrations, API surface."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.routing import APIRoute
from sambang_contracts import REGISTRY
from sambang_runtime.bus.transport import topic_matches
from sambang_runtime.db import create_engine, drop_database, ensure_database
from sambang_runtime.errors import DomainError, ErrorCatalogue
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


# --- the service shape of docs/SERVICE_GUIDE.md ---------------------------------------------------


#: Calls that read the wall clock: a service takes time from ``uow.now()`` / ``runtime.clock``.
WALL_CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time")}
#: What only ``stores/`` may do: run statements on a connection or session.
SQL_CALLS = {"execute", "exec", "scalar", "scalars", "run_atomic", "connection"}


def _package(descriptor: ServiceDescriptor) -> ModuleType:
    return importlib.import_module(descriptor.create_app.__module__.rsplit(".", 1)[0])


def _sources(package: ModuleType, under: str = "") -> list[Path]:
    """The package's source files, without those of another service nested in it (the SIMKIM simulator)."""
    root = Path(package.__file__ or "").parent
    nested = [
        Path(other.__file__ or "").parent
        for other in (_package(d) for d in SERVICES)
        if other is not package and Path(other.__file__ or "").parent.is_relative_to(root)
    ]
    return sorted(
        p
        for p in (root / under).rglob("*.py")
        if "__pycache__" not in p.parts and not any(p.is_relative_to(n) for n in nested)
    )


def _dotted(node: ast.AST) -> tuple[str, ...]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return tuple(reversed(parts))


def _service_routes(descriptor: ServiceDescriptor, tmp_path: Path) -> list[APIRoute]:
    from sambang_runtime.service import settings_for

    settings = settings_for(descriptor.name, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db", amqp_url="memory://")
    app = descriptor.create_app(settings)
    return [
        r
        for r in app.routes
        if isinstance(r, APIRoute) and not getattr(r.endpoint, "__module__", "").startswith("sambang_runtime")
    ]


@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_every_route_declares_what_it_returns(descriptor: ServiceDescriptor, tmp_path: Path) -> None:
    """/docs must show what comes back: a response model on every route but 204s and declared non-JSON ones."""
    missing = []
    for r in _service_routes(descriptor, tmp_path):
        if r.response_model is not None or r.status_code == 204:
            continue
        declared_other = any("content" in spec for spec in r.responses.values())
        if not declared_other:
            missing.append(f"{sorted(r.methods)} {r.path}")
    assert missing == [], "routes without a response model: " + "; ".join(missing)


@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_every_route_lives_under_the_services_prefixes(descriptor: ServiceDescriptor, tmp_path: Path) -> None:
    """Routers are prefixed, so the front door's prefix table routes every path to its service."""
    stray = [r.path for r in _service_routes(descriptor, tmp_path) if not r.path.startswith(descriptor.prefixes)]
    assert stray == [], f"{descriptor.name}: paths outside {descriptor.prefixes}: {stray}"
    api = importlib.import_module(f"{_package(descriptor).__name__}.api")
    routers = getattr(api, "ROUTERS", None)
    assert routers, f"{descriptor.name}: api/__init__.py has no ROUTERS"
    assert all(r.prefix for r in routers), "every router of ROUTERS has a prefix (one router per resource)"


@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_route_modules_run_no_sql(descriptor: ServiceDescriptor) -> None:
    """Routes call stores and the domain; only stores/ touch SQL (SERVICE_GUIDE: the layers)."""
    package = _package(descriptor)
    api = _sources(package, "api")
    assert api, f"{descriptor.name} has no api/ package"
    found: list[str] = []
    for path in api:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in {"sqlalchemy", "sqlmodel"}:
                found.append(f"{path.name}:{node.lineno} imports from {node.module}")
            if isinstance(node, ast.Import) and any(
                a.name.split(".")[0] in {"sqlalchemy", "asyncpg"} for a in node.names
            ):
                found.append(f"{path.name}:{node.lineno} imports a database driver")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
                found.append(f"{path.name}:{node.lineno} calls .{node.func.attr}()")
    assert found == [], f"{descriptor.name}: SQL in route modules: " + "; ".join(found)


@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_handlers_are_one_module_level_table_of_plain_functions(descriptor: ServiceDescriptor) -> None:
    """STYLE.md rule 5: ``HANDLERS = {"event.type": [when_x_do_y]}`` of plain ``(event, uow)`` functions."""
    package = _package(descriptor)
    assert descriptor.spec is not None
    if not descriptor.spec().handlers and not (Path(package.__file__ or "").parent / "handlers.py").exists():
        return  # consumes no event (the SIMKIM simulator): no table to keep
    handlers = importlib.import_module(f"{package.__name__}.handlers")
    table = getattr(handlers, "HANDLERS", None)
    assert isinstance(table, dict), f"{descriptor.name}: handlers.py has no module-level HANDLERS dict"
    assert descriptor.spec is not None
    assert descriptor.spec().handlers == table, "the spec must register exactly handlers.HANDLERS"
    for key, functions in table.items():
        for fn in functions:
            assert inspect.iscoroutinefunction(fn), f"{key}: {fn!r} is not an async function"
            assert fn.__qualname__ == fn.__name__, f"{key}: {fn.__qualname__} is not a module-level function"
            assert list(inspect.signature(fn).parameters) == ["event", "uow"], f"{fn.__name__}: (event, uow)"


@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_every_domain_error_code_is_in_the_services_catalogue(descriptor: ServiceDescriptor) -> None:
    """A typo in a code would answer 500: every ``DomainError("code")`` in the source is catalogued."""
    package = _package(descriptor)
    errors = importlib.import_module(f"{package.__name__}.errors")
    catalogue = getattr(errors, "ERRORS", None)
    assert isinstance(catalogue, ErrorCatalogue), f"{descriptor.name}: errors.py has no ERRORS catalogue"
    assert descriptor.spec is not None and descriptor.spec().errors is catalogue
    raised: set[str] = set()
    subclasses = {c.__name__ for c in _all_subclasses(DomainError)} | {"DomainError"}
    for path in _sources(package):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and _dotted(node.func)[-1:] in {(name,) for name in subclasses}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                raised.add(node.args[0].value)
    assert raised, f"{descriptor.name}: no DomainError raised anywhere? the scan is broken"
    assert sorted(raised - set(catalogue)) == [], "codes raised but not catalogued"


def _all_subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_all_subclasses(sub)}
    return found


@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_services_read_time_from_their_clock(descriptor: ServiceDescriptor) -> None:
    """``uow.now()`` / ``runtime.clock`` give the time, so tests move a FakeClock instead of sleeping."""
    found = []
    for path in _sources(_package(descriptor)):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and _dotted(node.func)[-2:] in WALL_CLOCK_CALLS:
                found.append(f"{path.name}:{node.lineno} {'.'.join(_dotted(node.func))}()")
    assert found == [], f"{descriptor.name} reads the wall clock: " + "; ".join(found)


# --- the second storey: rooms for loops, outside systems and use cases ------------------------------------

#: Libraries that talk to an outside system (or decode its media); only ``adapters/`` imports them.
OUTSIDE_LIBRARIES = {"httpx", "aiosmtplib", "smtplib", "cv2", "PIL", "socket", "aiohttp", "requests", "urllib.request"}
#: What a store may not hand across its edge: rows the type checker cannot see into.
UNTYPED_ROWS = ("Row[", "Row,", "RowMapping", "CursorResult", "Result[", "Sequence[Row")


def _room(path: Path, root: Path) -> str:
    """The room a source file is in: its first folder under the package, or the module's own name."""
    rel = path.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def room_violations(root: Path, files: list[Path] | None = None) -> list[str]:
    """Everything in a service package at ``root`` that stands outside its room (SERVICE_GUIDE: the rooms).

    - a loop (an ``async def`` whose ``while`` awaits) outside ``background/`` and ``adapters/``;
    - an import of an outside-system library outside ``adapters/``;
    - an entry point reaching into another: anything but ``api/`` importing from ``api/``, or a router
      module importing from another router module (only ``deps`` and ``schemas`` are shared);
    - a store function whose signature carries untyped rows (``Row[Any]``, ``**values: Any``).
    """
    found: list[str] = []
    for path in files if files is not None else sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        room = _room(path, root)
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.AsyncFunctionDef) and room not in {"background", "adapters"}:
                for loop in (n for n in ast.walk(node) if isinstance(n, ast.While)):
                    if any(isinstance(n, ast.Await) for n in ast.walk(loop)):
                        found.append(f"{rel}:{loop.lineno} a loop in {node.name}() belongs in background/")
                        break
            modules: list[tuple[str, int]] = []
            if isinstance(node, ast.Import):
                modules = [(a.name, node.lineno) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [(node.module, node.lineno)]
            for module, line in modules:
                if room != "adapters" and any(
                    module == lib or module.startswith(lib + ".") for lib in OUTSIDE_LIBRARIES
                ):
                    found.append(f"{rel}:{line} imports {module}: outside systems are reached from adapters/")
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                target = _relative_target(path, root, node)
                if target and target[0] == "api" and room not in {"api", "app"}:  # app.py composes ROUTERS
                    found.append(
                        f"{rel}:{node.lineno} imports from api/: a change two entry points share is a use case"
                    )
                if (
                    room == "api"
                    and target
                    and target[0] == "api"
                    and len(target) > 1
                    and target[1] not in {"deps", "schemas", "__init__"}
                    and path.stem not in {"__init__", target[1]}
                ):
                    found.append(f"{rel}:{node.lineno} a router imports router api/{target[1]}: move it to usecases/")
        if room == "stores":
            found += _untyped_store_edges(tree, rel)
    return found


def _relative_target(path: Path, root: Path, node: ast.ImportFrom) -> tuple[str, ...]:
    """The package-relative parts an ``from ..x.y import z`` names (plus the names, for ``from . import api``)."""
    base = path.relative_to(root).parent.parts
    if node.level - 1 > len(base):
        return ()
    parts = base[: len(base) - (node.level - 1)] + tuple((node.module or "").split(".") if node.module else ())
    if not node.module and not parts:
        return tuple(a.name for a in node.names)[:1]
    return tuple(p for p in parts if p)


def _untyped_store_edges(tree: ast.Module, rel: str) -> list[str]:
    found: list[str] = []
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or fn.name.startswith("_"):
            continue
        returns = ast.unparse(fn.returns) if fn.returns is not None else ""
        if any(marker in returns for marker in UNTYPED_ROWS) or returns in {"Any", "Row"}:
            found.append(f"{rel}:{fn.lineno} {fn.name}() returns {returns}: return a dataclass")
        if fn.args.kwarg is not None and ast.unparse(fn.args.kwarg.annotation or ast.Constant(None)) in {"Any", "None"}:
            found.append(f"{rel}:{fn.lineno} {fn.name}(**{fn.args.kwarg.arg}): take typed arguments or a dataclass")
        for arg in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs):
            if arg.annotation is not None and ast.unparse(arg.annotation) in {"Any", "Row[Any]"}:
                found.append(f"{rel}:{fn.lineno} {fn.name}({arg.arg}: Any): type what crosses a store's edge")
    return found


@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_loops_outside_calls_and_shared_changes_live_in_their_rooms(descriptor: ServiceDescriptor) -> None:
    """SERVICE_GUIDE, the rooms: background/ for loops, adapters/ for outside systems, usecases/ for a
    change more than one entry point makes; stores return typed rows."""
    package = _package(descriptor)
    root = Path(package.__file__ or "").parent
    found = room_violations(root, _sources(package))
    assert found == [], f"{descriptor.name}: out of its room: " + "; ".join(found)


@pytest.mark.parametrize("descriptor", SERVICES, ids=IDS)
def test_background_loops_are_defined_in_background(descriptor: ServiceDescriptor) -> None:
    """Every loop the runtime starts for a service (``ServiceSpec.background``) is written in its background/."""
    assert descriptor.spec is not None
    package = _package(descriptor).__name__
    for fn in descriptor.spec().background:
        module = getattr(fn, "__module__", "") or ""
        assert module.startswith(f"{package}.background"), f"{descriptor.name}: {fn!r} lives in {module}"


def test_the_room_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The checker can fail: a made-up package breaking each rule is caught, one finding per rule."""
    root = tmp_path / "sambang_bad"
    for folder, name, source in [
        ("api", "tickets.py", "from .visits import close_visit\n"),
        ("api", "visits.py", "async def close_visit():\n    pass\n"),
        ("", "handlers.py", "from .api.visits import close_visit\n"),
        ("", "worker.py", "import asyncio\nasync def loop():\n    while True:\n        await asyncio.sleep(1)\n"),
        ("stores", "apps.py", "from typing import Any\nasync def get(uow, **values: Any) -> Row[Any]:\n    pass\n"),
        ("usecases", "submit.py", "import httpx\n"),
        (
            "background",
            "sweeper.py",
            "import asyncio\nasync def sweep():\n    while True:\n        await asyncio.sleep(1)\n",
        ),
        ("adapters", "simkim.py", "import httpx\n"),
    ]:
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / name).write_text(source)
    found = room_violations(root)
    assert len(found) == 6, found
    assert any("a router imports router api/visits" in f for f in found)
    assert any(f.startswith("handlers.py") and "imports from api/" in f for f in found)
    assert any(f.startswith("worker.py") and "belongs in background/" in f for f in found)
    assert any("returns Row[Any]" in f for f in found) and any("**values" in f for f in found)
    assert any(f.startswith("usecases/submit.py") and "httpx" in f for f in found)
