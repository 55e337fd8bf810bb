"""`make run` and `make up` start every installed service, each answering 200 on /readyz."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sambang_runtime.launcher import FRONT_DOOR_PORT
from sambang_runtime.service import discover_services
from sambang_runtime.testing import Servers
from stack import free_offset, launched


def _wait_ready(
    urls: list[str], proc: subprocess.Popen[bytes], output: Callable[[], str], timeout: float = 90
) -> dict[str, dict[str, object]]:
    deadline = time.monotonic() + timeout
    last: dict[str, object] = {}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the launcher exited early with code {proc.returncode}: {output()[-4000:]}")
        try:
            bodies = {}
            for url in urls:
                resp = httpx.get(url, timeout=3)
                last[url] = (resp.status_code, resp.text[:300])
                if resp.status_code != 200:
                    raise httpx.HTTPError("not ready")
                bodies[url] = resp.json()
            return bodies
        except httpx.HTTPError:
            time.sleep(0.5)
    raise AssertionError(f"not ready in {timeout}s: {last}")


def _stop(proc: subprocess.Popen[bytes], sig: int) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the launcher did not stop within 30 s") from None


def _ready_urls(offset: int) -> list[str]:
    services = discover_services()
    assert services, "no service is installed (entry points sambang.services)"
    urls = [f"http://127.0.0.1:{d.port + offset}/readyz" for d in services]
    return [*urls, f"http://127.0.0.1:{FRONT_DOOR_PORT + offset}/readyz"]


@pytest.mark.timeout(180)
def test_embedded_mode_starts_every_service_ready_without_servers(tmp_path: Path) -> None:
    offset = free_offset()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMBANG_")}
    env["SAMBANG_VAR_DIR"] = str(tmp_path / "var")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sambang_runtime.launcher", "run", "--port-offset", str(offset)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        bodies = _wait_ready(_ready_urls(offset), proc, lambda: proc.stdout.read().decode() if proc.stdout else "")
        front = bodies[f"http://127.0.0.1:{FRONT_DOOR_PORT + offset}/readyz"]
        assert front["ready"] is True
        assert set(front["services"]) == {d.name for d in discover_services()}  # type: ignore[arg-type]
        for d in discover_services():  # the front door routes each prefix to its service
            resp = httpx.get(f"http://127.0.0.1:{FRONT_DOOR_PORT + offset}{d.prefixes[0]}/__probe__", timeout=5)
            assert resp.headers.get("content-type", "").startswith("application/problem+json")
            assert "Path not found" not in resp.text, f"{d.prefixes[0]} was not routed to {d.name}"
        assert (tmp_path / "var").is_dir()  # SQLite files live under ./var
    finally:
        code = _stop(proc, signal.SIGINT)
        output = proc.stdout.read().decode() if proc.stdout else ""
    assert code == 0, output[-3000:]
    assert "Demo officer tokens for office BLT" in output


@pytest.mark.timeout(240)
def test_up_mode_runs_each_service_as_its_own_process_on_real_servers(servers: Servers, tmp_path: Path) -> None:
    with launched(servers, tmp_path, env={"SAMBANG_ENVIRONMENT": "test"}) as stack:
        try:
            bodies = _wait_ready(_ready_urls(stack.offset), stack.proc, stack.output)
            for d in discover_services():
                body = bodies[f"http://127.0.0.1:{d.port + stack.offset}/readyz"]
                assert body["checks"]["broker"] == "ok"  # type: ignore[index]
        finally:
            code = _stop(stack.proc, signal.SIGTERM)
        assert code == 0, stack.output()[-3000:]
