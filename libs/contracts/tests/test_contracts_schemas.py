"""Exported JSON Schemas and AsyncAPI document: content, determinism, and staleness of docs/events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sambang_contracts import CONTENT_TYPE, EXCHANGE, REGISTRY
from sambang_contracts.schemas import asyncapi_document, event_json_schema, export, main

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "events"


def test_event_schema_is_the_whole_cloudevent_with_the_type_pinned() -> None:
    schema = event_json_schema("payment.confirmed")
    assert schema["$id"] == "sambang:payment.confirmed:1"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    properties = schema["properties"]
    assert properties["type"]["const"] == "payment.confirmed"
    assert properties["dataschema"]["const"] == "sambang:payment.confirmed:1"
    assert properties["specversion"]["const"] == "1.0"
    assert properties["data"] == {"$ref": "#/$defs/PaymentConfirmed"}
    assert set(schema["required"]) >= {"specversion", "id", "source", "type", "time", "dataschema", "data"}
    assert schema["examples"][0]["type"] == "payment.confirmed"


def test_personal_data_fields_are_marked_in_the_exported_schema() -> None:
    applicant = event_json_schema("queue.application.registered")["$defs"]["Applicant"]["properties"]
    for name in ("full_name", "nik", "birth_date", "email", "phone"):
        assert applicant[name]["x-personal-data"] is True, name
    assert "x-personal-data" not in applicant["language"]
    payment = event_json_schema("payment.confirmed")["$defs"]["PaymentConfirmed"]["properties"]
    assert not any("x-personal-data" in field for field in payment.values())


def test_asyncapi_has_a_channel_message_and_send_operation_per_event() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    channels = document["channels"]
    assert sorted(channel["address"] for channel in channels.values()) == sorted(REGISTRY)
    for name, channel in channels.items():
        exchange = channel["bindings"]["amqp"]["exchange"]
        assert (exchange["name"], exchange["type"], exchange["durable"]) == (EXCHANGE, "topic", True)
        message = document["components"]["messages"][name]
        assert message["contentType"] == CONTENT_TYPE
        payload = message["payload"]["$ref"].rsplit("/", 1)[1]
        assert document["components"]["schemas"][payload]["properties"]["type"]["const"] == channel["address"]
        operation = document["operations"][f"send{name}"]
        assert operation["action"] == "send"
        assert operation["channel"] == {"$ref": f"#/channels/{name}"}


def test_every_reference_in_the_asyncapi_document_resolves() -> None:
    document = asyncapi_document()

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return own + [ref for value in node.values() for ref in refs(value)]
        if isinstance(node, list):
            return [ref for value in node for ref in refs(value)]
        return []

    for ref in refs(document):
        assert ref.startswith("#/"), ref
        node: Any = document
        for part in ref[2:].split("/"):
            node = node[part]


def test_export_is_deterministic_and_removes_stale_schemas(tmp_path: Path) -> None:
    (tmp_path / "payment.refunded.schema.json").write_text("{}\n")
    (tmp_path / "README.md").write_text("kept\n")
    written = export(tmp_path)
    assert len(written) == len(REGISTRY) + 1
    assert not (tmp_path / "payment.refunded.schema.json").exists()
    assert (tmp_path / "README.md").exists()
    first = {path.name: path.read_bytes() for path in written}
    export(tmp_path)
    assert first == {path.name: path.read_bytes() for path in written}
    text = first["asyncapi.json"].decode()
    assert text.endswith("}\n") and text.startswith('{\n  "asyncapi"')
    assert json.loads(text) == json.loads(json.dumps(asyncapi_document()))


def test_command_line_exports(tmp_path: Path, capsys: Any) -> None:
    assert main([str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "asyncapi.json").exists()
    assert main(["--help"]) == 2


def test_committed_docs_events_are_up_to_date(tmp_path: Path) -> None:
    export(tmp_path)
    fresh = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    committed = {
        path.name: path.read_bytes()
        for path in COMMITTED.glob("*.json")
        if path.name.endswith(".schema.json") or path.name == "asyncapi.json"
    }
    stale = sorted(name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name))
    assert not stale, f"docs/events is stale ({', '.join(stale)}): run `make docs`"
