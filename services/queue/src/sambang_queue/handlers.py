"""Event handlers of the queue service, registered in one table (STYLE.md rule 5)."""

from __future__ import annotations

from sambang_runtime.consumer import HandlerTable

HANDLERS: HandlerTable = {}
