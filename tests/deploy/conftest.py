"""The deployment manifests as a cluster would receive them, and the validators they must pass.

``kubectl kustomize`` renders each overlay (no cluster needed); built-in kinds are validated by
``kubernetes_validate`` (strict: an unknown field is an error, as ``kubectl apply`` says by default), and
custom resources against the ``openAPIV3Schema`` of their CRD vendored in ``deploy/schemas/crds/``, with
every object that declares its properties closed to others (what the API server's strict field
validation does), so a typo'd field fails here as it would there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
CRDS = ROOT / "deploy" / "schemas" / "crds"
#: Kustomize directories a cluster applies; each must render and validate.
OVERLAYS = {
    "base": K8S / "base",
    "development": K8S / "development",
    "office": K8S / "overlays" / "office",
    "national": K8S / "overlays" / "national",
}
#: The Kubernetes version the built-in kinds are checked against (kubernetes-validate's newest schemas).
KUBERNETES_VERSION = "1.37.0"

Manifest = dict[str, Any]


def kubectl() -> str | None:
    """kubectl (with its built-in kustomize), if this machine has it."""
    return shutil.which("kubectl")


def kustomize(path: Path) -> list[Manifest]:
    """The objects ``kubectl kustomize`` renders from one directory."""
    binary = kubectl()
    if binary is None:
        pytest.skip("kubectl is not installed: the overlays cannot be rendered here")
    done = subprocess.run([binary, "kustomize", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    """Every overlay's objects, rendered once per session."""
    return {name: kustomize(path) for name, path in OVERLAYS.items()}


def _crd_file(api_version: str, kind: str) -> Path:
    group, _, version = api_version.rpartition("/")
    return CRDS / f"{group}_{version}_{kind}.json"


def is_custom(obj: Manifest) -> bool:
    """A kind an operator defines (its CRD schema is vendored), not one Kubernetes itself serves."""
    return _crd_file(obj["apiVersion"], obj["kind"]).exists()


def _closed(schema: Any) -> Any:
    """The CRD schema with each object that lists its properties refusing any other (strict fields)."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: (_closed(v) if k not in ("enum", "required", "default", "example") else v) for k, v in schema.items()}
    if "properties" in schema:
        out["properties"] = {k: _closed(v) for k, v in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    return out


@cache
def crd_validator(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    """A validator of one custom kind, from its vendored CRD schema."""
    schema = _closed(json.loads(_crd_file(api_version, kind).read_text()))
    # metadata is the API server's (ObjectMeta), not the CRD's: the CRD says only "object".
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def problems(obj: Manifest) -> list[str]:
    """Why the API server would refuse ``obj`` (empty when it would take it)."""
    name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    if is_custom(obj):
        validator = crd_validator(obj["apiVersion"], obj["kind"])
        found = [f"{name}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]
        if not obj.get("metadata", {}).get("name"):
            found.append(f"{name}: metadata.name is required")
        return found
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        return [f"{name}: {'/'.join(map(str, e.path))}: {e.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{name}: no schema for {obj['apiVersion']} {obj['kind']} (a CRD to vendor?)"]
    return []


@pytest.fixture(scope="session")
def validate() -> Callable[[Manifest], list[str]]:
    """``problems`` as a fixture."""
    return problems


def of_kind(objects: list[Manifest], kind: str) -> Iterator[Manifest]:
    """The objects of one kind."""
    return (o for o in objects if o["kind"] == kind)
