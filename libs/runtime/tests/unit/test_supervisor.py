"""The supervisor of `make up`: restarts with backoff, keeps the others running, stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sambang_runtime.supervisor import Backoff, ChildSpec, Supervisor
from structlog.testing import capture_logs

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_backoff_doubles_is_capped() -> None:
    b = Backoff(initial=0.5, maximum=30.0)
    assert [b.delay(n) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_a_killed_child_is_restarted_and_the_others_keep_running() -> None:
    sup = Supervisor(
        [ChildSpec("queue", SLEEPER), ChildSpec("payment", SLEEPER)],
        backoff=Backoff(initial=0.05, maximum=1.0),
        grace_seconds=5,
    )
    with capture_logs() as logs:
        sup.start()
        try:
            before = sup.status()
            os.kill(before["payment"]["pid"], signal.SIGKILL)

            def restarted() -> bool:
                sup.check()
                return sup.status()["payment"]["restarts"] == 1 and sup.status()["payment"]["pid"] is not None

            until(restarted)
            after = sup.status()
            assert after["payment"]["pid"] != before["payment"]["pid"] and alive(after["payment"]["pid"])
            assert after["queue"] == before["queue"] and alive(after["queue"]["pid"])  # untouched
            assert sup.restarts() == 1
        finally:
            assert sup.stop() is True
    assert not alive(after["payment"]["pid"]) and not alive(after["queue"]["pid"])
    exited = [e for e in logs if e["event"] == "supervisor.child_exited"]
    assert len(exited) == 1 and exited[0]["child"] == "payment" and exited[0]["returncode"] == -signal.SIGKILL
    assert [e["restarts"] for e in logs if e["event"] == "supervisor.child_restarting"] == [1]
    assert [e["restarts"] for e in logs if e["event"] == "supervisor.stopped"] == [{"queue": 0, "payment": 1}]


class FakeProcess:
    """Stands in for a child process whose exit the test decides (for the backoff arithmetic)."""

    count = 0

    def __init__(self) -> None:
        FakeProcess.count += 1
        self.pid = 100_000 + FakeProcess.count
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


def test_crashes_in_a_row_back_off_and_a_stable_run_starts_over() -> None:
    now = [0.0]
    spawned: list[tuple[float, FakeProcess]] = []

    def spawn(_spec: ChildSpec) -> FakeProcess:
        proc = FakeProcess()
        spawned.append((now[0], proc))
        return proc

    sup = Supervisor(
        [ChildSpec("payment", ["-"])],
        backoff=Backoff(initial=0.5, maximum=4.0, stable_after=30.0),
        clock=lambda: now[0],
        spawn=spawn,  # type: ignore[arg-type]
    )
    sup.start()

    def crash_and_wait_for_restart() -> float:
        """Crash the current process now; step the clock until a new one starts; the delay."""
        crashed_at = now[0]
        spawned[-1][1].returncode = 1
        count = len(spawned)
        while len(spawned) == count:
            sup.check()
            now[0] = round(now[0] + 0.25, 2)
        return spawned[-1][0] - crashed_at

    assert [crash_and_wait_for_restart() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    now[0] += 31  # this one stays up past stable_after: its crash is a new incident
    assert crash_and_wait_for_restart() == 0.5
    assert crash_and_wait_for_restart() == 1.0
    assert sup.status()["payment"]["restarts"] == 8

    sup.stopping = True
    spawned[-1][1].returncode = 1
    sup.check()
    assert len(spawned) == 9  # a stopping supervisor restarts nothing


def test_stop_is_sigterm_then_sigkill_after_the_grace_period(tmp_path: Path) -> None:
    ready = tmp_path / "ignoring"
    stubborn = [
        sys.executable,
        "-c",
        "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "pathlib.Path(sys.argv[1]).touch(); time.sleep(120)",
        str(ready),
    ]
    sup = Supervisor([ChildSpec("polite", SLEEPER), ChildSpec("stubborn", stubborn)], grace_seconds=1.0)
    sup.start()
    until(ready.exists)
    pids = {name: s["pid"] for name, s in sup.status().items()}
    started = time.monotonic()
    with capture_logs() as logs:
        assert sup.stop() is False  # one had to be killed
    assert time.monotonic() - started < 5
    assert not any(alive(pid) for pid in pids.values())
    assert [e["child"] for e in logs if e["event"] == "supervisor.child_killed"] == ["stubborn"]


def test_a_child_that_cannot_start_is_retried_without_stopping_the_others() -> None:
    sup = Supervisor(
        [ChildSpec("queue", SLEEPER), ChildSpec("broken", ["/nonexistent/sambang-binary"])],
        backoff=Backoff(initial=0.01, maximum=0.02),
    )
    sup.start()
    try:
        until(lambda: (sup.check(), sup.status()["broken"]["restarts"] >= 3)[1])
        assert sup.status()["broken"]["pid"] is None and alive(sup.status()["queue"]["pid"])
    finally:
        assert sup.stop() is True


@pytest.mark.timeout(60)
def test_the_launcher_stops_its_children_on_sigterm_without_restarting_them(tmp_path: Path) -> None:
    """The signal handler path: run() returns on SIGTERM and stop() takes every child down."""
    script = tmp_path / "supervise.py"
    script.write_text(
        "import sys\n"
        "from sambang_runtime.supervisor import ChildSpec, Supervisor, install_stop_signals\n"
        f"sleeper = {SLEEPER!r}\n"
        "sup = Supervisor([ChildSpec('a', sleeper), ChildSpec('b', sleeper)], grace_seconds=5)\n"
        "install_stop_signals(sup)\n"
        "sup.start()\n"
        "print('PIDS', *(s['pid'] for s in sup.status().values()), flush=True)\n"
        "sup.run(0.05)\n"
        "sys.exit(0 if sup.stop() else 1)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = b""
    while not line.startswith(b"PIDS"):  # the supervisor's own log lines come first
        line = proc.stdout.readline()
        assert line, "the supervisor exited before starting its children"
    pids = [int(p) for p in line.split()[1:]]
    assert len(pids) == 2 and all(alive(p) for p in pids)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert not any(alive(p) for p in pids)
