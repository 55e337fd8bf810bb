"""The real stack for end-to-end tests: `python -m sambang_runtime.launcher up` on this run's servers.

Each service runs as its own process (as `make up` runs them), plus the front door; RabbitMQ and
PostgreSQL are this run's (``sambang_runtime.testing.Servers``: a vhost and databases of its own,
removed at the end of the run). The environment is ``development``, so the launcher also starts the
SIMKIM simulator (``/simkim/...`` behind the front door), the payment service seeds the demo bank
partner (``DEV_PARTNER_*``), and the notifier runs its SMTP sink, read at ``/v1/dev/mailbox``.

API (imported by tests/e2e, tests/faults, tests/browser and bench; put ``tests/e2e`` on ``sys.path`` to
import it):

- ``launched(servers, tmp_path, env=None) -> Stack`` (context manager): starts the launcher; ``env``
  adds or overrides ``SAMBANG_*`` settings (e.g. ``{"SAMBANG_PAYMENT_SWEEP_INTERVAL_SECONDS": "1"}``).
  On exit: SIGTERM, then SIGKILL of the whole process group after 30 s.
- ``embedded(tmp_path, env=None) -> Launched`` (context manager): ``launcher run`` instead (`make run`:
  every service and the front door in one process, SQLite under ``tmp_path/var``, the in-memory bus),
  with no ``SAMBANG_*`` setting of this process but ``env``'s. On exit: SIGINT, then SIGKILL.
- ``Launched``: ``front_door`` (base URL of every REST path), ``proc``, ``log``, ``offset`` (port
  offset), ``output()`` (the end of the launcher's log), ``url(path)``, ``stop(signal)``; ``Stack``
  (up mode) adds ``amqp_url`` and ``exchange``.
- ``until(what, check, stack=None, timeout=60)``: poll an async ``check`` until it returns something
  truthy; fails saying ``what`` did not happen (and the end of the log, when given the stack).
- ``serving(launched, *bases)`` / ``wait_serving(...)`` (from synchronous code): wait until /readyz of
  the front door (and of each base URL given) answers 200; fails at once if the launcher exits.
  ``ready(client, stack)``: the same for the front door, returning its /readyz body.
- ``officer(role, office="BLT", sub="e2e-officer")``: bearer headers of an officer, signed with the
  development secret the services verify.
- ``bus_probe(stack, keys=("#",))``: a ``sambang_runtime.testing.BusProbe`` on the stack's events
  exchange (``async with``), as another government system binds a queue: every event parsed against
  the contracts and kept (``events``), or its failure kept (``invalid``).
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
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sambang_runtime.auth import DEV_HS256_SECRET, issue_dev_token
from sambang_runtime.launcher import FRONT_DOOR_PORT
from sambang_runtime.service import discover_services
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import BusProbe, Servers, wait_ready
from sqlalchemy.engine import make_url

#: The office the queue seeds in environment "development", as `make up` runs.
OFFICE = "BLT"


@dataclass
class Launched:
    """A running launcher (``up`` or ``run``), the front door in front of every service."""

    proc: subprocess.Popen[bytes]
    front_door: str
    log: Path
    offset: int

    def output(self, tail: int | None = 6000) -> str:
        """The launcher's and its children's output so far (its last ``tail`` characters; all with None)."""
        text = self.log.read_text(errors="replace")
        return text if tail is None else text[-tail:]

    def url(self, path: str) -> str:
        """``path`` behind the front door."""
        return f"{self.front_door}{path}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        """Send ``sig`` unless it has exited, and wait; its exit code, or None when it had not stopped
        after ``timeout`` seconds and its whole process group was killed."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                return None
        return self.proc.returncode


@dataclass
class Stack(Launched):
    """A running `launcher up`: every service its own process on the run's RabbitMQ and PostgreSQL."""

    amqp_url: str
    exchange: str


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


def _start(mode: str, tmp_path: Path, env: Mapping[str, str]) -> Launched:
    """``python -m sambang_runtime.launcher <mode>`` at a random port offset in ``tmp_path`` (its log
    there too), with this process's environment but its ``SAMBANG_*`` settings, the front door as the
    public base URL (the links the services write), and ``env``."""
    offset = free_offset()
    front_door = f"http://127.0.0.1:{FRONT_DOOR_PORT + offset}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SAMBANG_")}
    environment.update({"SAMBANG_PUBLIC_BASE_URL": front_door, **env})
    log = tmp_path / f"{mode}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sambang_runtime.launcher", mode, "--port-offset", str(offset)],
            env=environment,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so that stopping it can take the whole group down
        )
    return Launched(proc, front_door, log, offset)


@contextlib.contextmanager
def launched(servers: Servers, tmp_path: Path, env: Mapping[str, str] | None = None) -> Iterator[Stack]:
    """`python -m sambang_runtime.launcher up` on this run's servers, at a random port offset.

    ``env`` adds settings (``SAMBANG_...``) to the services' environment, after the defaults here."""
    uniq = uuid.uuid4().hex[:6]
    db_template = (
        make_url(servers.base_pg)
        .set(database="DBNAME")
        .render_as_string(hide_password=False)
        .replace("DBNAME", f"sambang_t{servers.run_id}_sv{uniq}_{{service}}")
    )
    for d in discover_services():  # registered so the run removes them afterwards
        servers.databases.append(f"sambang_t{servers.run_id}_sv{uniq}_{d.name.replace('-', '_')}")
    environment = {
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
    up = _start("up", tmp_path, environment)
    amqp, exchange = environment["SAMBANG_AMQP_URL"], environment["SAMBANG_EXCHANGE"]
    stack = Stack(up.proc, up.front_door, up.log, up.offset, amqp_url=amqp, exchange=exchange)
    try:
        yield stack
    finally:
        stack.stop(signal.SIGTERM)


@contextlib.contextmanager
def embedded(tmp_path: Path, env: Mapping[str, str] | None = None) -> Iterator[Launched]:
    """`python -m sambang_runtime.launcher run` (`make run`) at a random port offset: every service and
    the front door in one process, SQLite under ``tmp_path/var``, the in-memory bus; ``env`` adds
    settings. Stopped with SIGINT (Ctrl-C) on exit."""
    run = _start("run", tmp_path, {"SAMBANG_VAR_DIR": str(tmp_path / "var"), **(env or {})})
    try:
        yield run
    finally:
        run.stop(signal.SIGINT)


async def until(
    what: str, check: Callable[[], Awaitable[Any]], stack: Launched | None = None, timeout: float = 60
) -> Any:
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


async def serving(launched: Launched, *bases: str, timeout: float = 120) -> None:
    """Until /readyz of the front door and of each of ``bases`` answers 200
    (``sambang_runtime.testing.wait_ready``); fails at once, with the end of its log, if the launcher
    exits meanwhile."""
    answering = asyncio.ensure_future(
        asyncio.gather(*(wait_ready(base, timeout) for base in (launched.front_door, *bases)))
    )

    async def exited() -> None:
        while launched.proc.poll() is None and not answering.done():
            await asyncio.sleep(0.2)

    watch = asyncio.ensure_future(exited())
    try:
        either: set[asyncio.Future[Any]] = {answering, watch}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
    if not answering.done():
        answering.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await answering
        raise AssertionError(f"the launcher exited ({launched.proc.returncode}): {launched.output()}")
    answering.result()


def wait_serving(launched: Launched, *bases: str, timeout: float = 120) -> None:
    """``serving`` for synchronous code (a session fixture, a plain test), on a thread of its own so
    that no event loop of the caller's is touched."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, serving(launched, *bases, timeout=timeout)).result()


async def ready(client: httpx.AsyncClient, stack: Launched, timeout: float = 120) -> dict[str, Any]:
    """Wait until the front door says every service is ready; its /readyz body."""
    await serving(stack, timeout=timeout)
    body: dict[str, Any] = (await client.get(stack.url("/readyz"))).json()
    return body


def officer(role: str = "customer_care", office: str = OFFICE, sub: str = "e2e-officer") -> dict[str, str]:
    """Bearer headers of an officer (``role``) of ``office``, signed with the development secret."""
    return {"Authorization": f"Bearer {issue_dev_token(DEV_HS256_SECRET, sub=sub, office=office, roles=[role])}"}


def bus_probe(stack: Stack, keys: tuple[str, ...] = ("#",)) -> BusProbe:
    """A probe on the stack's events exchange, as another government system binds a queue of its own:
    every event checked against the contracts (``async with bus_probe(stack) as probe``)."""
    return BusProbe(RuntimeSettings(amqp_url=stack.amqp_url, exchange=stack.exchange), keys)


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
