"""JSON Schemas and the AsyncAPI document of the events; the only module that writes files.

`python -m sambang_contracts.schemas docs/events` (what `make docs` runs) regenerates the committed
files deterministically.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from sambang_contracts.envelope import (
    CONTENT_TYPE,
    EXCHANGE,
    dataschema_for,
    dump_event,
    event_class,
    new_event,
    owner_of,
)
from sambang_contracts.events import REGISTRY, event_model, routing_keys
from sambang_contracts.examples import EXAMPLES

__all__ = ["asyncapi_document", "event_json_schema", "export", "main"]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_FILE = "asyncapi.json"
SCHEMA_SUFFIX = ".schema.json"

_EXAMPLE_ID = "0b8f7c3e-5d2a-4c1e-9f3b-2a6d8e4f1c07"
_EXAMPLE_CORRELATION = "5e7a1d2c-3b4f-4a6e-8c9d-0f1e2a3b4c5d"
_EXAMPLE_TIME = dt.datetime(2026, 12, 1, 3, 4, 5, tzinfo=dt.UTC)


def _source(event_type: str) -> str:
    """Which service publishes an event type (its `source`)."""
    owner = owner_of(event_type)
    assert owner is not None, event_type
    return owner


def _example_event(event_type: str) -> dict[str, Any]:
    data = EXAMPLES[event_type]
    event = new_event(
        data,
        source=_source(event_type),
        event_id=_EXAMPLE_ID,
        correlationid=_EXAMPLE_CORRELATION,
        time=_EXAMPLE_TIME,
    )
    loaded: dict[str, Any] = json.loads(dump_event(event))
    return loaded


def _pin_type(schema: dict[str, Any], event_type: str) -> None:
    """Fix `type` and `dataschema` to this event's values in an envelope schema."""
    properties = schema["properties"]
    properties["type"] = {"const": event_type, "type": "string", "title": "Type"}
    properties["dataschema"] = {
        "const": dataschema_for(event_type),
        "type": "string",
        "title": "Dataschema",
    }
    schema["title"] = f"{event_model(event_type).__name__} event"
    schema["description"] = (
        f"CloudEvents 1.0 envelope (structured JSON) of `{event_type}`: "
        f"{(event_model(event_type).__doc__ or '').strip().splitlines()[0]}"
    )


def event_json_schema(type: str) -> dict[str, Any]:
    """Return the JSON Schema of a whole event (envelope and data), `$id` `sambang:<type>:1`."""
    schema = copy.deepcopy(event_class(type).model_json_schema(mode="validation"))
    _pin_type(schema, type)
    schema["examples"] = [_example_event(type)]
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": dataschema_for(type), **schema}


def asyncapi_document() -> dict[str, Any]:
    """Return the AsyncAPI 3.0.0 document: one channel, message and send operation per event."""
    keys = routing_keys()
    names = {key: event_model(key).__name__ for key in keys}
    _, definitions = models_json_schema(
        [(event_class(key), "validation") for key in keys],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = copy.deepcopy(definitions["$defs"])
    # Give each envelope a readable name and pin its type; nested models keep pydantic's names.
    for key in keys:
        generated = event_class(key).__name__.replace("[", "_").replace("]", "_")
        envelope = schemas.pop(generated)
        _pin_type(envelope, key)
        schemas[f"{names[key]}Event"] = envelope

    amqp_channel = {
        "is": "routingKey",
        "exchange": {
            "name": EXCHANGE,
            "type": "topic",
            "durable": True,
            "autoDelete": False,
            "vhost": "/",
        },
        "bindingVersion": "0.3.0",
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for key in keys:
        name = names[key]
        model = event_model(key)
        messages[name] = {
            "name": key,
            "title": name,
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "contentType": CONTENT_TYPE,
            "payload": {"$ref": f"#/components/schemas/{name}Event"},
            "bindings": {"amqp": {"contentEncoding": "utf-8", "messageType": key, "bindingVersion": "0.3.0"}},
            "examples": [{"name": "example", "payload": _example_event(key)}],
        }
        channels[name] = {
            "address": key,
            "title": key,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {"amqp": amqp_channel},
        }
        operations[f"send{name}"] = {
            "action": "send",
            "title": f"Publish {key}",
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}],
            "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": "0.3.0"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Sambang events",
            "version": "1.1.0",
            "description": (
                "Events of the Sambang passport service, published as CloudEvents 1.0 "
                f"(structured JSON) on the durable topic exchange `{EXCHANGE}` with the event "
                "type as routing key. Within v1 changes are additive only."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(out_dir: Path) -> list[Path]:
    """Write `<type>.schema.json` per event and `asyncapi.json` into `out_dir`; drop stale schemas."""
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted: dict[Path, str] = {out_dir / f"{key}{SCHEMA_SUFFIX}": _render(event_json_schema(key)) for key in REGISTRY}
    wanted[out_dir / ASYNCAPI_FILE] = _render(asyncapi_document())
    for stale in out_dir.glob(f"*{SCHEMA_SUFFIX}"):
        if stale not in wanted:
            stale.unlink()
    for path, text in wanted.items():
        encoded = text.encode("utf-8")
        if not path.exists() or path.read_bytes() != encoded:
            path.write_bytes(encoded)
    return sorted(wanted)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: `python -m sambang_contracts.schemas [OUT_DIR]` (default `docs/events`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0].startswith("-")):
        print("usage: python -m sambang_contracts.schemas [OUT_DIR]", file=sys.stderr)
        return 2
    written = export(Path(args[0] if args else "docs/events"))
    print(f"wrote {len(written)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
