"""Message templates: the national admin alone reads and edits them; a change takes effect with the next
message, and every edit goes into the audit trail (who, when, which template, hashes of old and new)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from sambang_contracts import Language
from sambang_contracts.values import Text
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep

from ..domain import templating
from ..domain.messages import SAMPLE_VARIABLES, TEMPLATE_NAMES
from ..stores import audit, templates
from ..stores.audit import AuditAction
from ..stores.templates import StoredTemplate
from .deps import NationalAdmin

router = APIRouter(prefix="/v1/templates", tags=["templates"])

#: A template's name in a path (one of TEMPLATE_NAMES; anything else is 404 template_not_found).
TemplateName = Annotated[Text, Path(min_length=1, max_length=50)]


class TemplateBody(BaseModel):
    """The parts of a template (Jinja2; the HTML body is autoescaped); no control characters (422): tabs
    and line breaks are text."""

    subject: Text = Field(min_length=1, max_length=500)
    html: Text = Field(min_length=1, max_length=20_000)
    text: Text = Field(min_length=1, max_length=20_000)
    sms: Text = Field(min_length=1, max_length=2_000)


class TemplateOut(TemplateBody):
    """A template as stored, with the variables it may use."""

    name: str
    language: Language
    variables: list[str]
    updated_at: dt.datetime
    updated_by: str | None


def _out(t: StoredTemplate) -> TemplateOut:
    return TemplateOut(
        name=t.name,
        language=Language(t.language),
        subject=t.subject,
        html=t.html,
        text=t.text,
        sms=t.sms,
        variables=sorted(SAMPLE_VARIABLES.get(t.name, {})),
        updated_at=t.updated_at,
        updated_by=t.updated_by,
    )


@router.get("", response_model=list[TemplateOut])
async def list_templates(_admin: NationalAdmin, uow: UowDep) -> list[TemplateOut]:
    """Every template in Bahasa Indonesia and English."""
    return [_out(t) for t in await templates.all_templates(uow)]


@router.put("/{name}/{language}", response_model=TemplateOut)
async def replace_template(
    name: TemplateName, language: Language, body: TemplateBody, admin: NationalAdmin, uow: UowDep
) -> TemplateOut:
    """Replace a template; 422 template_invalid when it does not compile or render with its variables.
    Audited: who, when, which template, and the SHA-256 of its parts before and after."""
    if name not in TEMPLATE_NAMES:
        raise DomainError("template_not_found", name=name, language=language.value)
    fields = body.model_dump()
    templating.check(fields, SAMPLE_VARIABLES[name] | {"language": language.value})
    old = await templates.get(uow, name, language)
    if old is None:
        raise DomainError("template_not_found", name=name, language=language.value)
    stored = await templates.replace(uow, name, language, fields, by=admin.sub, now=uow.now())
    await audit.add(
        uow,
        admin,
        AuditAction.TEMPLATE_EDITED,
        template=name,
        language=language.value,
        detail={
            "old_sha256": template_hash(old.fields()),
            "new_sha256": template_hash(stored.fields()),
            "old_updated_by": old.updated_by,
        },
    )
    await uow.commit()
    return _out(stored)


def template_hash(fields: Mapping[str, str]) -> str:
    """SHA-256 of a template's parts (subject, html, text, sms), canonical JSON: the same text, the same hash."""
    canonical = json.dumps(dict(sorted(fields.items())), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
