"""Servers of a test's or a benchmark's own, which it may stop, kill and start at will.

The shared PostgreSQL and RabbitMQ on 5432/5672 serve every other test and are never stopped. What must
stop a server gets one of its own here: a PostgreSQL cluster made with initdb in a temporary folder on
its own port (``OwnPostgres``), a primary with a synchronous streaming standby (``PostgresPair``), a
RabbitMQ node of its own name, ports and folders (``OwnRabbit``) and a cluster of such nodes
(``RabbitCluster``). Used by the fault suite (tests/faults), the runtime's broker-restart test and
bench/cluster.py; nothing here runs in a service.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Where Debian installs the RabbitMQ scripts (the /usr/sbin wrappers would switch to the rabbitmq user).
RABBITMQ_BIN = Path(os.environ.get("SAMBANG_FAULTS_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) != 0


def _port_open(port: int) -> bool:
    return not _free(port)


def pg_bin() -> Path:
    """The newest PostgreSQL server binaries (Debian: ``/usr/lib/postgresql/<major>/bin``)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return Path(found[-1]).parent


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class OwnPostgres:
    """A PostgreSQL cluster of the suite's own, on ``port``."""

    root: Path
    port: int
    #: More ``-c name=value`` server settings (replication, for a pair).
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of its ``postgres`` database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(
            _as_postgres([str(pg_bin() / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=500 "
            "-c shared_buffers=128MB -c fsync=off"
        )
        opts += "".join(f" -c {k}={v}" for k, v in self.extra.items())
        subprocess.run(
            _as_postgres(
                [
                    str(pg_bin() / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.root / "log"),
                    "-w",
                    "-o",
                    opts,
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            _as_postgres([str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
            capture_output=True,
            timeout=120,
        )

    def running(self) -> bool:
        return _port_open(self.port)


@dataclass
class OwnRabbit:
    """A RabbitMQ node of the suite's own (``sambang-faults@localhost``), on ``port``."""

    root: Path
    port: int
    dist_port: int
    nodename: str = "sambang-faults@localhost"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            {
                "HOME": str(self.root),  # its own Erlang cookie
                "RABBITMQ_NODENAME": self.nodename,
                "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.root / "log"),
                "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
                "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
                "RABBITMQ_PID_FILE": str(self.root / "pid"),
                "ERL_EPMD_ADDRESS": "127.0.0.1",
            }
        )
        return env

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        conf = f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n"
        (self.root / "rabbitmq.conf").write_text(conf)
        (self.root / "rabbitmq-env.conf").write_text(f"NODENAME={self.nodename}\n")
        (self.root / "enabled_plugins").write_text("[].\n")  # no management, no prometheus

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.nodename, *args],
            env=self.env(),
            cwd=self.root,
            capture_output=True,
            timeout=timeout,
        )

    def start(self) -> None:
        hard = 65536
        with contextlib.suppress(ValueError, OSError):
            import resource

            hard = min(hard, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        subprocess.run(
            ["bash", "-c", f'ulimit -n {hard}; exec "{RABBITMQ_BIN}/rabbitmq-server" -detached'],
            env=self.env(),
            cwd=self.root,
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.ctl("-q", "await_startup", timeout=60).returncode == 0 and _port_open(self.port):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the suite's RabbitMQ node did not start; see {self.root / 'log'}")

    def stop(self) -> None:
        if self.ctl("stop", timeout=90).returncode != 0:
            pid = self.root / "pid"
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid.read_text().strip()), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.2)

    def running(self) -> bool:
        return _port_open(self.port)

    def kill(self) -> None:
        """SIGKILL the node's Erlang VM (a crash: no goodbye to peers or clients); wait until its port closes."""
        pid = int((self.root / "pid").read_text().strip())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)


def pick_port(preferred: int) -> int:
    """The first free port from ``preferred`` on."""
    for port in range(preferred, preferred + 200):
        if _free(port):
            return port
    raise RuntimeError(f"no free port from {preferred}")


def _take_folder(prefix: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(root, 0o755)  # noqa: S103 - the postgres user walks into its folder
    return root


# -- PostgreSQL: a primary and its synchronous standby ------------------------------------------------


@dataclass
class PostgresPair:
    """A primary and a streaming standby (``pg_basebackup``), the standby synchronous.

    Synchronous (``synchronous_standby_names``): the primary answers a COMMIT only once the standby has
    the transaction, so promoting the standby after the primary dies loses no committed booking or
    payment. The services reach whichever is writable through one multi-host URL (``url``).
    """

    root: Path
    primary: OwnPostgres
    standby: OwnPostgres
    standby_name: str = "standby"
    promoted: bool = field(default=False)

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database on whichever server is writable now."""
        hosts = "&".join(f"host=127.0.0.1:{p.port}" for p in (self.primary, self.standby))
        return f"postgresql+asyncpg://postgres@/postgres?{hosts}&target_session_attrs=read-write"

    def start(self) -> None:
        """initdb the primary, start it, clone the standby and start it streaming; wait until it is in sync."""
        self.primary.init()
        self.primary.extra = {
            "wal_level": "replica",
            "max_wal_senders": "10",
            "synchronous_standby_names": self.standby_name,
        }
        self.primary.start()
        self.standby.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.standby.root, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    str(pg_bin() / "pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.primary.port),
                    "-U",
                    "postgres",
                    "-D",
                    str(self.standby.data),
                    "-X",
                    "stream",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=300,
        )
        conninfo = f"host=127.0.0.1 port={self.primary.port} user=postgres application_name={self.standby_name}"
        with (self.standby.data / "postgresql.auto.conf").open("a") as f:
            f.write(f"primary_conninfo = '{conninfo}'\n")
        (self.standby.data / "standby.signal").touch()
        if os.geteuid() == 0:
            for p in (self.standby.data / "postgresql.auto.conf", self.standby.data / "standby.signal"):
                shutil.chown(p, "postgres", "postgres")
        self.standby.extra = {"hot_standby": "on"}
        self.standby.start()
        self.wait_in_sync()

    def psql(self, server: OwnPostgres, sql: str) -> str:
        """One statement on ``server`` by psql; its output, unaligned."""
        out = subprocess.run(
            _as_postgres(
                [str(pg_bin() / "psql"), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-Atc", sql]
            ),
            check=True,
            capture_output=True,
            timeout=60,
        )
        return out.stdout.decode().strip()

    def wait_in_sync(self, timeout: float = 60) -> None:
        """Until the primary reports its standby streaming and synchronous."""
        deadline = time.monotonic() + timeout
        sql = (
            f"SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = '{self.standby_name}'"
        )
        while time.monotonic() < deadline:
            if self.psql(self.primary, sql) == "streaming sync":
                return
            time.sleep(0.3)
        raise RuntimeError("the standby did not reach streaming, synchronous replication")

    def kill_primary(self) -> None:
        """Crash the primary (``pg_ctl stop -m immediate``: every process aborted, nothing flushed)."""
        self.primary.stop("immediate")

    def promote(self) -> None:
        """Promote the standby to primary (``pg_ctl promote``), waiting until it takes writes."""
        subprocess.run(
            _as_postgres([str(pg_bin() / "pg_ctl"), "-D", str(self.standby.data), "-w", "promote"]),
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.promoted = True

    def stop(self) -> None:
        for server in (self.standby, self.primary):
            with contextlib.suppress(Exception):
                server.stop("immediate")


@contextlib.contextmanager
def postgres_pair(preferred_port: int = 56432) -> Iterator[PostgresPair]:
    """A primary and a synchronous standby of this run's own; both stopped and removed afterwards."""
    root = _take_folder("sambang-pgpair-")
    primary_port = pick_port(preferred_port)
    standby_port = pick_port(primary_port + 1)
    pair = PostgresPair(root, OwnPostgres(root / "primary", primary_port), OwnPostgres(root / "standby", standby_port))
    try:
        pair.start()
        yield pair
    finally:
        pair.stop()
        shutil.rmtree(root, ignore_errors=True)


# -- RabbitMQ: a node of its own, and a cluster of them ----------------------------------------------


@contextlib.contextmanager
def own_rabbit(preferred_port: int = 5682, name: str = "sambang-own") -> Iterator[OwnRabbit]:
    """A RabbitMQ node of this run's own (``amqp://guest:guest@127.0.0.1:<port>/``), removed afterwards."""
    root = _take_folder("sambang-rabbit-")
    port = pick_port(preferred_port)
    node = OwnRabbit(root, port, pick_port(port + 20000), nodename=f"{name}-{secrets.token_hex(3)}@localhost")
    try:
        node.init()
        node.start()
        yield node
    finally:
        with contextlib.suppress(Exception):
            node.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class RabbitCluster:
    """Nodes of the installed RabbitMQ, clustered on loopback ports, sharing one Erlang cookie.

    Quorum queues declared on it get a replica on every node (RabbitMQ's default group size is the
    cluster's size, at most 7 in 3.10), so it keeps serving them with any one node down.
    """

    nodes: list[OwnRabbit]

    @property
    def url(self) -> str:
        """Every node in one URL (``bus/nodes.py``): ``amqp://guest:guest@127.0.0.1:p1,127.0.0.1:p2,.../``."""
        return "amqp://guest:guest@" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes) + "/"

    def start(self) -> None:
        cookie = secrets.token_hex(16).upper()
        for n in self.nodes:
            n.init()
            path = n.root / ".erlang.cookie"
            path.write_text(cookie)
            os.chmod(path, 0o400)
            n.start()
        first = self.nodes[0]
        for n in self.nodes[1:]:
            for args in (("stop_app",), ("join_cluster", first.nodename), ("start_app",)):
                done = n.ctl(*args, timeout=120)
                if done.returncode != 0:
                    raise RuntimeError(f"{n.nodename} {args[0]}: {done.stderr.decode(errors='replace')[-400:]}")
        self.wait_running(len(self.nodes))

    def _ask(self, *args: str) -> Any:
        """The JSON answer of ``rabbitmqctl -q <args> --formatter json`` from the first live node that
        gives one (None when none does)."""
        for n in self.nodes:
            if not n.running():
                continue
            out = n.ctl("-q", *args, "--formatter", "json", timeout=30)
            if out.returncode == 0:
                return json.loads(out.stdout.decode())
        return None

    def running_nodes(self) -> int:
        """How many nodes the cluster reports running (asked of any live node)."""
        status = self._ask("cluster_status")
        return len(status.get("running_nodes", [])) if status else 0

    def wait_running(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running_nodes() >= count:
                return
            time.sleep(0.5)
        raise RuntimeError(f"the RabbitMQ cluster did not reach {count} running nodes")

    def kill(self, index: int) -> None:
        """SIGKILL one node's Erlang VM: no goodbye to its peers or its clients."""
        self.nodes[index].kill()

    def restart(self, index: int) -> None:
        """Start a killed node again; it rejoins the cluster by itself."""
        self.nodes[index].start()
        self.wait_running(len(self.nodes))

    def quorum_members(self, queue: str) -> int:
        """How many nodes hold a replica of quorum queue ``queue``."""
        found = [q for q in self._ask("list_queues", "name", "members") or [] if q.get("name") == queue]
        return len(found[0].get("members") or []) if found else 0

    def stop(self) -> None:
        for n in reversed(self.nodes):
            with contextlib.suppress(Exception):
                n.stop()


@contextlib.contextmanager
def rabbit_cluster(size: int = 3, preferred_port: int = 5702) -> Iterator[RabbitCluster]:
    """A cluster of ``size`` RabbitMQ nodes of this run's own; stopped and removed afterwards."""
    root = _take_folder("sambang-rabbitcluster-")
    tag = secrets.token_hex(3)
    nodes: list[OwnRabbit] = []
    port = preferred_port
    for i in range(size):
        port = pick_port(port)
        nodes.append(OwnRabbit(root / f"n{i}", port, pick_port(port + 20000), nodename=f"sambang-c{tag}-{i}@localhost"))
        port += 1
    cluster = RabbitCluster(nodes)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
