"""One office on one server: docker compose and nginx, the front door serving the web clients itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..frontdoor import CLIENT_HEADERS
from ..service import ServiceDescriptor
from .dockerfile import HEALTHCHECK_COMMAND
from .names import (
    ANY_ADDRESS,
    HEADER,
    IMAGE,
    SCRATCH,
    TLS_MOUNT,
    development_only_path,
    is_development_value,
    module_of,
    production,
)
from .yamlout import dump

#: The compose network, and nginx's fixed address on it: the one proxy the services trust
#: (SAMBANG_TRUSTED_PROXIES). Containers started without a fixed address get theirs from
#: COMPOSE_DYNAMIC_RANGE, so nothing else can take nginx's.
COMPOSE_SUBNET = "172.30.80.0/24"
COMPOSE_DYNAMIC_RANGE = "172.30.80.128/25"
COMPOSE_FRONT_DOOR_IP = "172.30.80.2"
#: Every service runs the one image; ``SAMBANG_VERSION`` picks a tag (``latest`` when built here).
COMPOSE_IMAGE = f"{IMAGE}:${{SAMBANG_VERSION:-latest}}"
#: Arrival links in e-mails point here (the office's own address): compose refuses to start without it.
PUBLIC_BASE_URL = "${SAMBANG_PUBLIC_BASE_URL:?set SAMBANG_PUBLIC_BASE_URL in deploy/.env: the office's address}"
POSTGRES_IMAGE = "postgres:16"
RABBITMQ_IMAGE = "rabbitmq:3.13-management"
NGINX_IMAGE = "nginx:1.27"
#: The notifier's mail relay: ``sambang_notifier.settings.NotifierSettings`` (``SAMBANG_NOTIFIER_SMTP_*``).
#: Set in ``deploy/secrets/notifier.env`` (its password is the notifier's alone); ``make secrets`` writes
#: them there commented out.
SMTP_VARIABLES = (
    "SAMBANG_NOTIFIER_SMTP_HOST",
    "SAMBANG_NOTIFIER_SMTP_PORT",
    "SAMBANG_NOTIFIER_SMTP_TLS",
    "SAMBANG_NOTIFIER_SMTP_USERNAME",
    "SAMBANG_NOTIFIER_SMTP_PASSWORD",
    "SAMBANG_NOTIFIER_SMTP_FROM",
)


def nginx_conf(services: Sequence[ServiceDescriptor], *, development: bool = False) -> str:
    """The front door of the compose stack: routes by prefix without rewriting (API.md).

    Outside development it has no location for the SIMKIM simulator nor the development mailbox
    (``frontdoor.DEVELOPMENT_ONLY_PREFIXES``): those paths fall to the clients' files and answer 404.
    """
    out = [HEADER, "server {", "    listen 8000;", "    client_max_body_size 6m;", ""]
    for d in services:
        if d.development_only and not development:
            continue
        for p in d.public_prefixes:
            if development_only_path(p) and not development:
                continue
            out += [
                f"    location {p} {{",
                f"        proxy_pass http://{d.name}:{d.port};",
                # Appended, not replaced: the services take the right-most address their trusted
                # proxies did not write (clientaddr.py), so what a client sends forges nothing, and a
                # load balancer in front of nginx, once trusted, keeps its client's address.
                "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                "        proxy_set_header X-Request-ID $request_id;",
                # Server-sent events to tablets and display boards go out as they happen (ingress-nginx's
                # default too); an upload is still buffered on the way in (client_max_body_size).
                "        proxy_buffering off;",
                "    }",
            ]
    # Every other path is a web client's file (clients/, mounted read-only): nginx serves them itself,
    # the faster file server, so static requests never take a service's or the front door's time.
    out += [
        "    root /usr/share/sambang/clients;",
        "    location / {",
        "        index index.html;",
        "        try_files $uri $uri/ =404;",
        "        etag on;",
        *(f'        add_header {name} "{value}" always;' for name, value in CLIENT_HEADERS.items()),
        "    }",
        "    location = /manifest.webmanifest {",
        "        default_type application/manifest+json;",
        *(f'        add_header {name} "{value}" always;' for name, value in CLIENT_HEADERS.items()),
        "    }",
        "}",
    ]
    return "\n".join(out) + "\n"


def healthcheck() -> dict[str, Any]:
    """The image's HEALTHCHECK, said again (compose's ``service_healthy`` needs it in the file)."""
    return {
        "test": ["CMD", "python", "-c", HEALTHCHECK_COMMAND],
        "interval": "10s",
        "timeout": "5s",
        "start_period": "60s",
        "retries": 3,
    }


def _app_service(d: ServiceDescriptor, environment: dict[str, str]) -> dict[str, Any]:
    """One service of the one image: read-only root, no capabilities, no new privileges."""
    return {
        "image": COMPOSE_IMAGE,
        # The same build everywhere: the first builds, the rest hit its cache (no registry needed).
        "build": {"context": "../..", "dockerfile": "deploy/Dockerfile"},
        "command": ["python", "-m", module_of(d.name)],
        # deploy/.env: the shared keys; secrets/<service>.env: its own SAMBANG_DATABASE_URL and
        # SAMBANG_AMQP_URL (no service holds another's passwords).
        "env_file": ["../.env", f"../secrets/{d.name}.env"],
        "environment": environment,
        "read_only": True,
        "tmpfs": [SCRATCH],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "volumes": [f"../tls:{TLS_MOUNT}:ro"],
        "healthcheck": healthcheck(),
        "depends_on": {"postgres": {"condition": "service_healthy"}, "rabbitmq": {"condition": "service_healthy"}},
        "restart": "unless-stopped",
    }


def compose_stack(services: Sequence[ServiceDescriptor]) -> dict[str, Any]:
    """docker compose, production, as data: PostgreSQL (scram, a role per service), RabbitMQ (a user per
    service, no guest, definitions loaded at start), every production service with its own credentials,
    nginx on 127.0.0.1:8000."""
    stack: dict[str, Any] = {
        "postgres": {
            "image": POSTGRES_IMAGE,
            "env_file": "../secrets/postgres.env",
            "environment": {
                "POSTGRES_INITDB_ARGS": "--auth-host=scram-sha-256 --auth-local=scram-sha-256",
                "POSTGRES_HOST_AUTH_METHOD": "scram-sha-256",
            },
            "volumes": [
                "../postgres/init.sh:/docker-entrypoint-initdb.d/init.sh:ro",
                "pgdata:/var/lib/postgresql/data",
            ],
            "healthcheck": {"test": ["CMD", "pg_isready", "-U", "postgres"], "interval": "5s"},
            "restart": "unless-stopped",
        },
        "rabbitmq": {
            "image": RABBITMQ_IMAGE,
            # The node's name (rabbit@rabbitmq) names its data directory: it must survive a new container.
            "hostname": "rabbitmq",
            "environment": {
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
                    '-rabbitmq_management load_definitions "/etc/rabbitmq/definitions.json"'
                ),
            },
            # The committed definitions with each service user's password hash (make secrets): no guest.
            "volumes": [
                "../secrets/rabbitmq-definitions.json:/etc/rabbitmq/definitions.json:ro",
                f"../tls:{TLS_MOUNT}:ro",
                "rabbitmqdata:/var/lib/rabbitmq",
            ],
            "healthcheck": {"test": ["CMD", "rabbitmq-diagnostics", "-q", "ping"], "interval": "10s"},
            "restart": "unless-stopped",
        },
    }
    for d in production(services):
        environment = {
            "SAMBANG_ENVIRONMENT": "production",
            "SAMBANG_HOST": ANY_ADDRESS,
            "SAMBANG_PORT": str(d.port),
            "SAMBANG_TRUSTED_PROXIES": f"{COMPOSE_FRONT_DOOR_IP}/32",
            "SAMBANG_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            **{key: value for key, value in d.deploy_env if not is_development_value(value, services)},
        }
        stack[d.name] = _app_service(d, environment)
    stack["frontdoor"] = {
        "image": NGINX_IMAGE,
        # Loopback unless the operator says otherwise (SAMBANG_BIND=0.0.0.0 in the shell or deploy/.env).
        "ports": ["${SAMBANG_BIND:-127.0.0.1}:8000:8000"],
        "volumes": ["./nginx.conf:/etc/nginx/conf.d/default.conf:ro", "../../clients:/usr/share/sambang/clients:ro"],
        "networks": {"default": {"ipv4_address": COMPOSE_FRONT_DOOR_IP}},
        "depends_on": [d.name for d in production(services)],
        "restart": "unless-stopped",
    }
    return {
        "name": "sambang",
        "services": stack,
        "networks": {"default": {"ipam": {"config": [{"subnet": COMPOSE_SUBNET, "ip_range": COMPOSE_DYNAMIC_RANGE}]}}},
        "volumes": {"pgdata": {}, "rabbitmqdata": {}},
    }


def compose(services: Sequence[ServiceDescriptor]) -> str:
    """``deploy/compose/docker-compose.yml``: see ``compose_stack``. Secrets come from ``make secrets``:
    ``deploy/.env`` (the keys every service shares) and ``deploy/secrets/`` (each service's own database
    and broker URL, PostgreSQL's passwords, the RabbitMQ definitions with password hashes), git-ignored."""
    return dump(
        compose_stack(services),
        comment=HEADER
        + "# Production, one office on one server. Run `make secrets` first, then (deploy/README.md):\n"
        + "#   docker compose --env-file deploy/.env -f deploy/compose/docker-compose.yml up --build\n"
        + "# The notifier's mail relay (SAMBANG_NOTIFIER_SMTP_*) is read from deploy/secrets/notifier.env.\n",
    )


def compose_development(services: Sequence[ServiceDescriptor]) -> str:
    """The development override: every service in development, the SIMKIM simulator, nginx routing it
    and the mailbox. ``docker compose -f docker-compose.yml -f docker-compose.development.yml up``."""
    stack: dict[str, Any] = {}
    for d in services:
        if d.development_only:
            environment = {
                "SAMBANG_ENVIRONMENT": "development",
                "SAMBANG_HOST": ANY_ADDRESS,
                "SAMBANG_PORT": str(d.port),
            }
            stack[d.name] = _app_service(d, environment)
            continue
        stack[d.name] = {
            "environment": {
                "SAMBANG_ENVIRONMENT": "development",
                **{key: value for key, value in d.deploy_env if is_development_value(value, services)},
            }
        }
    stack["frontdoor"] = {
        "volumes": [
            "./nginx.development.conf:/etc/nginx/conf.d/default.conf:ro",
            "../../clients:/usr/share/sambang/clients:ro",
        ],
        "depends_on": [d.name for d in services],
    }
    return dump(
        {"services": stack},
        comment=HEADER + "# Development only: the simulator, the mailbox, the demo bank. Never on a live office.\n",
    )
