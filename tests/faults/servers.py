"""The fault suite's own PostgreSQL cluster and RabbitMQ node, which it stops and starts at will.

The shared servers on 5432/5672 serve other runs and are never touched: a cluster is made with
initdb in a temporary folder and served by pg_ctl on its own port; a RabbitMQ node of its own name,
ports, data and log folders (its own Erlang cookie in its own HOME) runs beside the shared one.
Everything is removed when the context ends.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Where Debian installs the RabbitMQ scripts (the /usr/sbin wrappers would switch to the rabbitmq user).
RABBITMQ_BIN = Path(os.environ.get("SAMBANG_FAULTS_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) != 0


def _port_open(port: int) -> bool:
    return not _free(port)


def _pg_bin() -> Path:
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
            _as_postgres([str(_pg_bin() / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=500 "
            "-c shared_buffers=128MB -c fsync=off"
        )
        subprocess.run(
            _as_postgres(
                [
                    str(_pg_bin() / "pg_ctl"),
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
            _as_postgres([str(_pg_bin() / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
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


def _pick(preferred: int) -> int:
    for port in range(preferred, preferred + 200):
        if _free(port):
            return port
    raise RuntimeError(f"no free port from {preferred}")


@contextlib.contextmanager
def own_servers() -> Iterator[tuple[OwnPostgres, OwnRabbit]]:
    """A PostgreSQL cluster and a RabbitMQ node of this run's own; both stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="sambang-faults-"))
    os.chmod(root, 0o755)  # noqa: S103 - the postgres user walks into its folder
    pg = OwnPostgres(root / "pg", _pick(int(os.environ.get("SAMBANG_FAULTS_PG_PORT", "55432"))))
    mq_port = _pick(int(os.environ.get("SAMBANG_FAULTS_AMQP_PORT", "5682")))
    mq = OwnRabbit(root / "rabbitmq", mq_port, _pick(mq_port + 20000))
    try:
        pg.init()
        pg.start()
        mq.init()
        mq.start()
        yield pg, mq
    finally:
        with contextlib.suppress(Exception):
            mq.stop()
        with contextlib.suppress(Exception):
            pg.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
