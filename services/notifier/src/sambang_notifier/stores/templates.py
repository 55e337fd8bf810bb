"""Message templates by name and language: shipped defaults seeded, admin edits kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sambang_contracts import Language
from sambang_runtime.errors import DomainError
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Row, and_, or_, select, update

from ..domain.templating import FIELDS
from ..models import template


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    """One template as stored."""

    name: str
    language: str
    subject: str
    html: str
    text: str
    sms: str
    updated_at: dt.datetime
    updated_by: str | None

    def fields(self) -> dict[str, str]:
        """The parts to render."""
        return {"subject": self.subject, "html": self.html, "text": self.text, "sms": self.sms}


async def seed(uow: UnitOfWork, defaults: Mapping[tuple[str, Language], Mapping[str, str]], *, now: dt.datetime) -> int:
    """Add the shipped templates that are missing, and bring a stored one that is still the shipped default
    (never edited) up to this version's wording; an admin's edits stay. Returns how many were written."""
    rows = [
        {"name": name, "language": lang.value, **{f: fields[f] for f in FIELDS}, "updated_at": now, "updated_by": None}
        for (name, lang), fields in defaults.items()
    ]
    conn = await uow.session.connection()
    result = await upsert(
        conn,
        template,
        rows,
        key=["name", "language"],
        update=[*FIELDS, "updated_at"],
        where=lambda excluded: and_(
            template.c.updated_by.is_(None), or_(*(template.c[f] != excluded[f] for f in FIELDS))
        ),
        returning=[template.c.name],
    )
    return len(result.all())


def _stored(row: Row[Any]) -> StoredTemplate:
    return StoredTemplate(
        name=row.name,
        language=row.language,
        subject=row.subject,
        html=row.html,
        text=row.text,
        sms=row.sms,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


async def all_templates(uow: UnitOfWork) -> list[StoredTemplate]:
    """Every template, by name and language."""
    conn = await uow.session.connection()
    rows = await conn.execute(select(template).order_by(template.c.name, template.c.language))
    return [_stored(r) for r in rows]


async def get(uow: UnitOfWork, name: str, language: Language) -> StoredTemplate | None:
    """One template, or None."""
    conn = await uow.session.connection()
    row = (
        await conn.execute(select(template).where(template.c.name == name, template.c.language == language.value))
    ).first()
    return _stored(row) if row is not None else None


async def replace(
    uow: UnitOfWork, name: str, language: Language, fields: Mapping[str, str], *, by: str, now: dt.datetime
) -> StoredTemplate:
    """Store an admin's version of a template (it takes effect with the next message)."""
    conn = await uow.session.connection()
    result = await conn.execute(
        update(template)
        .where(template.c.name == name, template.c.language == language.value)
        .values(**{f: fields[f] for f in FIELDS}, updated_at=now, updated_by=by)
        .returning(*template.c)
    )
    row = result.first()
    if row is None:
        raise DomainError("template_not_found", name=name, language=language.value)
    return _stored(row)
