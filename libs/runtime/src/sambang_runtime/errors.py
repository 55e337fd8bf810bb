"""Errors as values with codes (STYLE.md rule 7), framework-free.

A service's domain raises ``DomainError("slot_full", slot_id=...)``; it knows no HTTP. The service
fills one ``ErrorCatalogue`` (code -> status and the words in English and Bahasa Indonesia) and gives
it to its ``ServiceSpec``; the runtime's one handler renders every ``DomainError`` through it as an
RFC 9457 problem. This module imports no web framework, so ``domain.py`` may import it and stay pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["DomainError", "ErrorCatalogue", "ErrorEntry"]


class DomainError(Exception):
    """A rule refused the request; ``code`` is a stable code of the service's ErrorCatalogue.

    ``extra`` becomes members of the problem response (e.g. ``missing=[...]``); never put personal
    data in it.
    """

    def __init__(self, code: str, /, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra: dict[str, Any] = extra


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    """How one code renders: HTTP status and the detail in English and Bahasa Indonesia."""

    status: int
    en: str
    id: str


class ErrorCatalogue(Mapping[str, ErrorEntry]):
    """Every problem code a service answers with (the codes are API: never rename one)."""

    def __init__(self, entries: Mapping[str, tuple[int, str, str]], *, service: str = "") -> None:
        checked: dict[str, ErrorEntry] = {}
        for code, (status, en, id_) in entries.items():
            if not code.replace("_", "").isalnum() or not code[:1].isalpha() or code != code.lower():
                raise ValueError(f"problem code must be snake_case, got {code!r}")
            if not 400 <= status <= 599:
                raise ValueError(f"{code}: problem status must be 4xx or 5xx, got {status}")
            if not en.strip() or not id_.strip():
                raise ValueError(f"{code}: both the English and the Indonesian detail are needed")
            checked[code] = ErrorEntry(status, en, id_)
        self._entries: Mapping[str, ErrorEntry] = MappingProxyType(checked)
        self.service = service

    def __getitem__(self, code: str) -> ErrorEntry:
        return self._entries[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def merged(self, other: Mapping[str, ErrorEntry]) -> ErrorCatalogue:
        """This catalogue with another's entries added (a code in both must mean the same)."""
        both: dict[str, tuple[int, str, str]] = {c: (e.status, e.en, e.id) for c, e in self.items()}
        for code, entry in other.items():
            if code in both and both[code] != (entry.status, entry.en, entry.id):
                raise ValueError(f"{code} is defined twice with different meanings")
            both[code] = (entry.status, entry.en, entry.id)
        return ErrorCatalogue(both, service=self.service)
