"""The committed deployment manifests are exactly what the installed services render."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
import yaml  # type: ignore[import-untyped]
from sambang_runtime.deployment import render
from sambang_runtime.service import discover_services

ROOT = Path(__file__).resolve().parents[2]


def _yaml(rel: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / rel).read_text())
    return loaded


def _docs(rel: str) -> dict[str, dict[str, Any]]:
    """The objects of a multi-document file, by kind (one of each kind per file)."""
    return {d["kind"]: d for d in yaml.safe_load_all((ROOT / rel).read_text()) if d}


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
        bound = {
            b["routing_key"]
            for b in definitions["bindings"]
            if b["destination"] == name and b["source"] == "sambang.events"
        }
        assert bound == set(handlers)
        # Retries, parking and replays go through the service's own direct exchange, never amq.default.
        direct = {
            (b["destination"], b["routing_key"]) for b in definitions["bindings"] if b["source"] == f"{name}.direct"
        }
        assert direct == {(q, q) for q in (name, f"{name}.retry", f"{name}.parked")}


def test_each_stack_trusts_its_own_front_door_and_nginx_appends_to_x_forwarded_for() -> None:
    import ipaddress

    from sambang_runtime.settings import RuntimeSettings

    nginx = (ROOT / "deploy/compose/nginx.conf").read_text()
    assert "X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx and "$remote_addr" not in nginx
    compose = _yaml("deploy/compose/docker-compose.yml")
    front_door = ipaddress.ip_address(compose["services"]["frontdoor"]["networks"]["default"]["ipv4_address"])
    (network,) = compose["networks"]["default"]["ipam"]["config"]
    subnet, dynamic = ipaddress.ip_network(network["subnet"]), ipaddress.ip_network(network["ip_range"])
    # nginx's address is on the network and outside the range Docker hands out to other containers.
    assert front_door in subnet and front_door not in dynamic
    production = [d for d in discover_services() if not d.development_only]
    trusted = [compose["services"][d.name]["environment"]["SAMBANG_TRUSTED_PROXIES"] for d in production]
    assert set(trusted) == {f"{front_door}/32"}
    k8s = _yaml("deploy/k8s/base/config.yaml")["data"]["SAMBANG_TRUSTED_PROXIES"]
    assert RuntimeSettings(trusted_proxies=k8s).trusted_proxies


def test_every_stack_serves_the_web_clients_at_the_paths_no_service_owns() -> None:
    nginx = (ROOT / "deploy/compose/nginx.conf").read_text()
    assert "root /usr/share/sambang/clients;" in nginx and "try_files $uri $uri/ =404;" in nginx
    assert "Content-Security-Policy" in nginx
    compose = _yaml("deploy/compose/docker-compose.yml")
    assert "../../clients:/usr/share/sambang/clients:ro" in compose["services"]["frontdoor"]["volumes"]
    assert (ROOT / "clients/index.html").is_file()
    ingress = _docs("deploy/k8s/base/ingress.yaml")["Ingress"]
    paths = ingress["spec"]["rules"][0]["http"]["paths"]
    assert {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": "web", "port": {"number": 8000}}},
    } in paths
    web = _docs("deploy/k8s/base/web.yaml")["Deployment"]
    assert web["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "python",
        "-m",
        "sambang_runtime.frontdoor",
        "--clients-only",
    ]
    assert "COPY clients clients" in (ROOT / "deploy/Dockerfile").read_text()


def test_the_production_base_leaves_development_only_services_out() -> None:
    """The SIMKIM simulator refuses production: the k8s base must not deploy it, the development overlay does."""
    from sambang_runtime.service import discover_services

    dev_only = [d.name for d in discover_services() if d.development_only]
    assert "simkim-simulator" in dev_only
    base = (ROOT / "deploy/k8s/base/kustomization.yaml").read_text()
    overlay = (ROOT / "deploy/k8s/development/kustomization.yaml").read_text()
    for name in dev_only:
        assert f"{name}.yaml" not in base and f"{name}.yaml" in overlay
        assert not (ROOT / f"deploy/k8s/base/{name}.yaml").exists()
        assert f"name: {name}," not in (ROOT / "deploy/k8s/base/ingress.yaml").read_text()
    gateway = (ROOT / "deploy/k8s/base/simkim-gateway.yaml").read_text()
    assert "SAMBANG_SIMKIM_GATEWAY_CAPTURE_URL" in gateway  # peers by service name, not localhost


# -- #16: safe by default -----------------------------------------------------------------------------------

PRODUCTION = [d for d in discover_services() if not d.development_only]


def test_compose_runs_production_on_generated_secrets_with_nothing_open() -> None:
    text = (ROOT / "deploy/compose/docker-compose.yml").read_text()
    stack = _yaml("deploy/compose/docker-compose.yml")["services"]
    assert "simkim-simulator" not in stack
    for d in PRODUCTION:
        service = stack[d.name]
        assert service["environment"]["SAMBANG_ENVIRONMENT"] == "production"
        # Shared keys from deploy/.env, its own database and broker passwords from its own file alone.
        assert service["env_file"] == ["../.env", f"../secrets/{d.name}.env"]
        assert "SAMBANG_DATABASE_URL" not in service["environment"] and "SAMBANG_AMQP_URL" not in service["environment"]
        assert "ports" not in service
        assert all("simkim-simulator" not in str(v) for v in service["environment"].values())
    postgres = stack["postgres"]
    assert postgres["env_file"] == "../secrets/postgres.env"
    assert postgres["environment"]["POSTGRES_HOST_AUTH_METHOD"] == "scram-sha-256"
    assert postgres["environment"]["POSTGRES_INITDB_ARGS"] == "--auth-host=scram-sha-256 --auth-local=scram-sha-256"
    assert "../postgres/init.sh:/docker-entrypoint-initdb.d/init.sh:ro" in postgres["volumes"]
    assert "../secrets/rabbitmq-definitions.json:/etc/rabbitmq/definitions.json:ro" in stack["rabbitmq"]["volumes"]
    assert "ports" not in stack["postgres"] and "ports" not in stack["rabbitmq"]
    # Only the front door is published, on loopback unless the operator says SAMBANG_BIND.
    assert stack["frontdoor"]["ports"] == ["${SAMBANG_BIND:-127.0.0.1}:8000:8000"]
    for word in ("trust", "guest", "development"):
        assert not re.search(rf"^\s+[A-Z_]+: .*\b{word}\b", text, re.M), word


def test_the_development_override_alone_brings_the_simulator_and_the_mailbox() -> None:
    dev = _yaml("deploy/compose/docker-compose.development.yml")["services"]
    for d in discover_services():
        assert dev[d.name]["environment"]["SAMBANG_ENVIRONMENT"] == "development"
    assert dev["simkim-simulator"]["command"] == ["python", "-m", "sambang_simkim_simulator"]
    assert dev["simkim-gateway"]["environment"]["SAMBANG_SIMKIM_GATEWAY_SIMKIM_URL"] == "http://simkim-simulator:8099"
    assert "./nginx.development.conf:/etc/nginx/conf.d/default.conf:ro" in dev["frontdoor"]["volumes"]


def _locations(conf: str) -> list[str]:
    return re.findall(r"^\s*location (\S+) \{", conf, re.M)


def test_nginx_and_the_ingress_never_route_the_simulator_or_the_mailbox_outside_development() -> None:
    from sambang_runtime.frontdoor import DEVELOPMENT_ONLY_PREFIXES

    production = _locations((ROOT / "deploy/compose/nginx.conf").read_text())
    development = _locations((ROOT / "deploy/compose/nginx.development.conf").read_text())
    assert production and not [p for p in production if p.startswith(DEVELOPMENT_ONLY_PREFIXES)]
    assert {"/simkim/v1", "/simkim/_admin", "/v1/dev/mailbox"} <= set(development)
    assert set(production) < set(development)

    def paths(rel: str) -> list[str]:
        ingress = _docs(rel)["Ingress"]
        return [p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]

    base = paths("deploy/k8s/base/ingress.yaml")
    assert "/v1/captures" in base and not [p for p in base if p.startswith(DEVELOPMENT_ONLY_PREFIXES)]
    overlay = paths("deploy/k8s/development/ingress.yaml")
    assert set(overlay) == {"/simkim/v1", "/simkim/_admin", "/v1/dev/mailbox"}
    kustomization = _yaml("deploy/k8s/development/kustomization.yaml")
    assert "ingress.yaml" in kustomization["resources"]
    assert "SAMBANG_ENVIRONMENT: development" in kustomization["patches"][0]["patch"]
    assert _yaml("deploy/k8s/base/config.yaml")["data"]["SAMBANG_ENVIRONMENT"] == "production"


def test_each_bus_user_publishes_only_its_families_and_never_through_the_default_exchange() -> None:
    definitions = json.loads((ROOT / "deploy/rabbitmq/definitions.json").read_text())
    users = {u["name"]: u for u in definitions["users"]}
    assert "guest" not in users
    assert all(u["password_hash"] == "" for u in users.values()), "no password hash belongs in git"
    topic = {t["user"]: t for t in definitions["topic_permissions"]}
    expected = {
        "queue": r"^queue\.",
        "capture": r"^capture\.",
        "payment": r"^payment\.",
        "simkim-gateway": r"^simkim\.",
        "notifier": r"^notifier\.",
    }
    for service, write in expected.items():
        assert topic[f"sambang-{service}"]["write"] == write
        assert topic[f"sambang-{service}"]["exchange"] == "sambang.events"
    for d in discover_services():
        from sambang_contracts import REGISTRY
        from sambang_contracts.envelope import owner_of

        t = topic[f"sambang-{d.name}"]
        for event_type in REGISTRY:
            mine = owner_of(event_type) == f"sambang/{d.name}"
            assert bool(re.search(t["write"], event_type)) == mine, (d.name, event_type)
        assert d.spec is not None
        for key in d.spec().handlers:
            assert re.search(t["read"], key), (d.name, key)
    for permission in definitions["permissions"]:
        queue = f"sambang.{permission['user'].removeprefix('sambang-')}"
        for kind in ("configure", "write", "read"):
            pattern = permission[kind]
            assert not re.search(pattern, "amq.default") and not re.search(pattern, "")
            others = [f"sambang.{d.name}" for d in discover_services() if f"sambang.{d.name}" != queue]
            assert not [o for o in others if re.search(pattern, o) or re.search(pattern, f"{o}.parked")]
            assert re.search(pattern, "sambang.events")


def test_make_secrets_writes_private_production_keys_and_keeps_them(tmp_path: Path) -> None:
    from sambang_runtime.auth import TokenVerifier
    from sambang_runtime.deployment import SecretFiles, rabbitmq_password_hash, read_env, write_secrets
    from sambang_runtime.secrets import PUBLISHED
    from sambang_runtime.settings import RuntimeSettings

    env = tmp_path / "deploy" / ".env"
    services = discover_services()
    write_secrets(env, services)
    files = SecretFiles(env)
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.folder.stat().st_mode) == 0o700
    for path in files.folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    shared = read_env(env)
    # A production service starts on them (no missing, short or published key).
    settings = RuntimeSettings(
        environment="production",
        auth_hs256_secret=shared["SAMBANG_AUTH_HS256_SECRET"],
        pii_keys=shared["SAMBANG_PII_KEYS"],
        blind_index_key=shared["SAMBANG_BLIND_INDEX_KEY"],
        approval_secret=shared["SAMBANG_APPROVAL_SECRET"],
    )
    assert settings.production
    key_id, _, key = shared["SAMBANG_PII_KEYS"].partition(":")
    assert key_id == "k1" and len(base64.b64decode(key)) == 32
    assert len(base64.b64decode(shared["SAMBANG_BLIND_INDEX_KEY"])) == 32
    assert not set(shared.values()) & PUBLISHED
    verifier = TokenVerifier(hs256_secret=shared["SAMBANG_AUTH_HS256_SECRET"])
    for variable, sub in (
        ("SAMBANG_SIMKIM_GATEWAY_CAPTURE_TOKEN", "simkim-gateway"),
        ("SAMBANG_NOTIFIER_CAPTURE_TOKEN", "notifier"),
    ):
        principal = verifier.verify(shared[variable])
        assert principal.sub == sub and principal.roles == frozenset({"service"})
        exp = jwt.decode(shared[variable], options={"verify_signature": False})["exp"]
        assert exp - time.time() > 365 * 86400
    # Each service its own passwords; PostgreSQL's file holds the same; the broker's hashes verify them.
    postgres = read_env(files.postgres)
    definitions = json.loads(files.rabbitmq_definitions.read_text())
    hashes = {u["name"]: u["password_hash"] for u in definitions["users"]}
    seen: set[str] = set()
    for d in services:
        own = read_env(files.service(d.name))
        db = urlsplit(own["SAMBANG_DATABASE_URL"])
        amqp = urlsplit(own["SAMBANG_AMQP_URL"])
        role = f"sambang_{d.name.replace('-', '_')}"
        assert (db.username, db.path) == (role, f"/{role}")
        assert amqp.username == f"sambang-{d.name}" and amqp.hostname == "rabbitmq"
        assert db.password and amqp.password
        assert postgres[f"SAMBANG_DB_PASSWORD_{d.name.upper().replace('-', '_')}"] == db.password
        stored = base64.b64decode(hashes[f"sambang-{d.name}"])
        assert rabbitmq_password_hash(amqp.password, stored[:4]) == hashes[f"sambang-{d.name}"]
        assert not {db.password, amqp.password} & seen
        seen |= {db.password, amqp.password}
        assert db.password not in env.read_text()
    assert len(postgres["POSTGRES_PASSWORD"]) >= 32

    # Kept on a second run; a key added since is appended; FORCE renews everything.
    before = {p.name: p.read_text() for p in (env, *files.folder.glob("*.env"))}
    env.write_text("\n".join(line for line in env.read_text().splitlines() if "APPROVAL" not in line) + "\n")
    kept = env.read_text()
    write_secrets(env, services)
    assert env.read_text().startswith(kept) and "SAMBANG_APPROVAL_SECRET=" in env.read_text()
    assert read_env(env)["SAMBANG_AUTH_HS256_SECRET"] == shared["SAMBANG_AUTH_HS256_SECRET"]
    assert {p.name: p.read_text() for p in files.folder.glob("*.env")} == {
        k: v for k, v in before.items() if k != ".env"
    }
    write_secrets(env, services, force=True)
    assert read_env(env)["SAMBANG_AUTH_HS256_SECRET"] != shared["SAMBANG_AUTH_HS256_SECRET"]
    assert read_env(files.service("queue")) != read_env(tmp_path / "nothing")


def test_make_secrets_through_the_command_line_and_amqps(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    broker = "amqps://broker.example:5671/?cafile=/etc/sambang/tls/ca.pem"
    done = subprocess.run(
        [sys.executable, "-m", "sambang_runtime.deployment", "secrets", str(env), "--broker", broker],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"{env}: generated" in done.stdout
    from sambang_runtime.deployment import read_env

    url = read_env(tmp_path / "secrets" / "payment.env")["SAMBANG_AMQP_URL"]
    assert url.startswith("amqps://sambang-payment:") and url.endswith(
        "@broker.example:5671/?cafile=/etc/sambang/tls/ca.pem"
    )
    again = subprocess.run(
        [sys.executable, "-m", "sambang_runtime.deployment", "secrets", str(env)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "kept" in again.stdout


def test_the_generated_files_are_ignored_by_git() -> None:
    for rel in ("deploy/.env", "deploy/secrets/queue.env", "deploy/secrets/rabbitmq-definitions.json"):
        done = subprocess.run(["git", "check-ignore", "-q", rel], cwd=ROOT, check=False)
        assert done.returncode == 0, f"{rel} is not git-ignored"


async def test_init_sh_gives_each_service_a_role_that_reaches_only_its_own_database() -> None:
    """The rendered init script on the real PostgreSQL (renamed roles and databases, removed afterwards)."""
    import asyncpg
    from sambang_runtime.deployment import postgres_init
    from sambang_runtime.testing import DEFAULT_PG

    if shutil.which("psql") is None:
        pytest.skip("psql is not installed on this machine")
    base = urlsplit(os.environ.get("SAMBANG_TEST_DATABASE_URL", DEFAULT_PG).replace("+asyncpg", ""))
    prefix = f"t16{secrets.token_hex(3)}"
    services = [d for d in discover_services() if d.name in ("queue", "payment")]
    env = {
        **os.environ,
        "PGHOST": base.hostname or "127.0.0.1",
        "PGPORT": str(base.port or 5432),
        "POSTGRES_USER": base.username or "postgres",
        **({"PGPASSWORD": base.password} if base.password else {}),
        "SAMBANG_DB_PASSWORD_QUEUE": secrets.token_urlsafe(24),
        "SAMBANG_DB_PASSWORD_PAYMENT": secrets.token_urlsafe(24),
    }
    admin_dsn = f"postgresql://{base.netloc}/postgres"
    try:
        done = subprocess.run(["sh", "-c", postgres_init(services, prefix)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        admin = await asyncpg.connect(admin_dsn)
        try:
            stored = await admin.fetch(
                "SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE $1", f"{prefix}_%"
            )
            assert {r["rolname"] for r in stored} == {f"{prefix}_queue", f"{prefix}_payment"}
            assert all(r["rolpassword"].startswith("SCRAM-SHA-256$") for r in stored)
            owners = await admin.fetch(
                "SELECT datname, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname LIKE $1", f"{prefix}_%"
            )
            assert {r["datname"]: r["owner"] for r in owners} == {
                f"{prefix}_queue": f"{prefix}_queue",
                f"{prefix}_payment": f"{prefix}_payment",
            }
        finally:
            await admin.close()
        host = f"{base.hostname or '127.0.0.1'}:{base.port or 5432}"
        password = env["SAMBANG_DB_PASSWORD_QUEUE"]
        own = await asyncpg.connect(f"postgresql://{prefix}_queue:{password}@{host}/{prefix}_queue")
        try:
            await own.execute("CREATE TABLE visit (id int)")  # it owns its database's schema
        finally:
            await own.close()
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await asyncpg.connect(f"postgresql://{prefix}_queue:{password}@{host}/{prefix}_payment")
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            for name in (f"{prefix}_queue", f"{prefix}_payment"):
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.execute(f'DROP ROLE IF EXISTS "{name}"')
        finally:
            await admin.close()


def test_definitions_hold_exactly_the_topology_the_code_declares() -> None:
    """Same queues (with the runtime's arguments), exchanges, bindings, users and permissions: nothing
    missing, nothing left over from a service or a key that is gone."""
    from sambang_runtime.bus.amqp import queue_arguments
    from sambang_runtime.settings import RuntimeSettings

    runtime = RuntimeSettings(environment="test")
    definitions = json.loads((ROOT / "deploy/rabbitmq/definitions.json").read_text())
    services = discover_services()
    consumers = {d.name: d for d in services if d.spec is not None and d.spec().handlers}
    queues = {q["name"]: q for q in definitions["queues"]}
    expected_queues: dict[str, dict[str, Any]] = {}
    for name in consumers:
        queue = f"{runtime.queue_prefix}.{name}"
        args = queue_arguments(queue, delivery_limit=runtime.delivery_limit, retry_delay_ms=runtime.retry_delay_ms)
        expected_queues |= {queue: args["main"], f"{queue}.retry": args["retry"], f"{queue}.parked": args["parked"]}
    assert {n: q["arguments"] for n, q in queues.items()} == expected_queues
    assert all(q["durable"] and not q["auto_delete"] and q["vhost"] == "/" for q in queues.values())
    assert queues[f"{runtime.queue_prefix}.queue"]["arguments"]["x-queue-type"] == "quorum"
    exchanges = {(e["name"], e["type"]) for e in definitions["exchanges"]}
    assert exchanges == {(runtime.exchange, "topic")} | {(f"sambang.{n}.direct", "direct") for n in consumers}
    bindings = {(b["source"], b["destination"], b["routing_key"]) for b in definitions["bindings"]}
    expected_bindings = {
        (runtime.exchange, f"sambang.{n}", key)
        for n, d in consumers.items()
        for key in d.spec().handlers  # type: ignore[misc]
    }
    for n in consumers:
        q = f"sambang.{n}"
        expected_bindings |= {(f"{q}.direct", name, name) for name in (q, f"{q}.retry", f"{q}.parked")}
    assert bindings == expected_bindings
    users = {u["name"] for u in definitions["users"]}
    assert users == {f"sambang-{d.name}" for d in services}
    assert sorted(p["user"] for p in definitions["permissions"]) == sorted(users)
    assert sorted(p["user"] for p in definitions["topic_permissions"]) == sorted(users)
    assert definitions["vhosts"] == [{"name": "/"}]
