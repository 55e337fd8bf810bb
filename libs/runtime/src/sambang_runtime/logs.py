"""Structured logging with structlog: JSON lines, request context, and personal data redacted."""

from __future__ import annotations

import dataclasses
import logging
import re
import sys
import time
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .entropy import uuid4

__all__ = [
    "PERSONAL_DATA_KEYS",
    "REQUEST_ID_HEADER",
    "RequestContextMiddleware",
    "bind_context",
    "clear_context",
    "configure_logging",
    "get_logger",
    "redact_personal_data",
]

PERSONAL_DATA_KEYS: frozenset[str] = frozenset(
    {
        "nik",
        "full_name",
        "name",
        "applicant_name",
        "proxy_name",
        "phone",
        "email",
        "birth_date",
        "date_of_birth",
        "address",
        "applicant",
        "proxy_nik",
        "mother_name",
    }
)

REDACTED = "[REDACTED]"
REQUEST_ID_HEADER = "X-Request-ID"

# A NIK is exactly 16 digits; the lookarounds keep longer numbers and 13-digit receipt tails apart.
_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Indonesian mobiles: 08…, 628… or +62 8…, 9 to 13 digits in all, optionally grouped with spaces, dots or
# dashes. A preceding letter or digit means it is part of a code (a receipt number), not a phone.
_PHONE = re.compile(r"(?<![\w+])(?:\+62[ .-]?|62|0)8(?:[ .-]?\d){7,11}(?!\d)")

# Stdlib loggers of libraries we run with; their own handlers would bypass redaction.
_ROUTED_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "sqlalchemy",
    "aio_pika",
    "aiormq",
    "httpx",
    "httpcore",
    "mail.log",
)
_HANDLER_MARK = "_sambang_log_handler"
_QUIET_LOGGERS = {
    # Our middleware writes the access line (with request_id, without client IP); uvicorn's is noise.
    "uvicorn.access": logging.WARNING,
    # SQLAlchemy logs every statement and its parameters (names, NIKs) at INFO once root is at INFO.
    "sqlalchemy": logging.WARNING,
    # httpx logs every URL it calls at INFO, query strings (birth dates) included.
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    # aiosmtpd (the development mail sink) logs every line of every message at DEBUG (names, links) and
    # every connection at INFO.
    "mail.log": logging.WARNING,
}


def _scrub_text(text: str) -> str:
    # NIK before phone: a 16-digit NIK starting with 08 is not a phone number.
    text = _NIK.sub("[NIK]", text)
    text = _EMAIL.sub("[EMAIL]", text)
    return _PHONE.sub("[PHONE]", text)


def _is_personal_key(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in PERSONAL_DATA_KEYS


def _redact_value(value: Any) -> Any:
    # Builds new containers: the caller's objects are logged, not modified.
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, int):
        return "[NIK]" if len(str(abs(value))) == 16 else value
    if isinstance(value, Mapping):
        return {key: REDACTED if _is_personal_key(key) else _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item) for item in value]
    if isinstance(value, bytes | bytearray):
        # Raw bytes in a log are likely a photo or a fingerprint; their size is all anyone needs.
        return f"<{len(value)} bytes>"
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        try:
            return _redact_value(model_dump(mode="json"))
        except Exception:
            # A log line must never raise; the text form below is scrubbed all the same.
            return _scrub_text(str(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _redact_value(dataclasses.asdict(value))
    # Anything else would reach the renderer through repr(), unscrubbed.
    return _scrub_text(str(value))


def redact_personal_data(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: blank personal-data keys and scrub NIKs, e-mails and phones from text."""
    for key in list(event_dict):
        if key.startswith("_") or key in ("exc_info", "stack_info"):
            # Processor metadata and live exception objects; format_exc_info turns the latter into text
            # that is scrubbed when this processor runs after it.
            continue
        if _is_personal_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _redact_value(event_dict[key])
    return event_dict


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Write to whatever sys.stderr is at the moment of each line."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record."""
        # Looked up per line, not bound once: pytest's capture and daemonisers replace sys.stderr.
        self.stream = sys.stderr
        super().emit(record)


# LogRecord attributes that are not a caller's `extra`: the standard ones, those a formatter adds
# (message, asctime) when another handler saw the record first, and uvicorn's coloured duplicate.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}


def _add_stdlib_extras(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    record = event_dict.get("_record")
    if record is not None:
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_") and key not in event_dict:
                event_dict[key] = value
    return event_dict


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(level: str = "INFO", *, json: bool | None = None) -> None:
    """Send structlog and stdlib logging through one redacting renderer; safe to call again."""
    levels = logging.getLevelNamesMapping()
    if level.upper() not in levels:
        raise ValueError(f"unknown log level {level!r}")
    numeric_level = levels[level.upper()]
    if json is None:
        json = not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Uncached so tests (structlog.testing.capture_logs) and a later reconfiguration take effect.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), _add_stdlib_extras],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Tracebacks become text before redaction: exception messages often quote the bad value.
            structlog.processors.format_exc_info,
            redact_personal_data,
            renderer,
        ],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, _HANDLER_MARK, False):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric_level)

    for name in _ROUTED_LOGGERS:
        routed = logging.getLogger(name)
        routed.handlers.clear()
        routed.propagate = True
        routed.setLevel(_QUIET_LOGGERS.get(name, logging.NOTSET))


def get_logger(name: str | None = None) -> Any:
    """Return a structlog logger; configure_logging decides where its lines go."""
    return structlog.stdlib.get_logger(name) if name else structlog.stdlib.get_logger()


def bind_context(**values: Any) -> None:
    """Add key-values to every log line of the current request or task."""
    structlog.contextvars.bind_contextvars(**values)


def clear_context() -> None:
    """Drop every key bound with bind_context in the current context."""
    structlog.contextvars.clear_contextvars()


_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_access_log = structlog.stdlib.get_logger("sambang.request")


_RECEIPT_SEGMENT = re.compile(r"^[A-Z]{3}[0-9]{13}$")


def _receipt_in_path(path: str) -> str | None:
    """The receipt number named in a URL path (``/v1/applications/BLT…/cancel``), if any."""
    for segment in path.split("/"):
        if _RECEIPT_SEGMENT.match(segment):
            return segment
    return None


class RequestContextMiddleware:
    """Pure ASGI middleware: request id in and out, bound to logs, one access line per request."""

    def __init__(self, app: ASGIApp, *, header_name: str = REQUEST_ID_HEADER) -> None:
        self.app = app
        self.header_name = header_name
        self._header_key = header_name.lower().encode("latin-1")

    def _incoming_request_id(self, scope: Scope) -> str:
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        for key, value in headers:
            if key.lower() == self._header_key:
                candidate = value.decode("latin-1").strip()
                # A caller-chosen id goes into every log line; only plain tokens are trusted.
                if _REQUEST_ID_PATTERN.match(candidate):
                    return candidate
                break
        return uuid4().hex

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._incoming_request_id(scope)
        # Restored afterwards rather than wiped: a caller's own bindings (a test, a worker) survive.
        outer_context = structlog.contextvars.get_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        receipt = _receipt_in_path(scope.get("path", ""))
        if receipt is not None:  # every line of a request about one application carries its receipt
            structlog.contextvars.bind_contextvars(receipt_number=receipt)
        status = 500
        started = time.perf_counter()
        header = (self._header_key, request_id.encode("latin-1"))

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(key, value) for key, value in message.get("headers", ()) if key.lower() != self._header_key]
                headers.append(header)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            # The path without its query string: queries carry birth dates.
            _access_log.info(
                "request",
                method=scope.get("method", ""),
                path=scope.get("path", ""),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()
            if outer_context:
                structlog.contextvars.bind_contextvars(**outer_context)
