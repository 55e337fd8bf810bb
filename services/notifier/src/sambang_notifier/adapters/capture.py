"""Capture's checklist: ``GET /v1/captures/checklists/{service_type}?age=`` with a ``service`` token.

The reminder lists the documents the verifier will tick, so it asks capture for them instead of keeping a
copy of the rule. Whatever goes wrong (no answer, a refusal, an answer that is not a checklist) is
``CaptureUnavailable``: the reminder waits for a later round rather than go without its list.
"""

from __future__ import annotations

from types import TracebackType

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..domain.reminders import ChecklistLine


class CaptureUnavailable(Exception):
    """Capture gave no checklist now (timeout, connection refused, an HTTP error, a malformed answer)."""


class _Line(BaseModel):
    requirement: str
    kinds: list[str]
    holder: str


_LINES = TypeAdapter(list[_Line])


class CaptureChecklists:
    """The notifier's HTTP client towards capture, for as long as the reminder loop runs (``async with``)."""

    def __init__(self, base_url: str, *, timeout: float, connect_timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> CaptureChecklists:
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=self._timeout)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def checklist(self, service_type: str, age: int, *, token: str) -> list[ChecklistLine]:
        """The documents an applicant of this service type and age shows, in capture's order."""
        assert self._client is not None, "CaptureChecklists is used inside `async with`"
        try:
            response = await self._client.get(
                f"/v1/captures/checklists/{service_type}",
                params={"age": age},
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
        except httpx.TimeoutException as exc:
            raise CaptureUnavailable(f"capture timeout ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise CaptureUnavailable(f"capture unreachable ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise CaptureUnavailable(f"capture HTTP {response.status_code}")
        try:
            lines = _LINES.validate_json(response.content)
        except ValidationError:
            raise CaptureUnavailable("capture sent something that is not a checklist") from None
        if not lines:
            raise CaptureUnavailable("capture sent an empty checklist")
        return [ChecklistLine(line.requirement, tuple(line.kinds), line.holder) for line in lines]
