"""The command line behind the Makefile: run, up, migrate, new-migration, replay-parked, token.

python -m sambang_runtime.launcher run              # embedded mode, one process
python -m sambang_runtime.launcher up               # each service its own process, real servers
python -m sambang_runtime.launcher migrate [svc]    # apply migrations to the configured databases
python -m sambang_runtime.launcher new-migration svc "message"
python -m sambang_runtime.launcher replay-parked svc
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .auth import DEV_HS256_SECRET, ROLES, issue_dev_token
from .bus.amqp import AmqpTransport
from .bus.transport import Transport
from .db import ensure_database
from .migrations import new_revision, upgrade_to_head
from .service import ServiceDescriptor, build_transport, discover_services, settings_for
from .supervisor import ChildSpec, Supervisor, install_stop_signals

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/sambang_{service}"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
FRONT_DOOR_PORT = 8000
#: The front door of ``up`` connects to the services from here (it proxies to 127.0.0.1).
LOOPBACK_PROXIES = "127.0.0.1/32,::1/128"


def _find(name: str) -> ServiceDescriptor:
    """Load only the named service's entry point: a broken neighbour must not block this one."""
    from importlib.metadata import entry_points

    eps = entry_points(group="sambang.services")
    for ep in eps:
        if ep.name == name:
            found = ep.load()
            if isinstance(found, ServiceDescriptor):
                return found
    known = ", ".join(sorted(ep.name for ep in eps)) or "none"
    raise SystemExit(f"unknown service {name!r} (installed: {known})")


async def declare_topology(transport: Transport, services: Sequence[ServiceDescriptor], queue_prefix: str) -> None:
    """Declare every consuming service's queue before any service publishes, so nothing is unroutable."""
    for d in services:
        handlers = d.spec().handlers if d.spec is not None else {}
        if handlers:
            await transport.declare_service_queue(f"{queue_prefix}.{d.name}", sorted(handlers))


def _dev_tokens(office: str = "BLT") -> dict[str, str]:
    secret = os.environ.get("SAMBANG_AUTH_HS256_SECRET", DEV_HS256_SECRET)
    return {
        role: issue_dev_token(secret, sub=f"demo-{role.replace('_', '-')}", office=office, roles=[role])
        for role in sorted(ROLES)
    }


def _banner(services: Sequence[ServiceDescriptor], mode: str, offset: int = 0, *, development: bool = True) -> str:
    door = f"http://127.0.0.1:{FRONT_DOOR_PORT + offset}"
    lines = [f"Sambang is running ({mode}).", "", f"  front door      {door}/   (services: {door}/about)"]
    lines += [
        f"  applicants      {door}/",
        f"  kiosk           {door}/kiosk/",
        f"  display board   {door}/display/",
        f"  sambang tablet  {door}/tablet/",
    ]
    for d in services:
        lines.append(f"  {d.name:<15} http://127.0.0.1:{d.port + offset}/docs   (ready: /readyz)")
    if development:
        # Demo tokens exist only in development: elsewhere they would be real keys to every role in a log.
        lines += ["", "Demo officer tokens for office BLT (Authorization: Bearer <token>):"]
        for role, token in _dev_tokens().items():
            lines.append(f"  {role:<16} {token}")
    lines += ["", "Stop with Ctrl-C."]
    return "\n".join(lines)


async def _run_embedded(host: str, offset: int = 0) -> None:
    import uvicorn

    from .bus.memory import InMemoryBroker
    from .frontdoor import build_front_door
    from .logs import configure_logging

    configure_logging(os.environ.get("SAMBANG_LOG_LEVEL", "INFO"))
    # Services that call another over HTTP (the gateway and the notifier call capture) find it at its
    # port plus this offset, as under `up`.
    os.environ["SAMBANG_PORT_OFFSET"] = str(offset)
    var = Path(os.environ.get("SAMBANG_VAR_DIR", "var"))
    services = discover_services()
    broker = InMemoryBroker(retry_delay_ms=2000)
    apps = []
    for d in services:
        settings = settings_for(
            d.name,
            database_url=f"sqlite+aiosqlite:///{var}/{{service}}.db",
            amqp_url="memory://",
            environment="development",
        )
        apps.append((d, d.create_app(settings, transport=broker)))

    probes = {d.name: (lambda a=app: a.state.runtime.readiness()) for d, app in apps}
    front = build_front_door({d.public_prefixes: app for d, app in apps}, services, probes)
    # The front door dispatches in-process: a service sees the client's own connection (scope
    # "client"), no proxy in between: SAMBANG_TRUSTED_PROXIES stays empty and X-Forwarded-For is ignored.
    # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 peers.
    quiet: dict[str, Any] = {"host": host, "log_config": None, "access_log": False, "proxy_headers": False}
    servers = [uvicorn.Server(uvicorn.Config(app, port=d.port + offset, lifespan="on", **quiet)) for d, app in apps]
    servers.append(uvicorn.Server(uvicorn.Config(front, port=FRONT_DOOR_PORT + offset, lifespan="off", **quiet)))

    async def announce() -> None:
        while not all(s.started for s in servers):  # noqa: ASYNC110 - uvicorn offers no started event
            await asyncio.sleep(0.1)
        print(_banner(services, "embedded mode: in-memory bus, SQLite under ./var", offset), flush=True)

    await broker.start()
    await declare_topology(broker, services, "sambang")
    try:
        await asyncio.gather(*(s.serve() for s in servers), announce())
    finally:
        await broker.close()


def cmd_run(args: argparse.Namespace) -> int:
    """Embedded mode: every service, the front door, in-memory bus, SQLite."""
    import uvloop

    Path(os.environ.get("SAMBANG_VAR_DIR", "var")).mkdir(exist_ok=True)
    # uvicorn re-raises Ctrl-C after a graceful shutdown; that is a normal stop.
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(_run_embedded(args.host, args.port_offset))
    print("Sambang stopped.", flush=True)
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    """Each service its own process against RabbitMQ and PostgreSQL, plus the front door proxy;
    a process that exits is restarted (supervisor.py), Ctrl-C or SIGTERM stops them all."""
    from .logs import configure_logging

    # `make up` says development out loud; an operator running production says so (and brings keys).
    os.environ.setdefault("SAMBANG_ENVIRONMENT", "development")
    own = settings_for("launcher")  # a production start with a missing key stops here, in one line
    configure_logging(own.log_level, json=own.log_json)
    env = dict(os.environ)
    env.setdefault("SAMBANG_DATABASE_URL", DEFAULT_PG)
    env.setdefault("SAMBANG_AMQP_URL", DEFAULT_AMQP)
    # The front door proxies from loopback: the services believe its X-Forwarded-For entries.
    env.setdefault("SAMBANG_TRUSTED_PROXIES", LOOPBACK_PROXIES)
    offset = args.port_offset
    env["SAMBANG_PORT_OFFSET"] = str(offset)
    # The SIMKIM simulator is a development aid: a production `up` talks to the SIMKIM it is given.
    services = [d for d in discover_services() if own.development or not d.development_only]
    for d in services:  # migrations applied before anything serves, one service at a time
        url = settings_for(d.name, database_url=env["SAMBANG_DATABASE_URL"]).service_db_url
        asyncio.run(ensure_database(url))
        if d.migrations is not None:
            upgrade_to_head(d.migrations, url)

    async def declare() -> None:
        # The same settings the services read, so queue arguments match theirs exactly.
        settings = settings_for("launcher", amqp_url=env["SAMBANG_AMQP_URL"])
        transport = build_transport(settings)
        await transport.start()
        try:
            await declare_topology(transport, services, settings.queue_prefix)
        finally:
            await transport.close()

    asyncio.run(declare())
    children = [
        ChildSpec(
            d.name,
            [sys.executable, "-m", f"sambang_{d.name.replace('-', '_')}"],
            {**env, "SAMBANG_PORT": str(d.port + offset)},
        )
        for d in services
    ]
    children.append(
        ChildSpec(
            "front-door",
            [sys.executable, "-m", "sambang_runtime.frontdoor"],
            {**env, "SAMBANG_PORT": str(FRONT_DOOR_PORT + offset)},
        )
    )
    supervisor = Supervisor(children, grace_seconds=args.grace_seconds)
    install_stop_signals(supervisor)  # before the children exist, so a stop never orphans one
    supervisor.start()
    mode = f"each service its own process on RabbitMQ and PostgreSQL, {own.environment}"
    print(_banner(services, mode, offset, development=own.development), flush=True)
    try:
        supervisor.run()
    finally:
        clean = supervisor.stop()
    return 0 if clean else 1


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply every migration of each (or one) service to its configured database."""
    services = [_find(args.service)] if args.service else discover_services()
    for d in services:
        url = settings_for(d.name).service_db_url
        asyncio.run(ensure_database(url))
        if d.migrations is not None:
            upgrade_to_head(d.migrations, url)
            print(f"{d.name}: migrated to head")
    return 0


def cmd_new_migration(args: argparse.Namespace) -> int:
    """Autogenerate a revision for one service against a scratch SQLite database."""
    d = _find(args.service)
    if d.migrations is None:
        raise SystemExit(f"{d.name} has no migrations folder")
    with tempfile.TemporaryDirectory() as tmp:
        new_revision(d.migrations, f"sqlite+aiosqlite:///{tmp}/scratch.db", args.message)
    return 0


def cmd_replay_parked(args: argparse.Namespace) -> int:
    """Put the parked messages of one service back on its queue."""
    d = _find(args.service)
    settings = settings_for(d.name)
    if settings.amqp_url.startswith("memory://"):
        settings = settings_for(d.name, amqp_url=DEFAULT_AMQP)

    async def replay() -> int:
        transport = AmqpTransport(settings.amqp_url, exchange=settings.exchange)
        await transport.start()
        try:
            before = await transport.queue_depths(settings.queue_name)
            moved = await transport.replay_parked(settings.queue_name, limit=args.limit)
            print(f"{d.name}: {moved} of {before['parked']} parked message(s) put back on {settings.queue_name}")
            return moved
        finally:
            await transport.close()

    asyncio.run(replay())
    return 0


def cmd_rotate_data_key(args: argparse.Namespace) -> int:
    """Re-encrypt every stored personal field and image of each (or one) service under the active PII key
    (the last of SAMBANG_PII_KEYS), while the services run: put the new key last, restart the services so
    they write with it, run this, then drop the old key once every service reports nothing left."""
    from .service import ServiceRuntime

    services = [_find(args.service)] if args.service else discover_services()

    async def rotate(d: ServiceDescriptor) -> int | None:
        if d.spec is None:
            return None
        spec = d.spec()
        if spec.rotate_data_key is None:
            return None
        runtime = ServiceRuntime(spec, settings_for(d.name))
        try:
            return await spec.rotate_data_key(runtime)
        finally:
            await runtime.engine.dispose()

    for d in services:
        rewritten = asyncio.run(rotate(d))
        if rewritten is None:
            print(f"{d.name}: nothing encrypted to rotate")
        else:
            print(f"{d.name}: {rewritten} value(s) re-encrypted under the active key")
    return 0


def cmd_topology(args: argparse.Namespace) -> int:
    """Print the RabbitMQ definitions of every installed service."""
    from .deployment import rabbitmq_definitions

    print(json.dumps(rabbitmq_definitions(discover_services()), indent=2, sort_keys=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one command."""
    ap = argparse.ArgumentParser(prog="sambang", description="Run and operate Sambang.")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="embedded mode (no servers needed)")
    run.add_argument("--host", default=os.environ.get("SAMBANG_HOST", "127.0.0.1"))
    run.add_argument(
        "--port-offset",
        type=int,
        default=int(os.environ.get("SAMBANG_PORT_OFFSET", "0")),
        help="add this to every port (to run beside another instance)",
    )
    run.set_defaults(func=cmd_run)
    up = sub.add_parser("up", help="each service its own process on RabbitMQ and PostgreSQL")
    up.add_argument("--port-offset", type=int, default=int(os.environ.get("SAMBANG_PORT_OFFSET", "0")))
    up.add_argument(
        "--grace-seconds",
        type=float,
        default=10.0,
        help="on stop, how long the processes get after SIGTERM before SIGKILL",
    )
    up.set_defaults(func=cmd_up)
    mig = sub.add_parser("migrate", help="apply migrations")
    mig.add_argument("service", nargs="?")
    mig.set_defaults(func=cmd_migrate)
    new = sub.add_parser("new-migration", help="autogenerate a migration")
    new.add_argument("service")
    new.add_argument("message")
    new.set_defaults(func=cmd_new_migration)
    rot = sub.add_parser("rotate-data-key", help="re-encrypt stored personal data under the active PII key")
    rot.add_argument("service", nargs="?")
    rot.set_defaults(func=cmd_rotate_data_key)
    rp = sub.add_parser("replay-parked", help="put parked messages back on the service queue")
    rp.add_argument("service")
    rp.add_argument("--limit", type=int, default=None)
    rp.set_defaults(func=cmd_replay_parked)
    sub.add_parser("topology", help="print RabbitMQ definitions derived from the handler tables").set_defaults(
        func=cmd_topology
    )
    args = ap.parse_args(argv)
    from pydantic import ValidationError

    from .secrets import one_line

    try:
        result: int = args.func(args)
    except ValidationError as error:
        # Fail closed with one line naming the variable (sambang_runtime.secrets).
        print(f"sambang: refusing to start: {one_line(error)}", file=sys.stderr, flush=True)
        return 78
    return result


if __name__ == "__main__":
    raise SystemExit(main())
