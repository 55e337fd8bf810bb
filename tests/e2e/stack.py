"""The real stack for end-to-end tests: `python -m sambang_runtime.launcher up` on this run's servers.

Each service runs as its own process (as `make up` runs them), plus the front door; RabbitMQ and
PostgreSQL are this run's (``sambang_runtime.testing.Servers``: a vhost and databases of its own,
removed at the end of the run). The environment is ``development``, so the launcher also starts the
SIMKIM simulator (``/simkim/...`` behind the front door), the payment service seeds the demo bank
partner (``DEV_PARTNER_*``), and the notifier runs its SMTP sink, read at ``/v1/dev/mailbox``.

API (imported by tests/e2e, tests/faults and bench; put ``tests/e2e`` on ``sys.path`` to import it):

- ``launched(servers, tmp_path, env=None) -> Stack`` (context manager): starts the launcher; ``env``
  adds or overrides ``SAMBANG_*`` settings (e.g. ``{"SAMBANG_PAYMENT_SWEEP_INTERVAL_SECONDS": "1"}``).
  On exit: SIGTERM, then SIGKILL of the whole process group after 30 s.
- ``Stack``: ``front_door`` (base URL of every REST path), ``amqp_url``, ``exchange``, ``proc``,
  ``log``, ``offset`` (port offset), ``output()`` (the end of the launcher's log), ``url(path)``.
- ``until(what, check, stack=None, timeout=60)``: poll an async ``check`` until it returns something
  truthy; fails saying ``what`` did not happen (and the end of the log, when given the stack).
- ``ready(client, stack)``: wait until the front door's /readyz says every service is up.
- ``officer(role, office="BLT", sub="e2e-officer")``: bearer headers of an officer, signed with the
  development secret the services verify.
- ``EventTap`` / ``tap(stack, keys=("#",))`` (async context manager): a queue of our own bound to the
  events exchange, as another government system binds one; every message is parsed with
  ``sambang_contracts.parse_event`` and kept (``events``), or its failure kept (``invalid``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from sambang_contracts import parse_event
from sambang_runtime.auth import DEV_HS256_SECRET, issue_dev_token
from sambang_runtime.launcher import FRONT_DOOR_PORT
from sambang_runtime.service import discover_services
from sambang_runtime.testing import Servers
from sqlalchemy.engine import make_url

#: The office the queue seeds in environment "development", as `make up` runs.
OFFICE = "BLT"


@dataclass
class Stack:
    """A running `launcher up`: every service its own process, the front door in front of them."""

    proc: subprocess.Popen[bytes]
    front_door: str
    log: Path
    amqp_url: str
    exchange: str
    offset: int

    def output(self) -> str:
        """The launcher's and its children's output so far (the end of it)."""
        return self.log.read_text(errors="replace")[-6000:]

    def url(self, path: str) -> str:
        """``path`` behind the front door."""
        return f"{self.front_door}{path}"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_offset() -> int:
    """A random port offset at which the front door and every service's port are free just now
    (other runs on this machine start stacks too)."""
    ports = [FRONT_DOOR_PORT, *(d.port for d in discover_services())]
    for _ in range(200):
        offset = 20000 + random.randrange(0, 900) * 10
        if all(_free(port + offset) for port in ports):
            return offset
    raise RuntimeError("no port offset with every port free")


@contextlib.contextmanager
def launched(servers: Servers, tmp_path: Path, env: Mapping[str, str] | None = None) -> Iterator[Stack]:
    """`python -m sambang_runtime.launcher up` on this run's servers, at a random port offset.

    ``env`` adds settings (``SAMBANG_...``) to the services' environment, after the defaults here."""
    offset = free_offset()
    uniq = uuid.uuid4().hex[:6]
    db_template = (
        make_url(servers.base_pg)
        .set(database="DBNAME")
        .render_as_string(hide_password=False)
        .replace("DBNAME", f"sambang_t{servers.run_id}_sv{uniq}_{{service}}")
    )
    for d in discover_services():  # registered so the run removes them afterwards
        servers.databases.append(f"sambang_t{servers.run_id}_sv{uniq}_{d.name.replace('-', '_')}")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SAMBANG_")}
    environment.update(
        {
            "SAMBANG_DATABASE_URL": db_template,
            "SAMBANG_AMQP_URL": servers.amqp_url(),
            "SAMBANG_EXCHANGE": f"sambang.events.{uniq}",
            "SAMBANG_QUEUE_PREFIX": f"sambang.{uniq}",
            "SAMBANG_ENVIRONMENT": "development",
            "SAMBANG_LOG_JSON": "true",
            "SAMBANG_LOG_LEVEL": "WARNING",
            "SAMBANG_RELAY_POLL_SECONDS": "0.5",
            **(env or {}),
        }
    )
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sambang_runtime.launcher", "up", "--port-offset", str(offset)],
            env=environment,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so the cleanup below can take the whole group down
        )
    stack = Stack(
        proc,
        f"http://127.0.0.1:{FRONT_DOOR_PORT + offset}",
        log,
        servers.amqp_url(),
        environment["SAMBANG_EXCHANGE"],
        offset,
    )
    try:
        yield stack
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


async def until(what: str, check: Callable[[], Awaitable[Any]], stack: Stack | None = None, timeout: float = 60) -> Any:
    """Poll ``check`` (async, returning a truthy value when done) until it holds; that value.

    HTTP errors count as "not yet". Fails with ``what`` (and, given the stack, the end of its log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack is not None:
            assert stack.proc.poll() is None, f"the launcher exited ({stack.proc.returncode}): {stack.output()}"
        with contextlib.suppress(httpx.HTTPError):
            if found := await check():
                return found
        await asyncio.sleep(0.3)
    tail = f": {stack.output()}" if stack else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{tail}")


async def ready(client: httpx.AsyncClient, stack: Stack, timeout: float = 120) -> dict[str, Any]:
    """Wait until the front door says every service is ready; its /readyz body."""

    async def check() -> dict[str, Any] | None:
        resp = await client.get(stack.url("/readyz"))
        return resp.json() if resp.status_code == 200 else None

    body: dict[str, Any] = await until("every service ready", check, stack, timeout=timeout)
    return body


def officer(role: str = "customer_care", office: str = OFFICE, sub: str = "e2e-officer") -> dict[str, str]:
    """Bearer headers of an officer (``role``) of ``office``, signed with the development secret."""
    return {"Authorization": f"Bearer {issue_dev_token(DEV_HS256_SECRET, sub=sub, office=office, roles=[role])}"}


@dataclass
class EventTap:
    """What our own queue on the events exchange received: parsed events, and what failed to parse."""

    events: list[Any] = field(default_factory=list)
    #: (routing key, error) of every message ``parse_event`` refused.
    invalid: list[tuple[str, str]] = field(default_factory=list)

    def of(self, type_: str, subject: str | None = None) -> list[Any]:
        """The events of one type (about one receipt number, when given), in arrival order."""
        return [e for e in self.events if e.type == type_ and (subject is None or str(e.subject) == subject)]

    def types(self, subject: str) -> list[str]:
        """The types of every event about one receipt number, in arrival order."""
        return [e.type for e in self.events if str(e.subject) == subject]

    async def wait_for(self, type_: str, subject: str | None = None, timeout: float = 60) -> Any:
        """The first event of ``type_`` (about ``subject``), waiting for it."""

        async def seen() -> Any:
            found = self.of(type_, subject)
            return found[0] if found else None

        return await until(f"event {type_} about {subject or 'anything'}", seen, timeout=timeout)


@contextlib.asynccontextmanager
async def tap(stack: Stack, keys: Sequence[str] = ("#",)) -> AsyncIterator[EventTap]:
    """Bind a queue of our own to the events exchange (as another government system would) and check
    every event it receives against the contracts; the tap while the block runs."""
    received = EventTap()
    connection = await aio_pika.connect_robust(stack.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(stack.exchange)
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        for key in keys:
            await queue.bind(exchange, key)

        async def record(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                try:
                    received.events.append(parse_event(message.body))
                except Exception as exc:  # kept, and the test says which
                    received.invalid.append((message.routing_key or "", f"{type(exc).__name__}: {exc}"[:500]))

        await queue.consume(record)
        yield received
    finally:
        await connection.close()


# -- one service's process (added for tests/faults: kill a service and watch the launcher restart it) --


def children(parent: int) -> dict[int, str]:
    """Live (not zombie) child processes of ``parent`` and their command lines, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        if int(stat[1]) == parent and stat[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def service_pid(stack: Stack, service: str) -> int | None:
    """The pid of the launcher's child running ``service`` (``python -m sambang_<service>``), if alive."""
    module = f"-m sambang_{service.replace('-', '_')}"
    found = [pid for pid, cmdline in children(stack.proc.pid).items() if cmdline.rstrip().endswith(module)]
    return found[0] if len(found) == 1 else None


async def kill_service(stack: Stack, service: str, timeout: float = 90) -> tuple[int, int]:
    """SIGKILL ``service``'s process and wait until the launcher has started a new one; (old, new) pids."""
    old = service_pid(stack, service)
    assert old is not None, f"no process of {service}: {stack.output()}"
    os.kill(old, signal.SIGKILL)

    async def restarted() -> int | None:
        pid = service_pid(stack, service)
        return pid if pid is not None and pid != old else None

    new: int = await until(f"{service} restarted by the launcher", restarted, stack, timeout=timeout)
    return old, new
