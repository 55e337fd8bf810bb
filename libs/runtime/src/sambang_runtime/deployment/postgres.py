"""PostgreSQL: one database per service, owned by a role of its own (scram-sha-256)."""

from __future__ import annotations

from collections.abc import Sequence

from ..service import ServiceDescriptor
from .names import HEADER, database_role, env_suffix


def postgres_sql(services: Sequence[ServiceDescriptor], prefix: str = "sambang") -> str:
    """One role per service owning only its database (nobody else may connect to it), passwords stored as
    scram-sha-256; each password comes from the psql variable ``pw_<service>`` (``init.sh`` sets them)."""
    lines = ["SET password_encryption = 'scram-sha-256';"]
    for d in services:
        role = database_role(d.name, prefix)
        var = "pw_" + d.name.replace("-", "_")
        lines += [
            f"CREATE ROLE {role} LOGIN PASSWORD :'{var}';",
            f"CREATE DATABASE {role} OWNER {role};",
            f"REVOKE ALL ON DATABASE {role} FROM PUBLIC;",
            f"GRANT CONNECT, TEMPORARY ON DATABASE {role} TO {role};",
        ]
    return "\n".join(lines) + "\n"


def postgres_init(services: Sequence[ServiceDescriptor], prefix: str = "sambang") -> str:
    """The PostgreSQL image's init script (``/docker-entrypoint-initdb.d``): runs once on an empty volume,
    reading each service's password from ``SAMBANG_DB_PASSWORD_<SERVICE>`` (``make secrets``)."""
    out = ["#!/bin/sh", HEADER.rstrip("\n"), "# One database per service, owned by a role of its own (scram-sha-256)."]
    out += [f': "${{SAMBANG_DB_PASSWORD_{env_suffix(d.name)}:?run make secrets}}"' for d in services]
    out.append('psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \\')
    out += [f'  -v pw_{d.name.replace("-", "_")}="$SAMBANG_DB_PASSWORD_{env_suffix(d.name)}" \\' for d in services]
    out.append("  <<'SQL'")
    out.append(postgres_sql(services, prefix).rstrip("\n"))
    out.append("SQL")
    return "\n".join(out) + "\n"
