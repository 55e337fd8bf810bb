"""The front door on port 8000: routes by path prefix (API.md) without rewriting.

In embedded mode it dispatches to the service apps in the same process; with ``make up`` it
runs alone (``python -m sambang_runtime.frontdoor``) and proxies to each service's port, as
nginx or an ingress does in a deployment. Every path no service owns is a web client's file
(``clients/``: the applicant pages at ``/``, ``/kiosk/``, ``/display/``, ``/tablet/``); the
developer's index of the services moved to ``/about``.
"""

from __future__ import annotations

import asyncio
import html
import mimetypes
import os
import posixpath
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
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
#: X-Forwarded-For is rebuilt by the proxy (``forwarded_for``), not copied.
HOP_BY_HOP_AND_FORWARDED = HOP_BY_HOP | {"x-forwarded-for"}

#: Where the web clients are; by default ``clients/`` of the repository this package is installed from.
CLIENTS_DIR_ENV = "SAMBANG_CLIENTS_DIR"
#: The clients call only their own origin; nothing inline, nothing from elsewhere (nginx sends the same).
CLIENT_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated on every load (ETag, so a 304 costs little): an office gets a fix at once.
    "Cache-Control": "no-cache",
}
# ES modules need a JavaScript type and a manifest its own, whatever /etc/mime.types says.
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/manifest+json", ".webmanifest")


#: Paths that exist only in development: the SIMKIM simulator (its admin and decision endpoints have no
#: authentication) and the notifier's mailbox (every applicant's mail). Never routed outside development.
DEVELOPMENT_ONLY_PREFIXES = ("/simkim", "/v1/dev")


def normalise_path(path: str) -> str | None:
    """``path`` with dot segments resolved and repeated slashes folded (RFC 3986 5.2.4), as every server
    behind the door would read it, so a prefix is matched on what is reached: ``/v1/captures/../../
    internal/x`` is ``/internal/x``. ``path`` is the decoded one (``%2e%2e`` arrives as ``..`` and
    ``%2f`` as ``/``). None for what no server should be asked: a backslash, NUL or other control
    character (Windows-style and log-forging tricks)."""
    if any(c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        return None
    trailing = path.endswith("/") or path.endswith("/.") or path.endswith("/..")
    normal = posixpath.normpath("/" + path.lstrip("/"))
    # normpath keeps a leading "//" (POSIX allows it to mean something else); a URL path does not.
    normal = "/" + normal.lstrip("/")
    if trailing and normal != "/":
        normal += "/"
    return normal


def clients_dir() -> Path | None:
    """The web clients' folder (``SAMBANG_CLIENTS_DIR``, else the repository's ``clients/``), if present."""
    configured = os.environ.get(CLIENTS_DIR_ENV)
    path = Path(configured) if configured else Path(__file__).resolve().parents[4] / "clients"
    return path if (path / "index.html").is_file() else None


def _not_found(path: str) -> JSONResponse:
    return JSONResponse(
        {
            "type": "urn:sambang:problem:not_found",
            "title": "Not Found",
            "status": 404,
            "code": "not_found",
            "detail": "Alamat tidak ditemukan / Path not found",
            "instance": path,
        },
        status_code=404,
        media_type="application/problem+json",
    )


class ClientFiles(StaticFiles):
    """The web clients' files (``index.html`` for a folder), with their security headers; a
    missing file is the front door's 404 problem, as for any path nobody serves."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        """One file, or a problem."""
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise
            return _not_found(scope.get("path", "/"))
        for name, value in CLIENT_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


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
<p>Web clients / klien web: <a href="/">applicants</a> · <a href="/kiosk/">kiosk</a> ·
<a href="/display/">display board</a> · <a href="/tablet/">sambang tablet</a></p>
</body></html>"""


def service_status(probed: dict[str, Any] | BaseException) -> dict[str, Any]:
    """One service's entry in the front door's /readyz: its own report plus ``status`` up or down
    and, when down, a one-line ``reason`` (unreachable, or which of its checks fail)."""
    report = dict(probed) if isinstance(probed, dict) else {"ready": False, "error": type(probed).__name__}
    if report.get("ready") is True:
        return {"status": "up", **report}
    checks = report.get("checks")
    failing = [f"{k}: {v}" for k, v in checks.items() if v != "ok"] if isinstance(checks, dict) else []
    reason = str(report.get("error") or "; ".join(failing) or "not ready")
    return {"status": "down", "reason": reason, **report}


class FrontDoor:
    """ASGI app: the longest matching prefix wins; unknown paths get a 404 problem."""

    def __init__(
        self,
        routes: Sequence[tuple[str, ASGIApp]],
        services: Sequence[ServiceDescriptor],
        probes: Mapping[str, Callable[[], Awaitable[dict[str, Any]]]] | None = None,
        clients: Path | None = None,
        *,
        development: bool = False,
    ) -> None:
        self.development = development
        if not development:
            # Outside development the simulator and the mailbox are not behind this door at all.
            routes = [r for r in routes if not r[0].startswith(DEVELOPMENT_ONLY_PREFIXES)]
            # Nor does its readiness count: a production door is ready without the simulator.
            hidden = {d.name for d in services if d.development_only}
            probes = {name: probe for name, probe in (probes or {}).items() if name not in hidden}
            services = [d for d in services if not d.development_only]
        self.routes = sorted(routes, key=lambda r: len(r[0]), reverse=True)
        self.services = services
        self.probes = dict(probes or {})
        own: list[BaseRoute] = [
            Route("/about", self._home),
            Route("/healthz", self._health),
            Route("/readyz", self._ready),
        ]
        # Without the clients (a bare install), "/" is the index of the services, as before.
        own.append(Mount("/", ClientFiles(directory=clients, html=True)) if clients else Route("/", self._home))
        self.home = Starlette(routes=own)

    async def _ready(self, _request: Request) -> Response:
        """Ready when every service behind the door is ready; ``down`` names those that are not."""
        names = list(self.probes)
        results = await asyncio.gather(*(self.probes[n]() for n in names), return_exceptions=True)
        report = {name: service_status(result) for name, result in zip(names, results, strict=True)}
        down = [name for name, status in report.items() if status["status"] == "down"]
        return JSONResponse(
            {"service": "front-door", "ready": not down, "down": down, "services": report},
            status_code=503 if down else 200,
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
        path = normalise_path(scope.get("path", "/"))
        if path is None:
            await _bad_path(scope, receive, send)
            return
        if path != scope.get("path"):
            # Matched and forwarded as normalised: what the service receives is what was checked.
            scope = {**scope, "path": path, "raw_path": quote(path).encode("ascii")}
        if not self.development and _under(path, DEVELOPMENT_ONLY_PREFIXES):
            await _not_found(path)(scope, receive, send)
            return
        target = self.match(path)
        if target is None:
            # Health, readiness, /about and the web clients; anything else a 404 problem.
            await self.home(scope, receive, send)
            return
        await target(scope, receive, send)


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


async def _bad_path(scope: Scope, receive: Receive, send: Send) -> None:
    problem = JSONResponse(
        {
            "type": "urn:sambang:problem:invalid_path",
            "title": "Bad Request",
            "status": 400,
            "code": "invalid_path",
            "detail": "Alamat tidak valid / The path is not valid",
        },
        status_code=400,
        media_type="application/problem+json",
    )
    await problem(scope, receive, send)


def build_front_door(
    apps: Mapping[tuple[str, ...], ASGIApp],
    services: Sequence[ServiceDescriptor],
    probes: Mapping[str, Callable[[], Awaitable[dict[str, Any]]]] | None = None,
    *,
    development: bool = True,
) -> FrontDoor:
    """The in-process front door of embedded mode (development: `make run`)."""
    routes = [(p, app) for prefixes, app in apps.items() for p in prefixes]
    return FrontDoor(routes, services, probes, clients_dir(), development=development)


def forwarded_for(request: Request) -> str:
    """X-Forwarded-For for the next hop: what the client sent, then the peer (nginx's
    ``$proxy_add_x_forwarded_for``). The services believe only the entries our proxies appended
    (sambang_runtime.clientaddr), so keeping the client's own entries forges nothing, and a
    proxy in front of this one (a load balancer) keeps its client."""
    # "unknown" (no peer, e.g. a Unix socket) is malformed on purpose: the service stops there.
    peer = request.client.host if request.client else "unknown"
    sent = ", ".join(v.strip() for v in request.headers.getlist("x-forwarded-for") if v.strip())
    return f"{sent}, {peer}" if sent else peer


class Proxy:
    """Forwards a request to a service's base URL, streaming the response back."""

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url
        self.client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Proxy one HTTP request."""
        request = Request(scope, receive)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP_AND_FORWARDED]
        headers.append(("x-forwarded-for", forwarded_for(request)))
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


def build_proxy(
    services: Sequence[ServiceDescriptor], host: str = "127.0.0.1", offset: int = 0, *, development: bool = False
) -> FrontDoor:
    """The front door of ``make up``: each prefix proxied to its service's port."""
    client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
    routes: list[tuple[str, ASGIApp]] = []
    probes: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {}
    for d in services:
        proxy = Proxy(f"http://{host}:{d.port + offset}", client)
        routes.extend((p, proxy) for p in d.public_prefixes)
        probes[d.name] = _http_probe(client, f"http://{host}:{d.port + offset}/readyz")
    return FrontDoor(routes, services, probes, clients_dir(), development=development)


def _http_probe(client: httpx.AsyncClient, url: str) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def probe() -> dict[str, Any]:
        try:
            resp = await client.get(url, timeout=3)
        except httpx.HTTPError as exc:
            return {"ready": False, "error": f"unreachable: {type(exc).__name__}"}
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return {"ready": False, "error": f"answered {resp.status_code} without a readiness report"}
        return body

    return probe


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the proxying front door on port 8000; with ``--clients-only``, the web clients alone
    (behind a Kubernetes ingress, which routes the API prefixes to the services itself)."""
    import argparse

    import uvicorn

    from .logs import configure_logging

    parser = argparse.ArgumentParser(prog="python -m sambang_runtime.frontdoor")
    parser.add_argument("--clients-only", action="store_true", help="serve clients/ without proxying the API")
    args = parser.parse_args(argv)
    configure_logging(os.environ.get("SAMBANG_LOG_LEVEL", "INFO"))
    offset = int(os.environ.get("SAMBANG_PORT_OFFSET", "0"))
    if args.clients_only:
        clients = clients_dir()
        if clients is None:
            raise SystemExit(f"no web clients found: set {CLIENTS_DIR_ENV}")
        app = FrontDoor([], [], {}, clients)
    else:
        # Production unless the environment says development (the services' rule; the door holds no keys).
        development = os.environ.get("SAMBANG_ENVIRONMENT", "production") == "development"
        app = build_proxy(discover_services(), offset=offset, development=development)
    uvicorn.run(
        app,
        host=os.environ.get("SAMBANG_HOST", "127.0.0.1"),
        port=int(os.environ.get("SAMBANG_PORT", 8000)),
        log_config=None,
        access_log=False,
        proxy_headers=False,  # the peer is the client; forwarded_for() appends it to what it sent
    )


if __name__ == "__main__":
    main()
