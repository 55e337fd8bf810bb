"""Message templates: an admin reads and edits them; a change takes effect with the next message."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sambang_contracts import Language
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep

from ..domain import templating
from ..domain.messages import SAMPLE_VARIABLES, TEMPLATE_NAMES
from ..stores import templates
from ..stores.templates import StoredTemplate
from .deps import Admin

router = APIRouter(prefix="/v1/templates", tags=["templates"])


class TemplateBody(BaseModel):
    """The parts of a template (Jinja2; the HTML body is autoescaped)."""

    subject: str = Field(min_length=1, max_length=500)
    html: str = Field(min_length=1, max_length=20_000)
    text: str = Field(min_length=1, max_length=20_000)
    sms: str = Field(min_length=1, max_length=2_000)


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
async def list_templates(_admin: Admin, uow: UowDep) -> list[TemplateOut]:
    """Every template in Bahasa Indonesia and English."""
    return [_out(t) for t in await templates.all_templates(uow)]


@router.put("/{name}/{language}", response_model=TemplateOut)
async def replace_template(name: str, language: Language, body: TemplateBody, admin: Admin, uow: UowDep) -> TemplateOut:
    """Replace a template; 422 template_invalid when it does not compile or render with its variables."""
    if name not in TEMPLATE_NAMES:
        raise DomainError("template_not_found", name=name, language=language.value)
    fields = body.model_dump()
    templating.check(fields, SAMPLE_VARIABLES[name] | {"language": language.value})
    stored = await templates.replace(uow, name, language, fields, by=admin.sub, now=uow.now())
    await uow.commit()
    return _out(stored)
