"""Every generated file of ``deploy/``, rendered from the installed services, and the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..service import ServiceDescriptor, discover_services
from .compose import compose, compose_development, nginx_conf
from .credentials import DEFAULT_BROKER, DEFAULT_POSTGRES, write_secrets
from .dockerfile import DOCKERIGNORE, dockerfile
from .kubernetes import base_files
from .overlays import development_files, national_files, office_files
from .postgres import postgres_init
from .rabbitmq import rabbitmq_definitions


def render(services: Sequence[ServiceDescriptor]) -> dict[str, str]:
    """Every generated file, by path relative to the repository root."""
    files = {
        "deploy/Dockerfile": dockerfile(),
        "deploy/Dockerfile.dockerignore": DOCKERIGNORE,
        "deploy/rabbitmq/definitions.json": json.dumps(rabbitmq_definitions(services), indent=2, sort_keys=True) + "\n",
        "deploy/postgres/init.sh": postgres_init(services),
        "deploy/compose/nginx.conf": nginx_conf(services),
        "deploy/compose/nginx.development.conf": nginx_conf(services, development=True),
        "deploy/compose/docker-compose.yml": compose(services),
        "deploy/compose/docker-compose.development.yml": compose_development(services),
    }
    for folder, rendered in (
        ("deploy/k8s/base", base_files(services)),
        ("deploy/k8s/development", development_files(services)),
        ("deploy/k8s/overlays/office", office_files(services)),
        ("deploy/k8s/overlays/national", national_files(services)),
    ):
        files |= {f"{folder}/{name}": text for name, text in rendered.items()}
    return files


def write(root: Path) -> list[Path]:
    """Write the manifests under ``root`` and return their paths."""
    rendered = render(discover_services())
    written = []
    for rel, text in rendered.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``deployment [root]`` renders the manifests; ``deployment secrets <env> [--force]`` the secrets."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["secrets"]:
        ap = argparse.ArgumentParser(prog="sambang-secrets", description="Generate the production secrets.")
        ap.add_argument("env", type=Path, nargs="?", default=Path("deploy/.env"))
        ap.add_argument("--force", action="store_true", help="generate new values even where files exist")
        ap.add_argument("--broker", default=DEFAULT_BROKER, help="amqp[s]://host:port/vhost[?cafile=...]")
        ap.add_argument(
            "--postgres",
            default=DEFAULT_POSTGRES,
            help="host:port of PostgreSQL; {service} is each service's name (a cluster per service)",
        )
        ns = ap.parse_args(args[1:])
        for line in write_secrets(ns.env, discover_services(), force=ns.force, broker=ns.broker, postgres=ns.postgres):
            print(line)
        return 0
    for p in write(Path(args[0] if args else ".")):
        print(p)
    return 0
