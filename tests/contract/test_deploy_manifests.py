"""The committed deployment manifests are exactly what the installed services render."""

from __future__ import annotations

import json
from pathlib import Path

from sambang_runtime.deployment import render
from sambang_runtime.service import discover_services

ROOT = Path(__file__).resolve().parents[2]


def test_committed_manifests_match_the_services() -> None:
    stale = [
        rel
        for rel, text in render(discover_services()).items()
        if not (ROOT / rel).exists() or (ROOT / rel).read_text() != text
    ]
    assert not stale, f"deployment manifests are stale, run `make deploy-manifests`: {stale}"


def test_every_consuming_service_has_queue_retry_and_parking_with_bindings() -> None:
    definitions = json.loads((ROOT / "deploy/rabbitmq/definitions.json").read_text())
    queues = {q["name"]: q for q in definitions["queues"]}
    for d in discover_services():
        assert d.spec is not None
        handlers = d.spec().handlers
        if not handlers:
            continue
        name = f"sambang.{d.name}"
        assert queues[name]["arguments"]["x-queue-type"] == "quorum"
        assert queues[name]["arguments"]["x-dead-letter-routing-key"] == f"{name}.parked"
        assert f"{name}.retry" in queues and f"{name}.parked" in queues
        bound = {b["routing_key"] for b in definitions["bindings"] if b["destination"] == name}
        assert bound == set(handlers)
