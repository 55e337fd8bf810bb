"""``make secrets``: the production keys and passwords, generated once per installation, never committed."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from ..auth import issue_dev_token
from ..crypto import generate_key
from ..service import ServiceDescriptor
from .names import database_role, env_suffix, rabbitmq_user
from .rabbitmq import rabbitmq_definitions

#: How long the generated service tokens (role ``service``) live; ``make secrets FORCE=1`` renews them.
SERVICE_TOKEN_DAYS = 366
#: The service tokens one service shows another: variable, the calling service (``sub``).
SERVICE_TOKENS = (
    ("SAMBANG_SIMKIM_GATEWAY_CAPTURE_TOKEN", "simkim-gateway"),
    ("SAMBANG_NOTIFIER_CAPTURE_TOKEN", "notifier"),
)
#: A service token acts for every office (capture checks no office for ``service``); the claim is required.
SERVICE_TOKEN_OFFICE = "ALL"  # noqa: S105 - an office code, not a password
DEFAULT_BROKER = "amqp://rabbitmq:5672/"
#: Settings only one service reads, written commented out into its own file for the operator to fill in:
#: the notifier's mail relay (``NotifierSettings``), whose password no other service should hold.
OWN_SETTINGS: dict[str, tuple[str, ...]] = {
    "notifier": (
        "# The mail relay (e-mail to applicants); without SAMBANG_NOTIFIER_SMTP_HOST no e-mail is sent:",
        "# SAMBANG_NOTIFIER_SMTP_HOST=smtp.example.go.id",
        "# SAMBANG_NOTIFIER_SMTP_PORT=587",
        "# SAMBANG_NOTIFIER_SMTP_TLS=starttls",
        "# SAMBANG_NOTIFIER_SMTP_USERNAME=sambang",
        "# SAMBANG_NOTIFIER_SMTP_PASSWORD=",
        "# SAMBANG_NOTIFIER_SMTP_FROM=Kantor Imigrasi <no-reply@kantor.example.go.id>",
    ),
}
DEFAULT_POSTGRES = "postgres:5432"


@dataclass(frozen=True)
class SecretFiles:
    """What ``make secrets`` writes next to ``env`` (all mode 0600, all git-ignored)."""

    env: Path

    @property
    def folder(self) -> Path:
        return self.env.parent / "secrets"

    def service(self, name: str) -> Path:
        return self.folder / f"{name}.env"

    @property
    def postgres(self) -> Path:
        return self.folder / "postgres.env"

    @property
    def rabbitmq_definitions(self) -> Path:
        return self.folder / "rabbitmq-definitions.json"


def read_env(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of an env file (comments and blank lines skipped; no quoting: values we write
    are URL-safe)."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def _password() -> str:
    return secrets.token_urlsafe(32)


def _write_private(path: Path, text: str) -> None:
    """Create or replace ``path`` readable by its owner only (0600 from the first byte on)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.parent.name == "secrets":
        os.chmod(path.parent, 0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def shared_secrets(now: datetime | None = None) -> dict[str, str]:
    """Fresh keys every service shares: JWT, data keys, blind index, approvals, the service tokens."""
    hs256 = secrets.token_urlsafe(48)
    values = {
        "SAMBANG_ENVIRONMENT": "production",
        "SAMBANG_AUTH_HS256_SECRET": hs256,
        "SAMBANG_PII_KEYS": f"k1:{generate_key()}",
        "SAMBANG_BLIND_INDEX_KEY": generate_key(),
        "SAMBANG_APPROVAL_SECRET": secrets.token_urlsafe(48),
    }
    for variable, sub in SERVICE_TOKENS:
        values[variable] = issue_dev_token(
            hs256,
            sub=sub,
            office=SERVICE_TOKEN_OFFICE,
            roles=["service"],
            ttl_seconds=SERVICE_TOKEN_DAYS * 86400,
            now=now,
        )
    return values


def _with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


def service_urls(service: str, *, db_password: str, amqp_password: str, broker: str, postgres: str) -> dict[str, str]:
    """A service's own database and broker URLs (its role, its user; ``broker`` may be ``amqps://...``
    with ``?cafile=``). ``{service}`` in ``postgres`` is the service's name: the national overlay gives
    each service a PostgreSQL cluster of its own (``--postgres 'sambang-{service}-pooler:5432'``)."""
    role = database_role(service)
    host = postgres.replace("{service}", service)
    return {
        "SAMBANG_DATABASE_URL": f"postgresql+asyncpg://{role}:{db_password}@{host}/{role}",
        "SAMBANG_AMQP_URL": _with_credentials(broker, rabbitmq_user(service), amqp_password),
    }


def _password_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return parts.password or None


def write_secrets(
    env: Path,
    services: Sequence[ServiceDescriptor],
    *,
    force: bool = False,
    broker: str = DEFAULT_BROKER,
    postgres: str = DEFAULT_POSTGRES,
    now: datetime | None = None,
) -> list[str]:
    """Generate the production secrets; return what was done, one line each.

    - ``env`` (``deploy/.env``): the keys every service shares (see ``shared_secrets``). An existing file
      is never overwritten unless ``force``: a key it lacks is appended, the others stay.
    - ``secrets/<service>.env``: the service's own ``SAMBANG_DATABASE_URL`` and ``SAMBANG_AMQP_URL`` (its
      PostgreSQL role's and RabbitMQ user's passwords), kept likewise.
    - ``secrets/postgres.env``: the superuser's password and every role's (for ``init.sh``), kept likewise.
    - ``secrets/rabbitmq-definitions.json``: ``definitions.json`` with each user's password hash, written
      again on every run from the service files (it holds nothing of its own).
    """
    files = SecretFiles(env)
    done: list[str] = []
    existing = {} if force else read_env(env)
    fresh = shared_secrets(now)
    if existing:
        missing = {k: v for k, v in fresh.items() if k not in existing}
        if missing:
            with env.open("a") as f:
                f.writelines(f"{k}={v}\n" for k, v in missing.items())
            done.append(f"{env}: kept, added {', '.join(missing)}")
        else:
            done.append(f"{env}: kept (FORCE=1 generates new keys)")
    else:
        stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
        lines = [
            f"# Generated by `make secrets` on {stamp}. Never commit; keep a copy in the office's vault.",
            "# Every service reads this file (compose env_file, the k8s Secret sambang-secrets).",
            *(f"{k}={v}" for k, v in fresh.items()),
            "# Where SIMKIM is (the gateway), and for mTLS its client certificate, key and CA:",
            "# SAMBANG_SIMKIM_GATEWAY_SIMKIM_URL=https://simkim.example.go.id",
            "# The office's address: arrival links in e-mails point at it (compose refuses to start without it;",
            "# Kubernetes takes it from the overlay's ConfigMap):",
            "# SAMBANG_PUBLIC_BASE_URL=https://kantor.sambang.example.go.id",
        ]
        _write_private(env, "\n".join(lines) + "\n")
        done.append(f"{env}: generated")

    postgres_env = {} if force else read_env(files.postgres)
    passwords: dict[str, str] = {}
    for d in services:
        path = files.service(d.name)
        current = {} if force else read_env(path)
        db_password = _password_of(current.get("SAMBANG_DATABASE_URL")) or _password()
        amqp_password = _password_of(current.get("SAMBANG_AMQP_URL")) or _password()
        passwords[d.name] = amqp_password
        postgres_env.setdefault(f"SAMBANG_DB_PASSWORD_{env_suffix(d.name)}", db_password)
        if current.get("SAMBANG_DATABASE_URL") and current.get("SAMBANG_AMQP_URL"):
            done.append(f"{path}: kept")
            continue
        urls = service_urls(
            d.name, db_password=db_password, amqp_password=amqp_password, broker=broker, postgres=postgres
        )
        header = f"# Generated by `make secrets`: {d.name}'s own credentials, for {d.name} alone."
        lines = [header, *(f"{k}={v}" for k, v in urls.items()), *OWN_SETTINGS.get(d.name, ())]
        _write_private(path, "\n".join(lines) + "\n")
        done.append(f"{path}: generated")
    postgres_env.setdefault("POSTGRES_PASSWORD", _password())
    lines = ["# Generated by `make secrets`: the PostgreSQL container alone (superuser, each service's role)."]
    lines += [f"{k}={v}" for k, v in postgres_env.items()]
    _write_private(files.postgres, "\n".join(lines) + "\n")
    definitions = rabbitmq_definitions(services, passwords=passwords)
    _write_private(files.rabbitmq_definitions, json.dumps(definitions, indent=2, sort_keys=True) + "\n")
    done.append(f"{files.rabbitmq_definitions}: written with each service user's password hash")
    return done
