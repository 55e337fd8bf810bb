"""What the benchmarks share (not a benchmark itself: `make bench` skips it): the servers of the run,
the settings of a benched service, its process (started, ready, stopped), the raw aio-pika baseline's
exchange and queue, a fixed offered rate, percentiles, and the JSON lines they print.

A bench imports it as ``_harness`` (a script's own folder is on ``sys.path``) and ends with
``main(bench, serve=...)``: the same script is also the server process it starts (``--serve ...``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import aio_pika
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import DEFAULT_AMQP, DEFAULT_PG, own_vhost, wait_ready
from sqlalchemy.engine import make_url

HOST = "127.0.0.1"

# -- the servers ------------------------------------------------------------------------------------------


def amqp_url() -> str:
    """The run's RabbitMQ: its own virtual host once ``main`` made one (child processes inherit it)."""
    return os.environ.get("SAMBANG_TEST_AMQP_URL", DEFAULT_AMQP)


def pg_url() -> str:
    """The PostgreSQL server the benches make their databases on."""
    return os.environ.get("SAMBANG_TEST_DATABASE_URL", DEFAULT_PG)


def database_url(name: str, base: str | None = None) -> str:
    """The URL of database ``name`` on the server of ``base`` (default: ``pg_url()``)."""
    return make_url(base or pg_url()).set(database=name).render_as_string(hide_password=False)


def run_id() -> str:
    """A short id naming this run's exchange, queues and databases."""
    return uuid.uuid4().hex[:6]


def bench_settings(service: str, url: str, run: str, **overrides: Any) -> RuntimeSettings:
    """A benched service's settings: its database ``url``, the run's exchange and queue prefix,
    warnings only; ``overrides`` set any other field."""
    values: dict[str, Any] = {
        "environment": "test",
        "service_name": service,
        "database_url": url,
        "amqp_url": amqp_url(),
        "exchange": f"bench.events.{run}",
        "queue_prefix": f"bench.{run}",
        "log_level": "WARNING",
        "log_json": True,
        **overrides,
    }
    return RuntimeSettings(**values)


async def remove_broker_objects(settings: RuntimeSettings, *, exchange: bool = True) -> None:
    """Best effort: the service's queues (its own, retry, parked) and, with ``exchange``, the exchange."""
    conn = await aio_pika.connect_robust(settings.amqp_url)
    try:
        channel = await conn.channel()
        for queue in (settings.queue_name, f"{settings.queue_name}.retry", f"{settings.queue_name}.parked"):
            with contextlib.suppress(Exception):  # best effort cleanup (a failed call closes the channel)
                await channel.queue_delete(queue)
            if channel.is_closed:
                channel = await conn.channel()
        if exchange:
            with contextlib.suppress(Exception):  # best effort cleanup
                await channel.exchange_delete(settings.exchange)
    finally:
        await conn.close()


# -- processes ---------------------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def base_url(port: int) -> str:
    """``http://127.0.0.1:<port>``."""
    return f"http://{HOST}:{port}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) used so far; Linux /proc, else NaN."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def serve(app: Any, port: int) -> None:
    """A server process's body: ``app`` under uvicorn with uvloop on a loopback port, as deployed."""
    import uvicorn

    uvicorn.run(app, host=HOST, port=port, log_config=None, access_log=False, loop="uvloop")


def server_args() -> argparse.Namespace:
    """The flags ``start`` hands a bench's own server process: ``--serve <database url> --run <id> --port <n>``
    and what else the bench adds (``--concurrency``)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve")
    ap.add_argument("--run")
    ap.add_argument("--port", type=int)
    ap.add_argument("--concurrency", type=int)
    return ap.parse_known_args()[0]


async def start(
    *argv: str, ready: str | None = None, env: dict[str, str] | None = None, patience: float = 60
) -> asyncio.subprocess.Process:
    """``python <argv>`` (a bench script with its ``--serve`` flags, or ``-m sambang_<service>``); with
    ``ready`` (its base URL), once /readyz answers 200 (within ``patience`` seconds). Fails at once if
    the process exits first."""
    proc = await asyncio.create_subprocess_exec(sys.executable, *argv, env=env)
    if ready is not None:
        try:
            await until_ready(ready, proc, patience)
        except BaseException:
            await stop([proc])
            raise
    return proc


async def until_ready(base: str, proc: asyncio.subprocess.Process, patience: float = 60) -> None:
    """Until ``base``/readyz answers 200 (``sambang_runtime.testing.wait_ready``); fails if ``proc``
    exits meanwhile."""
    ready = asyncio.ensure_future(wait_ready(base, patience))
    exited = asyncio.ensure_future(proc.wait())
    try:
        await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        exited.cancel()
    if not ready.done():
        ready.cancel()
        raise RuntimeError(f"{base}: the server exited ({proc.returncode}) before it was ready")
    ready.result()


async def stop(procs: Iterable[asyncio.subprocess.Process | None], patience: float | None = None) -> None:
    """SIGTERM every process still running, then wait for each (at most ``patience`` seconds each)."""
    running = [p for p in procs if p is not None and p.returncode is None]
    for p in running:
        p.terminate()
    for p in running:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(p.wait(), patience)


# -- load -------------------------------------------------------------------------------------------------


async def offered(rate: float, total: int) -> AsyncIterator[int]:
    """0, 1, ... ``total - 1``, each at its time of a steady ``rate`` per second from now (never early;
    late ones at once, so a slow consumer does not lower the rate offered)."""
    begin = time.perf_counter()
    for i in range(total):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        yield i


async def until(done: Callable[[], bool], patience: float, every: float = 0.05) -> bool:
    """Poll ``done`` until it holds or ``patience`` seconds passed; whether it holds (a bench reports
    what arrived rather than fail)."""
    deadline = time.perf_counter() + patience
    while not done() and time.perf_counter() < deadline:  # noqa: ASYNC110 - bounded wait, then report
        await asyncio.sleep(every)
    return done()


@contextlib.asynccontextmanager
async def raw_queue(
    url: str, name: str, key: str, *, quorum: bool, prefetch: int | None = None
) -> AsyncIterator[tuple[aio_pika.abc.AbstractExchange, aio_pika.abc.AbstractQueue]]:
    """The raw baseline's plumbing, plain aio-pika: an auto-delete topic exchange ``name`` on a channel
    with publisher confirms, and a queue ``name`` bound to ``key`` on a second channel, either durable
    quorum (deleted afterwards) or exclusive auto-delete."""
    conn = await aio_pika.connect_robust(url)
    try:
        pub = await conn.channel(publisher_confirms=True)
        cons = await conn.channel()
        if prefetch is not None:
            await cons.set_qos(prefetch_count=prefetch)
        exchange = await pub.declare_exchange(name, aio_pika.ExchangeType.TOPIC, auto_delete=True)
        if quorum:
            queue = await cons.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
        else:
            queue = await cons.declare_queue(name, exclusive=True, auto_delete=True)
        await queue.bind(exchange, key)
        yield exchange, queue
        if quorum:
            await queue.delete(if_unused=False, if_empty=False)
    finally:
        await conn.close()


# -- figures ----------------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """The p-th percentile of durations in seconds, in milliseconds (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return round(ordered[k] * 1000, 2)


def phase(name: str, figures: dict[str, Any]) -> None:
    """One phase's figures as they come, a JSON line on stderr."""
    print(json.dumps({"phase": name, **figures}), file=sys.stderr)


def report(figures: dict[str, Any]) -> None:
    """The bench's result: one JSON object, the last line on stdout."""
    print(json.dumps(figures))


# -- the entry point --------------------------------------------------------------------------------------


def main(
    bench: Callable[[], Awaitable[Any]],
    *,
    serve: Callable[[], None] | None = None,
    vhost: bool = True,
    loop: str = "uvloop",
) -> None:
    """Run a bench: warnings only, as JSON. ``python bench/x.py --serve...`` (how a bench starts its own
    servers) runs ``serve``; otherwise ``bench()`` runs on uvloop (as the services do; ``loop="asyncio"``
    for the plain loop) in a RabbitMQ virtual host of the run's own, removed afterwards (``vhost=False``
    when the bench makes its own with ``Servers``)."""
    from sambang_runtime.logs import configure_logging

    configure_logging("WARNING", json=True)
    logging.getLogger().setLevel(logging.WARNING)
    if serve is not None and any(arg.startswith("--serve") for arg in sys.argv):
        serve()
        return

    def run() -> None:
        if loop == "uvloop":
            import uvloop

            uvloop.run(_call(bench))
        else:
            asyncio.run(_call(bench))

    if vhost:
        with own_vhost():
            run()
    else:
        run()


async def _call(bench: Callable[[], Awaitable[Any]]) -> None:
    await bench()
