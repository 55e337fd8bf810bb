"""`make run` and `make up` start every installed service, each answering 200 on /readyz."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from sambang_runtime.service import discover_services
from sambang_runtime.testing import Servers
from stack import Launched, embedded, launched, wait_serving


def every_ready(stack: Launched, *, development: bool = True) -> dict[str, dict[str, object]]:
    """Wait until every installed service (on its own port; outside development not the simulator, which
    then is not started) and the front door answer 200 on /readyz; the /readyz body of each, by URL."""
    services = [d for d in discover_services() if development or not d.development_only]
    assert services, "no service is installed (entry points sambang.services)"
    bases = [f"http://127.0.0.1:{d.port + stack.offset}" for d in services]
    wait_serving(stack, *bases, timeout=90)
    return {f"{base}/readyz": httpx.get(f"{base}/readyz", timeout=5).json() for base in (*bases, stack.front_door)}


@pytest.mark.timeout(180)
def test_embedded_mode_starts_every_service_ready_without_servers(tmp_path: Path) -> None:
    with embedded(tmp_path) as run:
        try:
            bodies = every_ready(run)
            front = bodies[f"{run.front_door}/readyz"]
            assert front["ready"] is True
            services = front["services"]
            assert isinstance(services, dict) and set(services) == {d.name for d in discover_services()}
            for d in discover_services():  # the front door routes each prefix to its service
                resp = httpx.get(run.url(f"{d.prefixes[0]}/__probe__"), timeout=5)
                assert resp.headers.get("content-type", "").startswith("application/problem+json")
                assert "Path not found" not in resp.text, f"{d.prefixes[0]} was not routed to {d.name}"
            assert (tmp_path / "var").is_dir()  # SQLite files live under ./var
        finally:
            code = run.stop(signal.SIGINT)
        assert code == 0, run.output()
        assert "Demo officer tokens for office BLT" in run.output(None)


@pytest.mark.timeout(240)
def test_up_mode_runs_each_service_as_its_own_process_on_real_servers(servers: Servers, tmp_path: Path) -> None:
    with launched(servers, tmp_path, env={"SAMBANG_ENVIRONMENT": "test"}) as stack:
        try:
            bodies = every_ready(stack, development=False)
            for d in discover_services():
                if d.development_only:
                    assert f"http://127.0.0.1:{d.port + stack.offset}/readyz" not in bodies
                    continue
                body = bodies[f"http://127.0.0.1:{d.port + stack.offset}/readyz"]
                assert body["checks"]["broker"] == "ok"  # type: ignore[index]
        finally:
            code = stack.stop(signal.SIGTERM)
        assert code == 0, stack.output()
