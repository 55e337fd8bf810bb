"""Prometheus and Grafana for Sambang (deploy/observability): the scrape configs, the alert rules and
their unit tests pass `promtool`; every alert carries its `for:`, severity, English and Indonesian text
and a runbook section that exists; the dashboards validate against Grafana's schema and their queries
parse; and every `sambang_*` metric a rule or a panel names is one the services really export.

`promtool` is Debian's (`prometheus` package), installed with apt-get when missing as tests/browser
installs chromium (CI runs as root).
"""

from __future__ import annotations

import json
import os
import pkgutil
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]
from prometheus_client import REGISTRY
from sambang_contracts.events import REGISTRY as EVENT_TYPES
from sambang_runtime.service import discover_services

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deploy" / "observability"
RULES = OBS / "alerts.yml"
RULE_TESTS = OBS / "alerts.test.yml"
CONFIGS = (OBS / "prometheus.yml", OBS / "prometheus.kubernetes.yml")
DASHBOARDS = sorted((OBS / "grafana" / "dashboards").glob("*.json"))
SCHEMAS = OBS / "grafana" / "schema"
RUNBOOK = ROOT / "docs" / "operations.md"
K8S_BASE = ROOT / "deploy" / "k8s" / "base"
SERVICES = ("queue", "capture", "payment", "simkim-gateway", "notifier")
METRIC = re.compile(r"\bsambang_[a-z0-9_]+\b")
#: `type="x"` / `type=~"a|b"` matchers of event types in a query.
TYPE_MATCHER = re.compile(r'\btype=~?"([^"]+)"')


# --- promtool --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def promtool() -> str:
    """Debian's promtool, installed with apt-get when missing (the tests run as root, as CI does)."""
    found = shutil.which("promtool")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        pytest.skip("promtool is missing and cannot be installed here (needs apt-get as root): apt install prometheus")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-q", "--no-install-recommends", "prometheus"]
    if subprocess.run(install, env=env, check=False, capture_output=True).returncode != 0:
        subprocess.run([apt, "update", "-q"], env=env, check=True, capture_output=True)
        subprocess.run(install, env=env, check=True, capture_output=True)
    found = shutil.which("promtool")
    assert found, "the prometheus package installed no promtool"
    return found


def run_promtool(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run promtool; its output joined, for the assertion message."""
    return subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def without_kubernetes_sd(config: dict[str, Any]) -> dict[str, Any]:
    """The config with every kubernetes_sd_configs block replaced by one static target, everything else
    (relabelling, rule files, alerting) as it is: for a promtool built without Kubernetes discovery."""

    def swap(block: dict[str, Any]) -> dict[str, Any]:
        if "kubernetes_sd_configs" not in block:
            return block
        rest = {k: v for k, v in block.items() if k != "kubernetes_sd_configs"}
        return {**rest, "static_configs": [{"targets": ["kubernetes-sd.invalid:80"]}]}

    out = dict(config)
    out["scrape_configs"] = [swap(j) for j in config["scrape_configs"]]
    if "alerting" in config:
        out["alerting"] = {
            **config["alerting"],
            "alertmanagers": [swap(a) for a in config["alerting"]["alertmanagers"]],
        }
    return out


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_the_scrape_config_passes_promtool_check_config(promtool: str, config: Path, tmp_path: Path) -> None:
    result = run_promtool(promtool, "check", "config", config.name, cwd=OBS)
    output = result.stdout + result.stderr
    if result.returncode != 0 and "field kubernetes_sd_configs not found" in output:
        # Debian builds Prometheus without Kubernetes discovery: check the rest with the blocks swapped
        # for static targets; the blocks themselves are checked by the next test.
        shutil.copy(RULES, tmp_path / RULES.name)
        swapped = tmp_path / config.name
        swapped.write_text(yaml.safe_dump(without_kubernetes_sd(yaml.safe_load(config.read_text()))))
        result = run_promtool(promtool, "check", "config", swapped.name, cwd=tmp_path)
        output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "SUCCESS" in output


# The fields of kubernetes_sd_config Prometheus 2.42 accepts that these configs may use.
KUBERNETES_SD = {
    "type": "object",
    "additionalProperties": False,
    "required": ["role"],
    "properties": {
        "role": {"enum": ["endpoints", "endpointslice", "pod", "service", "node", "ingress"]},
        "namespaces": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "names": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "own_namespace": {"type": "boolean"},
            },
        },
        "api_server": {"type": "string"},
        "kubeconfig_file": {"type": "string"},
        "selectors": {"type": "array"},
        "attach_metadata": {"type": "object"},
    },
}
#: The pod role's meta labels (Prometheus docs, kubernetes_sd_config, role pod).
POD_META = re.compile(
    r"__meta_kubernetes_(namespace|pod_(name|ip|uid|node_name|host_ip|ready|phase|controller_kind|controller_name"
    r"|container_(name|image|id|init|port_name|port_number|port_protocol)"
    r"|label_[a-zA-Z0-9_]+|labelpresent_[a-zA-Z0-9_]+|annotation_[a-zA-Z0-9_]+|annotationpresent_[a-zA-Z0-9_]+))"
)


def test_kubernetes_discovery_blocks_use_only_known_fields_and_pod_meta_labels() -> None:
    config = yaml.safe_load((OBS / "prometheus.kubernetes.yml").read_text())
    jobs = [*config["scrape_configs"], *config["alerting"]["alertmanagers"]]
    assert all("kubernetes_sd_configs" in j for j in jobs)
    for job in jobs:
        for block in job["kubernetes_sd_configs"]:
            jsonschema.validate(block, KUBERNETES_SD)
        if all(b["role"] == "pod" for b in job["kubernetes_sd_configs"]):
            for rule in job.get("relabel_configs", []):
                for label in rule.get("source_labels", []):
                    if label.startswith("__meta_"):
                        assert POD_META.fullmatch(label), f"{job.get('job_name')}: {label} is no pod meta label"


def relabel(labels: dict[str, str], rules: list[dict[str, Any]]) -> dict[str, str] | None:
    """Prometheus relabelling (keep, drop, replace) of one target; None when dropped."""
    out = dict(labels)
    for rule in rules:
        value = rule.get("separator", ";").join(out.get(s, "") for s in rule.get("source_labels", []))
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        action = rule.get("action", "replace")
        if action == "keep" and not match:
            return None
        if action == "drop" and match:
            return None
        if action == "replace" and match:
            out[rule["target_label"]] = match.expand(rule.get("replacement", "$1").replace("$1", r"\1"))
    return out


def pod_targets(manifest: dict[str, Any]) -> Iterator[dict[str, str]]:
    """The meta labels kubernetes_sd (role pod) gives each container port of a Deployment's pods."""
    template = manifest["spec"]["template"]
    pod_labels = {
        f"__meta_kubernetes_pod_label_{re.sub(r'[^a-zA-Z0-9_]', '_', k)}": v
        for k, v in template["metadata"].get("labels", {}).items()
    }
    for container in template["spec"]["containers"]:
        for port in container.get("ports", []):
            yield {
                **pod_labels,
                "__meta_kubernetes_namespace": "sambang",
                "__meta_kubernetes_pod_name": f"{manifest['metadata']['name']}-0",
                "__meta_kubernetes_pod_container_port_name": port.get("name", ""),
                "__meta_kubernetes_pod_container_port_number": str(port["containerPort"]),
            }


def test_the_kubernetes_sambang_job_scrapes_each_service_of_the_base_once_and_nothing_else() -> None:
    job = next(
        j
        for j in yaml.safe_load((OBS / "prometheus.kubernetes.yml").read_text())["scrape_configs"]
        if j["job_name"] == "sambang"
    )
    deployments = [
        doc
        for f in sorted(K8S_BASE.glob("*.yaml"))
        for doc in yaml.safe_load_all(f.read_text())
        if doc and doc.get("kind") == "Deployment"
    ]
    assert deployments, "no Deployment in deploy/k8s/base"
    kept = [t for d in deployments for meta in pod_targets(d) if (t := relabel(meta, job["relabel_configs"]))]
    assert sorted(t["component"] for t in kept) == sorted(SERVICES)
    # The port kept is the one /metrics is served on (each service's own port).
    ports = {t["component"]: t["__meta_kubernetes_pod_container_port_number"] for t in kept}
    assert ports == {
        "queue": "8001",
        "capture": "8002",
        "payment": "8003",
        "simkim-gateway": "8004",
        "notifier": "8005",
    }


def test_the_compose_config_scrapes_each_service_on_its_own_port() -> None:
    config = yaml.safe_load((OBS / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "sambang")
    targets = {s["labels"]["component"]: s["targets"] for s in job["static_configs"]}
    compose = yaml.safe_load((ROOT / "deploy" / "compose" / "docker-compose.yml").read_text())["services"]
    assert set(targets) == set(SERVICES)
    for service, [target] in targets.items():
        assert target == f"{service}:{compose[service]['environment']['SAMBANG_PORT']}"


def test_the_alert_rules_pass_promtool_check_rules(promtool: str) -> None:
    result = run_promtool(promtool, "check", "rules", RULES.name, cwd=OBS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_unit_tests_pass(promtool: str) -> None:
    result = run_promtool(promtool, "test", "rules", RULE_TESTS.name, cwd=OBS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_catch_a_broken_rule(promtool: str, tmp_path: Path) -> None:
    # The unit tests are worth something only if a wrong rule fails them: drop the arm that catches the
    # first parked message of a kind, and they must fail.
    broken = RULES.read_text().replace(
        "sum by (service, type) (sambang_events_parked_total unless sambang_events_parked_total offset 10m) > 0",
        "vector(0) > 1",
    )
    assert broken != RULES.read_text()
    (tmp_path / RULES.name).write_text(broken)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    result = run_promtool(promtool, "test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "SambangMessagesParked" in result.stdout + result.stderr


# --- the rules' shape and their runbook ---------------------------------------------------------------------


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of alerts.yml."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def runbook_anchors() -> set[str]:
    """GitHub's anchors of docs/operations.md's headings."""
    anchors = set()
    for line in RUNBOOK.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return anchors


def test_every_alert_waits_has_a_severity_both_languages_and_a_runbook_section() -> None:
    anchors = runbook_anchors()
    rules = alert_rules()
    assert len(rules) >= 10
    for rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "")), f"{name}: no for:"
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        notes = rule["annotations"]
        for key in ("summary", "summary_id", "description", "description_id", "runbook_url"):
            assert notes.get(key, "").strip(), f"{name}: no {key}"
        assert notes["summary"] != notes["summary_id"], f"{name}: the Indonesian summary is the English one"
        page, _, anchor = notes["runbook_url"].partition("#")
        assert page == "docs/operations.md", name
        assert anchor in anchors, f"{name}: docs/operations.md has no section #{anchor}"


def test_every_alert_is_tested_where_it_fires_and_where_it_does_not() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {r["alert"] for r in alert_rules()}
    assert names - fired == set(), "never seen firing"
    assert names - quiet == set(), "never seen quiet"


# --- dashboards ---------------------------------------------------------------------------------------------


@cache
def schema(name: str) -> dict[str, Any]:
    """A vendored Grafana JSON Schema (grafana/schema/SOURCE.md)."""
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside rows included."""
    for p in dashboard.get("panels", []):
        yield p
        yield from p.get("panels", [])


def dashboard_queries() -> dict[str, list[str]]:
    """Every query expression of every dashboard, by file name."""
    return {
        f.name: [t["expr"] for p in panels(json.loads(f.read_text())) for t in p.get("targets", [])] for f in DASHBOARDS
    }


def test_there_is_a_dashboard_per_concern() -> None:
    assert {f.stem for f in DASHBOARDS} == {"office-flow", "bus-health", "simkim"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_the_dashboard_validates_against_grafanas_schema(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    jsonschema.Draft7Validator(schema("dashboard.jsonschema.json")).validate(dashboard)
    query = jsonschema.Draft7Validator(schema("prometheus.jsonschema.json"))
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    assert dashboard["uid"] and len(dashboard["uid"]) <= 40
    for p in panels(dashboard):
        if p["type"] == "row":
            continue
        assert p.get("targets"), f"{p['title']}: no query"
        for t in p["targets"]:
            query.validate(t)
            assert t["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_the_schema_refuses_a_broken_dashboard() -> None:
    dashboard = json.loads(DASHBOARDS[0].read_text())
    dashboard["panels"][0]["gridPos"]["w"] = 30  # wider than Grafana's 24 columns
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema("dashboard.jsonschema.json")).validate(dashboard)


def test_every_dashboard_query_parses(promtool: str, tmp_path: Path) -> None:
    # promtool parses PromQL in rule files: every query becomes a recording rule of a scratch file.
    rules = [
        {"record": f"dashboard:query:{i}", "expr": expr}
        for i, expr in enumerate(e for exprs in dashboard_queries().values() for e in exprs)
    ]
    (tmp_path / "queries.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run_promtool(promtool, "check", "rules", "queries.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_event_types_on_the_dashboards_are_the_contracts() -> None:
    for name, exprs in dashboard_queries().items():
        for expr in exprs:
            for matcher in TYPE_MATCHER.findall(expr):
                for event_type in matcher.split("|"):
                    assert event_type in EVENT_TYPES, f"{name}: {event_type} is no event type"


# --- metric names: what the rules and panels read is what the services export ------------------------------


@cache
def exported_metric_names() -> frozenset[str]:
    """Every sample name the services can export: each service package imported whole (as its process
    imports it), then prometheus_client's registry read, counters as ``_total``, histograms as
    ``_bucket``/``_count``/``_sum``."""
    for d in discover_services():
        package = import_module(f"sambang_{d.name.replace('-', '_')}")
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not module.name.endswith("__main__"):
                import_module(module.name)
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "info": ("_info",),
    }
    names = set()
    for family in REGISTRY.collect():
        for suffix in suffixes.get(family.type, ("",)):
            names.add(family.name + suffix)
    return frozenset(names)


def unknown_metrics(expressions: list[str]) -> set[str]:
    """The ``sambang_*`` metric names in ``expressions`` that no service exports."""
    named = {m for e in expressions for m in METRIC.findall(e)}
    return named - exported_metric_names()


def test_the_services_export_the_metrics_the_alerts_need() -> None:
    exported = exported_metric_names()
    for name in (
        "sambang_events_parked_total",
        "sambang_outbox_lag_seconds",
        "sambang_http_request_duration_seconds_count",
        "sambang_simkim_breaker_open",
        "sambang_simkim_breaker_checked_timestamp_seconds",
        "sambang_bills_expiry_backlog",
        "sambang_bills_expiry_last_sweep_timestamp_seconds",
    ):
        assert name in exported, name


def test_every_sambang_metric_in_the_alert_rules_is_exported() -> None:
    exprs = [r["expr"] for r in alert_rules()]
    assert any(METRIC.search(e) for e in exprs)
    assert unknown_metrics(exprs) == set()


def test_every_sambang_metric_on_the_dashboards_is_exported() -> None:
    for name, exprs in dashboard_queries().items():
        assert unknown_metrics(exprs) == set(), name


def test_a_misspelt_metric_is_caught() -> None:
    assert unknown_metrics(["max(sambang_outbox_lagg_seconds) > 60"]) == {"sambang_outbox_lagg_seconds"}
    assert unknown_metrics(["sambang_events_parked > 0"]) == {"sambang_events_parked"}  # the counter is _total


async def test_a_running_service_serves_the_new_gauges_on_metrics(tmp_path: Path) -> None:
    from sambang_payment.app import create_app  # type: ignore[import-untyped]
    from sambang_runtime.settings import RuntimeSettings

    settings = RuntimeSettings(
        environment="test",
        service_name="payment",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/payment.db",
        amqp_url="memory://",
        log_level="WARNING",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://payment.test") as client:
            body = (await client.get("/metrics")).text
    exposed = {line.split("{")[0].split(" ")[0] for line in body.splitlines() if line and not line.startswith("#")}
    assert {"sambang_bills_expiry_backlog", "sambang_simkim_breaker_open"} <= exposed
