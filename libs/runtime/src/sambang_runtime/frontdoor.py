"""The front door on port 8000: routes by path prefix (API.md) without rewriting.

In embedded mode it dispatches to the service apps in the same process; with ``make up`` it
runs alone (``python -m sambang_runtime.frontdoor``) and proxies to each service's port, as
nginx or an ingress does in a deployment.
"""

from __future__ import annotations

import asyncio
import html
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .service import ServiceDescriptor, discover_services

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def _index(services: Sequence[ServiceDescriptor]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(d.name)}</td><td>{html.escape(', '.join(d.prefixes))}</td>"
        f'<td><a href="http://127.0.0.1:{d.port}/docs">:{d.port}/docs</a></td></tr>'
        for d in services
    )
    return f"""<!doctype html><html lang="id"><head><meta charset="utf-8"><title>Sambang</title>
<style>body{{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem}}
td,th{{padding:.3rem .8rem;text-align:left}}</style></head><body>
<h1>Sambang</h1>
<p>Layanan paspor Kantor Imigrasi — satu alur dari pra-permohonan sampai paspor diterima.<br>
Passport service of an immigration office — one flow from pre-application to passport in hand.</p>
<table><tr><th>service</th><th>paths</th><th>API docs</th></tr>{rows}</table>
</body></html>"""


class FrontDoor:
    """ASGI app: the longest matching prefix wins; unknown paths get a 404 problem."""

    def __init__(
        self,
        routes: Sequence[tuple[str, ASGIApp]],
        services: Sequence[ServiceDescriptor],
        probes: Mapping[str, Callable[[], Awaitable[dict[str, Any]]]] | None = None,
    ) -> None:
        self.routes = sorted(routes, key=lambda r: len(r[0]), reverse=True)
        self.services = services
        self.probes = dict(probes or {})
        self.home = Starlette(
            routes=[Route("/", self._home), Route("/healthz", self._health), Route("/readyz", self._ready)]
        )

    async def _ready(self, _request: Request) -> Response:
        """Ready when every service behind the door is ready."""
        names = list(self.probes)
        results = await asyncio.gather(*(self.probes[n]() for n in names), return_exceptions=True)
        report: dict[str, Any] = {}
        for name, result in zip(names, results, strict=True):
            report[name] = result if isinstance(result, dict) else {"ready": False, "error": type(result).__name__}
        ready = all(r.get("ready") for r in report.values())
        return JSONResponse(
            {"service": "front-door", "ready": ready, "services": report}, status_code=200 if ready else 503
        )

    async def _home(self, _request: Request) -> Response:
        return HTMLResponse(_index(self.services))

    async def _health(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def match(self, path: str) -> ASGIApp | None:
        """The app serving ``path``, by prefix on a segment boundary."""
        for prefix, app in self.routes:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return app
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one request."""
        if scope["type"] == "lifespan":
            await self.home(scope, receive, send)
            return
        target = self.match(scope.get("path", "/"))
        if target is None:
            if scope.get("path") in ("/", "/healthz", "/readyz"):
                await self.home(scope, receive, send)
                return
            response = JSONResponse(
                {
                    "type": "urn:sambang:problem:not_found",
                    "title": "Not Found",
                    "status": 404,
                    "code": "not_found",
                    "detail": "Alamat tidak ditemukan / Path not found",
                    "instance": scope.get("path"),
                },
                status_code=404,
                media_type="application/problem+json",
            )
            await response(scope, receive, send)
            return
        await target(scope, receive, send)


def build_front_door(
    apps: Mapping[tuple[str, ...], ASGIApp],
    services: Sequence[ServiceDescriptor],
    probes: Mapping[str, Callable[[], Awaitable[dict[str, Any]]]] | None = None,
) -> FrontDoor:
    """The in-process front door of embedded mode."""
    return FrontDoor([(p, app) for prefixes, app in apps.items() for p in prefixes], services, probes)


class Proxy:
    """Forwards a request to a service's base URL, streaming the response back."""

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url
        self.client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Proxy one HTTP request."""
        request = Request(scope, receive)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        client_host = request.client.host if request.client else ""
        headers.append(("x-forwarded-for", client_host))
        url = httpx.URL(self.base_url + scope["path"], query=scope.get("query_string", b""))
        upstream = self.client.build_request(request.method, url, headers=headers, content=request.stream())
        try:
            resp = await self.client.send(upstream, stream=True)
        except httpx.HTTPError:
            problem = JSONResponse(
                {
                    "type": "urn:sambang:problem:service_unavailable",
                    "title": "Service Unavailable",
                    "status": 503,
                    "code": "service_unavailable",
                    "detail": "Layanan sedang tidak tersedia / The service is unavailable",
                    "instance": scope["path"],
                },
                status_code=503,
                media_type="application/problem+json",
            )
            await problem(scope, receive, send)
            return
        out_headers = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP}
        response = StreamingResponse(resp.aiter_raw(), status_code=resp.status_code, headers=out_headers)
        response.background = None
        try:
            await response(scope, receive, send)
        finally:
            await resp.aclose()


def build_proxy(services: Sequence[ServiceDescriptor], host: str = "127.0.0.1", offset: int = 0) -> FrontDoor:
    """The front door of ``make up``: each prefix proxied to its service's port."""
    client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
    routes: list[tuple[str, ASGIApp]] = []
    probes: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {}
    for d in services:
        proxy = Proxy(f"http://{host}:{d.port + offset}", client)
        routes.extend((p, proxy) for p in d.prefixes)
        probes[d.name] = _http_probe(client, f"http://{host}:{d.port + offset}/readyz")
    return FrontDoor(routes, services, probes)


def _http_probe(client: httpx.AsyncClient, url: str) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def probe() -> dict[str, Any]:
        try:
            resp = await client.get(url, timeout=3)
            body: dict[str, Any] = resp.json()
            return body
        except (httpx.HTTPError, ValueError) as exc:
            return {"ready": False, "error": type(exc).__name__}

    return probe


def main() -> None:
    """Serve the proxying front door on port 8000."""
    import uvicorn

    from .logs import configure_logging

    configure_logging(os.environ.get("SAMBANG_LOG_LEVEL", "INFO"))
    offset = int(os.environ.get("SAMBANG_PORT_OFFSET", "0"))
    app = build_proxy(discover_services(), offset=offset)
    uvicorn.run(
        app,
        host=os.environ.get("SAMBANG_HOST", "127.0.0.1"),
        port=int(os.environ.get("SAMBANG_PORT", 8000)),
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
