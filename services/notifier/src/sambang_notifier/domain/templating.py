"""Jinja2 templates an admin may edit: sandboxed, HTML autoescaped, checked before they are saved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from sambang_runtime.errors import DomainError

#: The parts of a template: an e-mail's subject, HTML and plain-text bodies, and the SMS text.
FIELDS: tuple[str, ...] = ("subject", "html", "text", "sms")
#: Only the HTML body is HTML: escaping the subject, the plain text or an SMS would show "&amp;" to the reader.
HTML_FIELDS = frozenset({"html"})
#: Longest rendered SMS (a few concatenated segments; providers split longer texts unpredictably).
SMS_MAX = 480

# Sandboxed because admins edit templates through the API: a template must not reach Python internals.
# StrictUndefined: a misspelt variable fails the check at save time instead of sending a blank.
_ENVS = {
    True: SandboxedEnvironment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=False),
    False: SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False),
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """One message rendered for one applicant."""

    subject: str
    html: str
    text: str
    sms: str


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> Template:
    return _ENVS[html].from_string(source)


def _render_field(field: str, source: str, variables: Mapping[str, Any]) -> str:
    out = _compiled(source, field in HTML_FIELDS).render(**variables)
    if field == "subject":
        # A header: one line, whatever the template or a variable holds (no header injection).
        return " ".join(out.split())
    return out.strip()


def render(fields: Mapping[str, str], variables: Mapping[str, Any]) -> Rendered:
    """Render every part of a template with the event's variables."""
    parts = {field: _render_field(field, fields[field], variables) for field in FIELDS}
    return Rendered(parts["subject"], parts["html"], parts["text"], parts["sms"][:SMS_MAX])


def check(fields: Mapping[str, str], sample: Mapping[str, Any]) -> None:
    """Refuse (422 template_invalid) a template that does not compile or does not render with its variables."""
    for field in FIELDS:
        source = fields[field]
        try:
            _compiled(source, field in HTML_FIELDS)
        except TemplateSyntaxError as exc:
            raise DomainError(
                "template_invalid", field=field, line=exc.lineno, reason=exc.message or "syntax"
            ) from None
        try:
            out = _render_field(field, source, sample)
        except TemplateError as exc:
            raise DomainError("template_invalid", field=field, reason=str(exc)[:300]) from None
        if field in ("subject", "sms", "text") and not out:
            raise DomainError("template_invalid", field=field, reason="renders empty")
        if field == "sms" and len(out) > SMS_MAX:
            raise DomainError("template_invalid", field=field, reason=f"longer than {SMS_MAX} characters")
