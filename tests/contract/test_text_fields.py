"""Every free-text field a client can send refuses control characters, through one string type.

For every service's OpenAPI document: each string property of each request body (nested objects, arrays
and unions included) and each string query, path and header parameter must carry the runtime's
``NO_CONTROL_CHARS`` pattern (``sambang_contracts.values.Text``), unless it is bounded otherwise: an enum,
a const, a format (date, uuid, email, binary...) or a pattern of its own. The test lists the offenders.
Raw bodies (images, a settlement file as text/csv) are their parsers' to check (capture's image checks,
payment's settlement lines refused with a 422 naming the line); headers cannot carry control characters
past the HTTP server.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from sambang_contracts.values import NO_CONTROL_CHARS
from sambang_runtime.service import ServiceDescriptor, discover_services
from sambang_runtime.settings import RuntimeSettings

SERVICES = discover_services()


def _document(descriptor: ServiceDescriptor) -> dict[str, Any]:
    tmp = Path(tempfile.gettempdir())
    settings = RuntimeSettings(
        environment="test",
        service_name=descriptor.name,
        database_url=f"sqlite+aiosqlite:///{tmp}/text-fields-{descriptor.name}.db",
        amqp_url="memory://",
    )
    doc: dict[str, Any] = descriptor.create_app(settings).openapi()
    return doc


def _named(doc: dict[str, Any], name: str) -> dict[str, Any]:
    inline: dict[str, Any] = doc.get("$defs", {})
    if name in inline:  # a "#/$defs/X" of a schema written inline in a route (not a component)
        found_inline: dict[str, Any] = inline[name]
        return found_inline
    schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
    if name in schemas:
        found: dict[str, Any] = schemas[name]
        return found
    for schema in schemas.values():  # a "#/$defs/X" left inside a component by pydantic
        if name in schema.get("$defs", {}):
            nested: dict[str, Any] = schema["$defs"][name]
            return nested
    raise KeyError(f"schema {name} not found")


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _named(doc, schema["$ref"].rsplit("/", 1)[-1])
    return schema


def _bounded(schema: dict[str, Any]) -> bool:
    return any(k in schema for k in ("pattern", "enum", "const", "format", "contentMediaType"))


def _offenders(doc: dict[str, Any], schema: dict[str, Any], where: str, seen: frozenset[str]) -> list[str]:
    """The unbounded string places under ``schema``, named by their path from ``where``."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:  # a recursive model: its fields are checked once
            return []
        return _offenders(doc, _resolve(doc, schema), where, seen | {name})
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            found += _offenders(doc, branch, where, seen)
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "string" in kinds and not _bounded(schema):
        found.append(where)
    if "array" in kinds or "items" in schema:
        items = schema.get("items")
        if isinstance(items, dict):
            found += _offenders(doc, items, f"{where}[]", seen)
    for name, prop in (schema.get("properties") or {}).items():
        found += _offenders(doc, prop, f"{where}.{name}", seen)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        found += _offenders(doc, extra, f"{where}.*", seen)
    return found


def offenders_of(doc: dict[str, Any]) -> list[str]:
    """Every string a request may carry without the free-text pattern or another bound."""
    found: list[str] = []
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            at = f"{method.upper()} {path}"
            for param in [*item.get("parameters", []), *op.get("parameters", [])]:
                param = _resolve(doc, param)
                if param.get("in") in ("query", "path"):
                    named = f"{at} {param['in']} {param['name']}"
                    found += _offenders(doc, param.get("schema", {}), named, frozenset())
            body = op.get("requestBody")
            if body:
                for media, content in _resolve(doc, body).get("content", {}).items():
                    if media != "application/json" and not media.endswith("+json"):
                        continue  # images, a settlement file (text/csv): raw bytes their own parser checks
                    schema = content["schema"]
                    scope = {**doc, "$defs": schema.get("$defs", {})}
                    found += _offenders(scope, schema, f"{at} body({media})", frozenset())
    return found


def test_the_checker_finds_a_bare_string_and_passes_the_pattern() -> None:
    doc = {
        "paths": {
            "/x/{a}": {
                "post": {
                    "parameters": [{"in": "path", "name": "a", "schema": {"type": "string"}}],
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/B"}}}},
                }
            }
        },
        "components": {
            "schemas": {
                "B": {
                    "type": "object",
                    "properties": {
                        "ok": {"type": "string", "pattern": NO_CONTROL_CHARS},
                        "kind": {"type": "string", "enum": ["A"]},
                        "when": {"type": "string", "format": "date"},
                        "note": {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}]},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "nested": {"$ref": "#/components/schemas/B"},
                    },
                }
            }
        },
    }
    assert offenders_of(doc) == [
        "POST /x/{a} path a",
        "POST /x/{a} body(application/json).note",
        "POST /x/{a} body(application/json).tags[]",
    ]


@pytest.mark.parametrize("descriptor", SERVICES, ids=[d.name for d in SERVICES])
def test_every_text_field_refuses_control_characters(descriptor: ServiceDescriptor) -> None:
    offenders = offenders_of(_document(descriptor))
    assert not offenders, (
        f"{descriptor.name}: string fields of requests without the free-text pattern (use "
        f"sambang_contracts.values.Text, or an enum, a format or a pattern of their own):\n  " + "\n  ".join(offenders)
    )
