"""The fault suite runs only when asked (``make test-faults``, or SAMBANG_FAULTS=1): it starts a PostgreSQL
cluster and a RabbitMQ node of its own, kills every service in turn and takes minutes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SAMBANG_FAULTS") == "1":
        return
    skip = pytest.mark.skip(reason="the fault suite runs with `make test-faults` (SAMBANG_FAULTS=1)")
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)
