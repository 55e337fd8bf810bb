"""Keeps the processes of ``make up`` running: a crashed one is restarted, the others keep serving.

Services are independent by design: billing crashing must not close check-in. A child that exits
while the supervisor runs is started again after a backoff that doubles with each crash in a row
(capped), and starts from the beginning again once the child has stayed up a while. Stopping
(Ctrl-C, SIGTERM) sends every child SIGTERM, then SIGKILL to those still there after a grace period.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .logs import get_logger

log = get_logger(__name__)

#: Exit codes of a child that stopped because it was asked to (SIGTERM, or Ctrl-C reaching it too).
_CLEAN_EXITS = frozenset({0, -signal.SIGTERM, -signal.SIGINT})


@dataclass(frozen=True)
class ChildSpec:
    """One supervised process: a name for the logs, its command line and its environment."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Backoff:
    """Restart delays: ``initial``, doubling per crash in a row, at most ``maximum``; a child that
    ran ``stable_after`` seconds before crashing starts again from ``initial``."""

    initial: float = 0.5
    maximum: float = 30.0
    stable_after: float = 30.0

    def delay(self, crashes_in_a_row: int) -> float:
        """Seconds to wait before restarting after the n-th crash in a row (n >= 1)."""
        return float(min(self.maximum, self.initial * 2 ** max(0, crashes_in_a_row - 1)))


@dataclass
class _Child:
    spec: ChildSpec
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    crashes_in_a_row: int = 0
    restarts: int = 0
    restart_at: float | None = None


def _spawn(spec: ChildSpec) -> subprocess.Popen[bytes]:
    # The launcher's own command lines (this interpreter, -m a Sambang module), never user input.
    return subprocess.Popen(list(spec.argv), env=dict(spec.env) if spec.env is not None else None)  # noqa: S603


class Supervisor:
    """Starts the children, restarts those that exit, and stops them all on request."""

    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        backoff: Backoff | None = None,
        grace_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        spawn: Callable[[ChildSpec], subprocess.Popen[bytes]] = _spawn,
    ) -> None:
        self.backoff = backoff or Backoff()
        self.grace_seconds = grace_seconds
        self._clock = clock
        self._spawn = spawn
        self._children = [_Child(spec) for spec in children]
        self.stopping = False

    # -- running ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start every child."""
        for child in self._children:
            self._start(child)

    def _start(self, child: _Child) -> None:
        child.restart_at = None
        child.started_at = self._clock()
        try:
            child.proc = self._spawn(child.spec)
        except OSError as exc:  # could not even exec: a crash like any other, retried with backoff
            child.proc = None
            log.error("supervisor.child_spawn_failed", child=child.spec.name, error=type(exc).__name__)
            self._crashed(child, None)
            return
        log.info("supervisor.child_started", child=child.spec.name, pid=child.proc.pid, restarts=child.restarts)

    def _crashed(self, child: _Child, returncode: int | None) -> None:
        now = self._clock()
        if now - child.started_at >= self.backoff.stable_after:
            child.crashes_in_a_row = 0  # it had recovered: this is a new incident, not the same one
        child.crashes_in_a_row += 1
        delay = self.backoff.delay(child.crashes_in_a_row)
        child.restart_at = now + delay
        log.error(
            "supervisor.child_exited",
            child=child.spec.name,
            pid=child.proc.pid if child.proc is not None else None,
            returncode=returncode,
            uptime_seconds=round(now - child.started_at, 1),
            crashes_in_a_row=child.crashes_in_a_row,
            restart_in_seconds=delay,
        )
        child.proc = None

    def check(self) -> None:
        """One round: notice children that exited, restart those whose backoff is over."""
        if self.stopping:
            return
        for child in self._children:
            if child.proc is not None:
                code = child.proc.poll()
                if code is not None:
                    self._crashed(child, code)
            if child.proc is None and child.restart_at is not None and self._clock() >= child.restart_at:
                child.restarts += 1
                log.warning("supervisor.child_restarting", child=child.spec.name, restarts=child.restarts)
                self._start(child)

    def run(self, poll_seconds: float = 0.2) -> None:
        """Supervise until ``request_stop`` (a signal handler) is called."""
        while not self.stopping:
            self.check()
            time.sleep(poll_seconds)

    def request_stop(self, *_: object) -> None:
        """Ask ``run`` to return; usable as a signal handler."""
        self.stopping = True

    # -- stopping ---------------------------------------------------------------------------------
    def stop(self) -> bool:
        """SIGTERM every child, SIGKILL those left after the grace period; True when all stopped cleanly."""
        self.stopping = True
        running = [c for c in self._children if c.proc is not None]
        for child in running:
            assert child.proc is not None
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        # One grace period for all of them, on the real clock (the injected one is for backoff).
        deadline = time.monotonic() + self.grace_seconds
        clean = True
        for child in running:
            assert child.proc is not None
            try:
                child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error(
                    "supervisor.child_killed", child=child.spec.name, pid=child.proc.pid, grace=self.grace_seconds
                )
                child.proc.kill()
                child.proc.wait()
            if child.proc.returncode not in _CLEAN_EXITS:
                clean = False
        log.info("supervisor.stopped", restarts={c.spec.name: c.restarts for c in self._children}, clean=clean)
        return clean

    # -- looking --------------------------------------------------------------------------------
    def status(self) -> dict[str, dict[str, Any]]:
        """Per child: pid (None while waiting to restart), restarts so far and crashes in a row."""
        return {
            c.spec.name: {
                "pid": c.proc.pid if c.proc is not None else None,
                "restarts": c.restarts,
                "crashes_in_a_row": c.crashes_in_a_row,
            }
            for c in self._children
        }

    def restarts(self) -> int:
        """Restarts of every child so far."""
        return sum(c.restarts for c in self._children)


def install_stop_signals(supervisor: Supervisor) -> None:
    """Ctrl-C and SIGTERM stop the supervisor (not a KeyboardInterrupt in the middle of a restart)."""
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
