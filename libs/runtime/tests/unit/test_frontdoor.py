"""The front door: X-Forwarded-For it passes on, /readyz naming the services that are down, and the
web clients it serves beside the services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sambang_runtime.frontdoor import FrontDoor, clients_dir, forwarded_for, service_status
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send


def request(client: tuple[str, int] | None, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", v.encode()) for v in forwarded]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "client": client})


def test_the_proxy_appends_the_peer_to_what_the_client_sent() -> None:
    assert forwarded_for(request(("203.0.113.7", 5000))) == "203.0.113.7"
    assert forwarded_for(request(("203.0.113.7", 5000), "1.2.3.4")) == "1.2.3.4, 203.0.113.7"
    assert forwarded_for(request(("203.0.113.7", 5000), "1.2.3.4", " 5.6.7.8 ", "")) == "1.2.3.4, 5.6.7.8, 203.0.113.7"
    # No peer (a Unix socket): a malformed entry, at which the services stop (clientaddr.py).
    assert forwarded_for(request(None, "1.2.3.4")) == "1.2.3.4, unknown"


def test_a_service_status_says_up_or_down_and_why() -> None:
    ok = {"service": "queue", "ready": True, "checks": {"database": "ok"}}
    assert service_status(ok)["status"] == "up" and "reason" not in service_status(ok)
    broker = service_status({"ready": False, "checks": {"database": "ok", "broker": "down"}})
    assert broker["status"] == "down" and broker["reason"] == "broker: down"
    gone = service_status({"ready": False, "error": "unreachable: ConnectError"})
    assert gone["status"] == "down" and gone["reason"] == "unreachable: ConnectError"
    assert service_status(TimeoutError())["reason"] == "TimeoutError"


async def test_readyz_is_503_and_names_the_services_that_are_down() -> None:
    async def ready() -> dict[str, Any]:
        return {"service": "queue", "ready": True, "checks": {"database": "ok"}}

    async def unreachable() -> dict[str, Any]:
        return {"ready": False, "error": "unreachable: ConnectError"}

    async def broken() -> dict[str, Any]:
        raise RuntimeError("probe failed")

    door = FrontDoor([], [], {"queue": ready, "payment": unreachable, "notifier": broken})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=door), base_url="http://door") as client:
        resp = await client.get("/readyz")
    body = resp.json()
    assert resp.status_code == 503 and body["ready"] is False
    assert body["down"] == ["payment", "notifier"]
    assert body["services"]["queue"]["status"] == "up"
    assert body["services"]["payment"] == {
        "status": "down",
        "reason": "unreachable: ConnectError",
        "ready": False,
        "error": "unreachable: ConnectError",
    }
    assert body["services"]["notifier"]["reason"] == "RuntimeError"

    door = FrontDoor([], [], {"queue": ready})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=door), base_url="http://door") as client:
        resp = await client.get("/readyz")
    assert resp.status_code == 200 and resp.json()["down"] == [] and resp.json()["ready"] is True


def clients_folder(tmp_path: Path) -> Path:
    """A minimal clients/ tree."""
    (tmp_path / "kiosk").mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>applicant</title>")
    (tmp_path / "kiosk" / "index.html").write_text("<!doctype html><title>kiosk</title>")
    (tmp_path / "shared" / "api.js").write_text("export const x = 1;")
    (tmp_path / "manifest.webmanifest").write_text("{}")
    return tmp_path


async def test_the_front_door_serves_the_web_clients_beside_the_services(tmp_path: Path) -> None:
    async def service(scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"served_by": "queue", "path": scope["path"]})(scope, receive, send)

    door = FrontDoor([("/v1/offices", service)], [], {}, clients_folder(tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=door), base_url="http://door") as client:
        home = await client.get("/")
        assert home.status_code == 200 and "applicant" in home.text
        assert home.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in home.headers["content-security-policy"]
        assert home.headers["x-content-type-options"] == "nosniff"
        # A client's folder without its slash is redirected, as nginx does.
        kiosk = await client.get("/kiosk")
        assert kiosk.status_code in (301, 302, 307) and kiosk.headers["location"].endswith("/kiosk/")
        assert "kiosk" in (await client.get("/kiosk/")).text
        module = await client.get("/shared/api.js")
        assert module.headers["content-type"].startswith("text/javascript")
        manifest = await client.get("/manifest.webmanifest")
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        # The API prefixes still go to their service, and the door's own routes stay.
        assert (await client.get("/v1/offices")).json() == {"served_by": "queue", "path": "/v1/offices"}
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).status_code == 200
        assert "<table>" in (await client.get("/about")).text
        missing = await client.get("/no/such/page")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert (await client.post("/")).status_code == 405


async def test_without_the_clients_the_front_door_shows_the_index_of_the_services() -> None:
    door = FrontDoor([], [], {}, None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=door), base_url="http://door") as client:
        assert "<table>" in (await client.get("/")).text
        assert (await client.get("/kiosk/")).status_code == 404


def test_the_repository_clients_are_found_and_every_page_is_there() -> None:
    found = clients_dir()
    assert found is not None
    for page in ("index.html", "arrival/index.html", "kiosk/index.html", "display/index.html", "tablet/index.html"):
        assert (found / page).is_file(), page


def test_internal_prefixes_stay_inside_the_cluster() -> None:
    """The edge never routes ``/internal/``: the biometric bundle is for the gateway's direct call only."""
    from sambang_runtime.deployment import k8s_ingress, nginx_conf
    from sambang_runtime.frontdoor import build_proxy
    from sambang_runtime.service import ServiceDescriptor

    d = ServiceDescriptor(
        name="capture", port=8002, prefixes=("/v1/captures", "/internal/v1/captures"), create_app=lambda s: None
    )
    assert d.public_prefixes == ("/v1/captures",)
    assert "/internal/" not in nginx_conf([d]) and "/internal/" not in k8s_ingress([d])
    front = build_proxy([d])
    assert front.match("/v1/captures/x") is not None
    assert front.match("/internal/v1/captures/x/bundle") is None
