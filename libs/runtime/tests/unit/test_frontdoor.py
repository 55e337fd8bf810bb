"""The front door: X-Forwarded-For it passes on, and /readyz naming the services that are down."""

from __future__ import annotations

from typing import Any

import httpx
from sambang_runtime.frontdoor import FrontDoor, forwarded_for, service_status
from starlette.requests import Request


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
