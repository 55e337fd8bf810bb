"""Deployment manifests rendered from the installed services, so they never drift from the code.

``python -m sambang_runtime.deployment .`` (``make deploy-manifests``) writes:

- ``deploy/Dockerfile`` — one image for every service, two stages, a numeric non-root user, a health check;
- ``deploy/rabbitmq/definitions.json`` — exchange, quorum queues, retry and parking queues and bindings,
  derived from each service's handler table; a user per service and its permissions (``rabbitmq``);
- ``deploy/postgres/init.sh`` — one database per service, owned by a role of its own (``postgres``);
- ``deploy/compose/`` — one office on one server: nginx and docker compose (``compose``);
- ``deploy/k8s/base/`` — the kustomize base (``kubernetes``); ``deploy/k8s/development/`` and
  ``deploy/k8s/overlays/{office,national}/`` the overlays (``overlays``, ``engines``, ``capacity``).

A test renders them again and fails when the committed files are stale.

``python -m sambang_runtime.deployment secrets deploy/.env [--force]`` (``make secrets``) generates the
production keys and passwords (``credentials.write_secrets``).
"""

from __future__ import annotations

from .capacity import NATIONAL, Resources, Scale
from .compose import (
    COMPOSE_DYNAMIC_RANGE,
    COMPOSE_FRONT_DOOR_IP,
    COMPOSE_SUBNET,
    compose,
    compose_development,
    nginx_conf,
)
from .credentials import (
    DEFAULT_BROKER,
    DEFAULT_POSTGRES,
    SERVICE_TOKEN_DAYS,
    SERVICE_TOKEN_OFFICE,
    SERVICE_TOKENS,
    SecretFiles,
    read_env,
    service_urls,
    shared_secrets,
    write_secrets,
)
from .dockerfile import dockerfile
from .kubernetes import K8S_TRUSTED_PROXIES, k8s_ingress, k8s_service
from .names import (
    HEADER,
    RABBITMQ_HASHING,
    TLS_MOUNT,
    WEB_PORT,
    database_role,
    env_suffix,
    published_families,
    rabbitmq_user,
)
from .postgres import postgres_init, postgres_sql
from .rabbitmq import bus_permissions, rabbitmq_definitions, rabbitmq_password_hash
from .render import main, render, write

__all__ = [
    "COMPOSE_DYNAMIC_RANGE",
    "COMPOSE_FRONT_DOOR_IP",
    "COMPOSE_SUBNET",
    "DEFAULT_BROKER",
    "DEFAULT_POSTGRES",
    "HEADER",
    "K8S_TRUSTED_PROXIES",
    "NATIONAL",
    "RABBITMQ_HASHING",
    "SERVICE_TOKENS",
    "SERVICE_TOKEN_DAYS",
    "SERVICE_TOKEN_OFFICE",
    "TLS_MOUNT",
    "WEB_PORT",
    "Resources",
    "Scale",
    "SecretFiles",
    "bus_permissions",
    "compose",
    "compose_development",
    "database_role",
    "dockerfile",
    "env_suffix",
    "k8s_ingress",
    "k8s_service",
    "main",
    "nginx_conf",
    "postgres_init",
    "postgres_sql",
    "published_families",
    "rabbitmq_definitions",
    "rabbitmq_password_hash",
    "rabbitmq_user",
    "read_env",
    "render",
    "service_urls",
    "shared_secrets",
    "write",
    "write_secrets",
]
