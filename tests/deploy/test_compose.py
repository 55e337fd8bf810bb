"""The compose file is valid against the compose specification and runs the office as deploy/README.md says."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml  # type: ignore[import-untyped]
from sambang_runtime.deployment.names import production
from sambang_runtime.service import discover_services

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "deploy/schemas/compose-spec.json").read_text())
PRODUCTION = production(discover_services())


def load(name: str) -> dict[str, Any]:
    """One compose file of deploy/compose."""
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "deploy/compose" / name).read_text())
    return loaded


def compose_problems(document: dict[str, Any]) -> list[str]:
    """Where a compose document breaks the compose specification's schema."""
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_both_compose_files_are_valid_against_the_compose_specification() -> None:
    for name in ("docker-compose.yml", "docker-compose.development.yml"):
        assert compose_problems(load(name)) == [], name


def test_the_schema_refuses_a_typo_and_a_wrong_type() -> None:
    stack = load("docker-compose.yml")
    typo = copy.deepcopy(stack)
    typo["services"]["queue"]["enviroment"] = {}
    assert compose_problems(typo)
    wrong = copy.deepcopy(stack)
    wrong["services"]["queue"]["depends_on"] = 5
    assert compose_problems(wrong)


def test_every_service_runs_the_one_image_hardened_and_checked_by_the_images_health_check() -> None:
    services = load("docker-compose.yml")["services"]
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    for d in PRODUCTION:
        s = services[d.name]
        assert s["image"] == "sambang:${SAMBANG_VERSION:-latest}"
        assert s["build"] == {"context": "../..", "dockerfile": "deploy/Dockerfile"}
        assert s["command"] == ["python", "-m", f"sambang_{d.name.replace('-', '_')}"]
        assert s["read_only"] is True and s["tmpfs"] == ["/tmp"] and s["cap_drop"] == ["ALL"]  # noqa: S108 - the container's tmpfs
        assert "no-new-privileges:true" in s["security_opt"]
        test = s["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"] and "/healthz" in test[3] and "SAMBANG_PORT" in test[3]
        assert test[3] in dockerfile  # the same check as the image's HEALTHCHECK
        assert s["environment"]["SAMBANG_PORT"] == str(d.port)
        # Arrival links point at the office: compose refuses to start without its address.
        assert s["environment"]["SAMBANG_PUBLIC_BASE_URL"].startswith("${SAMBANG_PUBLIC_BASE_URL:?")
    assert services["rabbitmq"]["hostname"] == "rabbitmq"  # its data directory is named after the node


def test_the_notifier_reads_its_mail_relay_from_its_own_secrets_file() -> None:
    from sambang_notifier.settings import NotifierSettings
    from sambang_runtime.deployment.compose import SMTP_VARIABLES

    fields = {f"SAMBANG_NOTIFIER_{name.upper()}" for name in NotifierSettings.model_fields}
    assert set(SMTP_VARIABLES) <= fields
    assert {"SAMBANG_NOTIFIER_SMTP_HOST", "SAMBANG_NOTIFIER_SMTP_PASSWORD"} <= set(SMTP_VARIABLES)
    notifier = load("docker-compose.yml")["services"]["notifier"]
    assert notifier["env_file"] == ["../.env", "../secrets/notifier.env"]
    # Nothing in environment: an empty value there would override what the secrets file sets.
    assert not [k for k in notifier["environment"] if "SMTP" in k]


def test_make_secrets_leaves_the_mail_relay_and_the_public_address_to_fill_in(tmp_path: Path) -> None:
    from sambang_runtime.deployment import write_secrets
    from sambang_runtime.deployment.compose import SMTP_VARIABLES

    env = tmp_path / ".env"
    write_secrets(env, discover_services())
    notifier = (tmp_path / "secrets" / "notifier.env").read_text()
    for variable in SMTP_VARIABLES:
        assert re.search(rf"^# {variable}=", notifier, re.M), variable
    assert re.search(r"^# SAMBANG_PUBLIC_BASE_URL=https://", env.read_text(), re.M)
    assert "SMTP" not in (tmp_path / "secrets" / "queue.env").read_text()


def test_nginx_takes_six_mebibyte_photos_and_streams_events_unbuffered() -> None:
    nginx = (ROOT / "deploy/compose/nginx.conf").read_text()
    assert "client_max_body_size 6m;" in nginx
    assert nginx.count("proxy_pass ") == nginx.count("proxy_buffering off;")
    assert "/internal" not in nginx
