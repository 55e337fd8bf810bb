"""REST endpoints of the notifier (API.md, notifier table): one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from . import mailbox, notifications, streams, templates

ROUTERS: list[APIRouter] = [streams.router, notifications.router, templates.router, mailbox.router]
