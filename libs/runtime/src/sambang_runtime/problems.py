"""RFC 9457 problem details with stable machine codes and Indonesian/English messages."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Literal

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from .errors import DomainError, ErrorEntry

__all__ = [
    "COMMON_MESSAGES",
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_TYPE_PREFIX",
    "ProblemError",
    "install_problem_handlers",
    "preferred_language",
    "problem_response",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
# A URN rather than an https URL: a URL would promise a page that nobody publishes.
PROBLEM_TYPE_PREFIX = "urn:sambang:problem:"

Language = Literal["id", "en"]
DEFAULT_LANGUAGE: Language = "id"

COMMON_MESSAGES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "unauthorized": ("Authentication is required", "Autentikasi diperlukan"),
        "forbidden": (
            "You are not allowed to perform this action",
            "Anda tidak berwenang melakukan tindakan ini",
        ),
        "wrong_office": (
            "Officers act only within their own office",
            "Petugas hanya dapat bertindak di kantornya sendiri",
        ),
        "not_found": (
            "The requested resource was not found",
            "Data yang diminta tidak ditemukan",
        ),
        "method_not_allowed": (
            "This method is not allowed on this resource",
            "Metode ini tidak diizinkan untuk sumber daya ini",
        ),
        "validation_failed": (
            "The request contains invalid data",
            "Permintaan berisi data yang tidak valid",
        ),
        "internal_error": (
            "An internal error occurred; please try again later",
            "Terjadi kesalahan internal; silakan coba lagi nanti",
        ),
        "rate_limited": (
            "Too many requests; please wait before trying again",
            "Terlalu banyak permintaan; silakan tunggu sebelum mencoba lagi",
        ),
        "service_busy": (
            "The service is busy; nothing was changed, please try again shortly",
            "Layanan sedang sibuk; tidak ada yang diubah, silakan coba lagi sebentar lagi",
        ),
        "invalid_receipt_number": ("Invalid receipt number", "Nomor tanda terima tidak valid"),
        "approval_invalid": (
            "The approval is not valid for this action; see reason",
            "Persetujuan tidak berlaku untuk tindakan ini; lihat alasan",
        ),
        "approval_used": (
            "This approval has already been used; ask for a new one",
            "Persetujuan ini sudah dipakai; mintalah persetujuan baru",
        ),
        "payload_too_large": (
            "The request body is larger than the accepted size",
            "Isi permintaan lebih besar dari ukuran yang diterima",
        ),
        "database_unavailable": (
            "The service's database is unavailable; nothing was changed, please try again shortly",
            "Basis data layanan sedang tidak tersedia; tidak ada yang diubah, silakan coba lagi sebentar lagi",
        ),
    }
)

_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
# Members defined by RFC 9457 and by us; `extra` may not overwrite them.
_RESERVED_MEMBERS = frozenset({"type", "title", "status", "code", "detail", "instance"})

_STATUS_CODES: Mapping[int, str] = MappingProxyType(
    {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
)

_log = structlog.get_logger(__name__)


class ProblemError(Exception):
    """A domain or request error that renders as a problem response with a stable code."""

    def __init__(
        self,
        status: int,
        code: str,
        detail_en: str,
        detail_id: str,
        *,
        title: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"problem status must be 4xx or 5xx, got {status}")
        if not _CODE_PATTERN.match(code):
            raise ValueError(f"problem code must be snake_case, got {code!r}")
        super().__init__(f"{code}: {detail_en}")
        self.status = status
        self.code = code
        self.detail_en = detail_en
        self.detail_id = detail_id
        self.title = title
        self.extra: dict[str, Any] = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})

    @classmethod
    def common(
        cls,
        status: int,
        code: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ProblemError:
        """Build a problem from a code in COMMON_MESSAGES, so its wording stays uniform."""
        detail_en, detail_id = COMMON_MESSAGES[code]
        return cls(status, code, detail_en, detail_id, extra=extra, headers=headers)


def _language_of(tag: str) -> Language | Literal["*"] | None:
    primary = tag.split("-", 1)[0].strip().lower()
    # "in" is the withdrawn ISO 639 code for Indonesian that some platforms (Java, old Android) still send.
    if primary in ("id", "in"):
        return "id"
    if primary == "en":
        return "en"
    if primary == "*":
        return "*"
    return None


def preferred_language(accept_language: str | None) -> Language:
    """Pick "id" or "en" from an Accept-Language header, honouring q-values; "id" by default."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    # For each language: (q of its most specific matching range, whether exact, position).
    best: dict[str, tuple[float, bool, int]] = {}
    for position, item in enumerate(accept_language.split(",")):
        parts = [part.strip() for part in item.split(";")]
        language = _language_of(parts[0]) if parts[0] else None
        if language is None:
            continue
        quality = 1.0
        malformed = False
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    malformed = True
        if malformed or not 0.0 <= quality <= 1.0:
            continue
        targets: tuple[Language, ...] = ("id", "en") if language == "*" else (language,)
        exact = language != "*"
        for target in targets:
            current = best.get(target)
            # An exact range overrides the wildcard; among equals the first listed wins.
            if current is None or (exact and not current[1]) or (exact == current[1] and quality > current[0]):
                best[target] = (quality, exact, position)
    acceptable = [(q, -pos, lang) for lang, (q, _, pos) in best.items() if q > 0.0]
    if not acceptable:
        return DEFAULT_LANGUAGE
    # Highest q wins; on a tie the earlier range wins; a tie via the same wildcard favours "id".
    acceptable.sort(key=lambda entry: (entry[0], entry[1], entry[2] == "id"), reverse=True)
    top: Language = "id" if acceptable[0][2] == "id" else "en"
    return top


def _default_title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    request: Request,
    status: int,
    code: str,
    detail_en: str,
    detail_id: str,
    *,
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Render a problem details response in the language the client prefers."""
    language = preferred_language(request.headers.get("accept-language"))
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_PREFIX}{code}",
        "title": title or _default_title(status),
        "status": status,
        "code": code,
        "detail": detail_id if language == "id" else detail_en,
        "instance": request.url.path,
    }
    if extra:
        for key, value in extra.items():
            if key not in _RESERVED_MEMBERS:
                body[key] = jsonable_encoder(value)
    response_headers = dict(headers or {})
    response_headers["Content-Language"] = language
    # Caches must not serve an Indonesian body to a client that asked for English.
    vary = response_headers.get("Vary")
    response_headers["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
    return JSONResponse(
        content=body,
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=response_headers,
    )


def _field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # Only location, message and type: `input` and `ctx` can hold what the applicant typed (a NIK, a name).
    fields: list[dict[str, Any]] = []
    for error in errors:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        error_type = str(error.get("type", "value_error"))
        if error_type == "json_invalid":
            # FastAPI puts the character offset into loc; it means nothing to a client as a field.
            loc = [part for part in loc if not isinstance(part, int)] or ["body"]
            message = "The request body is not valid JSON"
        else:
            message = str(error.get("msg", "Invalid value"))
        fields.append({"loc": loc, "msg": message, "type": error_type})
    return fields


async def _handle_problem_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        exc.status,
        exc.code,
        exc.detail_en,
        exc.detail_id,
        title=exc.title,
        extra=exc.extra,
        headers=exc.headers,
    )


def _domain_error_handler(catalogue: Mapping[str, ErrorEntry]) -> Any:
    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        entry = catalogue.get(exc.code)
        if entry is None:
            # A code the service never catalogued is a bug, not the client's fault: say so loudly.
            _log.error("problem.uncatalogued_code", code=exc.code, path=request.url.path)
            detail_en, detail_id = COMMON_MESSAGES["internal_error"]
            return problem_response(request, 500, "internal_error", detail_en, detail_id)
        return problem_response(request, entry.status, exc.code, entry.en, entry.id, extra=exc.extra)

    return handle


async def _handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc.errors())
    if any(error["type"] == "json_invalid" for error in errors):
        detail_en = "The request body is not valid JSON"
        detail_id = "Isi permintaan bukan JSON yang valid"
    else:
        detail_en, detail_id = COMMON_MESSAGES["validation_failed"]
    return problem_response(request, 422, "validation_failed", detail_en, detail_id, extra={"errors": errors})


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status < 400:
        # Starlette can raise non-error statuses (304); they are not problems and carry no body.
        return Response(status_code=status, headers=exc.headers)
    code = _STATUS_CODES.get(status, f"http_{status}")
    if code in COMMON_MESSAGES:
        detail_en, detail_id = COMMON_MESSAGES[code]
    else:
        # Starlette's own detail is the reason phrase; a developer's detail is English-only.
        detail_en = exc.detail if isinstance(exc.detail, str) else _default_title(status)
        detail_id = f"Permintaan tidak dapat diproses (HTTP {status})"
    return problem_response(request, status, code, detail_en, detail_id, headers=exc.headers)


async def _handle_pool_timeout(request: Request, exc: Exception) -> Response:
    # Every database connection stayed busy for the pool's timeout: the request never started its
    # transaction. The pool is fixed in size (no overflow), so a rush queues rather than opening
    # connections PostgreSQL would have to fork for.
    _log.warning("database_pool_exhausted", method=request.method, path=request.url.path)
    detail_en, detail_id = COMMON_MESSAGES["service_busy"]
    return problem_response(request, 503, "service_busy", detail_en, detail_id, headers={"Retry-After": "2"})


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (down, restarting, connection cut), not a bug."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, ConnectionError):  # refused, reset
            return True
        name = type(current).__name__
        if name in _UNREACHABLE_DRIVER_ERRORS:
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


#: asyncpg's errors for a server that is shutting down, starting or gone (matched by name: no import).
_UNREACHABLE_DRIVER_ERRORS = frozenset(
    {
        "ConnectionDoesNotExistError",
        "ConnectionFailureError",
        "CannotConnectNowError",
        "AdminShutdownError",
        "CrashShutdownError",
        "PostgresConnectionError",
        "ClientCannotConnectError",
    }
)


async def _handle_database_unavailable(request: Request, exc: Exception) -> Response:
    _log.warning("database_unavailable", method=request.method, path=request.url.path, error=type(exc).__name__)
    detail_en, detail_id = COMMON_MESSAGES["database_unavailable"]
    return problem_response(request, 503, "database_unavailable", detail_en, detail_id, headers={"Retry-After": "5"})


async def _handle_unexpected(request: Request, exc: Exception) -> Response:
    if database_unreachable(exc):
        return await _handle_database_unavailable(request, exc)
    # exc_info explicitly: Starlette calls this handler from middleware, not always inside `except`.
    _log.exception("unhandled_exception", method=request.method, path=request.url.path, exc_info=exc)
    detail_en, detail_id = COMMON_MESSAGES["internal_error"]
    return problem_response(request, 500, "internal_error", detail_en, detail_id)


def install_problem_handlers(app: FastAPI, catalogue: Mapping[str, ErrorEntry] | None = None) -> None:
    """Register the handlers that turn every error into a problem details response.

    ``catalogue`` is the service's ErrorCatalogue: every ``DomainError`` renders through it.
    """
    app.add_exception_handler(ProblemError, _handle_problem_error)
    app.add_exception_handler(DomainError, _domain_error_handler(catalogue or {}))
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(PoolTimeout, _handle_pool_timeout)
    # The driver's errors are registered by class too, so the answer is final (for ``Exception`` the
    # handler is Starlette's last resort, which re-raises after answering): a database down or
    # restarting is a 503 the client may retry, anything else a 500 (see _handle_unexpected).
    app.add_exception_handler(DBAPIError, _handle_unexpected)
    app.add_exception_handler(ConnectionError, _handle_unexpected)
    app.add_exception_handler(Exception, _handle_unexpected)
