"""Every overlay renders, every object would be accepted, and the policies say what deploy/README.md says."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sambang_runtime.deployment.capacity import NATIONAL
from sambang_runtime.deployment.names import callers, consumes, production
from sambang_runtime.service import discover_services

Manifest = dict[str, Any]
Validate = Callable[[Manifest], list[str]]
SERVICES = discover_services()
PRODUCTION = production(SERVICES)
OVERLAYS = ("base", "development", "office", "national")


def kinds(objects: list[Manifest], kind: str) -> dict[str, Manifest]:
    """The objects of one kind, by name."""
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_against_its_schema(
    overlay: str, rendered: dict[str, list[Manifest]], validate: Validate
) -> None:
    objects = rendered[overlay]
    assert objects
    found = [p for o in objects for p in validate(o)]
    assert not found, "\n".join(found)
    # Everything lands in the one namespace (kustomize sets it), which enforces Pod Security restricted.
    for o in objects:
        if o["kind"] != "Namespace":
            assert o["metadata"].get("namespace") == "sambang", o["metadata"]["name"]


def test_the_validator_refuses_a_typo_a_wrong_type_and_an_unknown_kind(
    rendered: dict[str, list[Manifest]], validate: Validate
) -> None:
    """The checks above can fail: one mistake in each kind of object is caught."""
    national = rendered["national"]
    deployment = copy.deepcopy(kinds(national, "Deployment")["queue"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    assert validate(deployment)
    deployment = copy.deepcopy(kinds(national, "Deployment")["queue"])
    deployment["spec"]["replicas"] = "many"
    assert validate(deployment)
    rabbit = copy.deepcopy(kinds(national, "RabbitmqCluster")["rabbitmq"])
    rabbit["spec"]["replica"] = 3
    assert validate(rabbit)
    cluster = copy.deepcopy(kinds(national, "Cluster")["queue-db"])
    cluster["spec"]["postgresql"]["synchronous"]["method"] = "all"
    assert validate(cluster)
    cluster = copy.deepcopy(kinds(national, "Cluster")["queue-db"])
    cluster["spec"]["minSyncReplica"] = 1
    assert validate(cluster)
    pooler = copy.deepcopy(kinds(national, "Pooler")["queue-db-pooler"])
    pooler["spec"]["pgbouncer"]["poolMode"] = "statement"
    assert validate(pooler)
    scaled = copy.deepcopy(kinds(national, "ScaledObject")["queue"])
    scaled["spec"]["triggers"][0]["authRef"] = scaled["spec"]["triggers"][0].pop("authenticationRef")
    assert validate(scaled)
    certificate = copy.deepcopy(kinds(national, "Certificate")["sambang"])
    del certificate["spec"]["secretName"]
    assert validate(certificate)
    assert validate({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})


def test_a_privileged_or_root_container_breaks_the_restricted_profile(rendered: dict[str, list[Manifest]]) -> None:
    good = kinds(rendered["base"], "Deployment")["queue"]
    assert restricted_problems(good) == []
    for path, value in (
        (("securityContext", "privileged"), True),
        (("securityContext", "allowPrivilegeEscalation"), True),
        (("securityContext", "runAsUser"), 0),
        (("securityContext", "capabilities"), {"add": ["NET_ADMIN"]}),
        (("securityContext", "readOnlyRootFilesystem"), False),
    ):
        bad = copy.deepcopy(good)
        container = bad["spec"]["template"]["spec"]["containers"][0]
        container[path[0]][path[1]] = value
        assert restricted_problems(bad), path
    bad = copy.deepcopy(good)
    bad["spec"]["template"]["spec"]["hostNetwork"] = True
    assert restricted_problems(bad)


def restricted_problems(deployment: Manifest) -> list[str]:
    """Where a Deployment's pods break Pod Security ``restricted`` (and our read-only root rule)."""
    pod = deployment["spec"]["template"]["spec"]
    name = deployment["metadata"]["name"]
    found = []
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            found.append(f"{name}: {key}")
    pod_sc = pod.get("securityContext", {})
    if pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        found.append(f"{name}: pod seccompProfile")
    if any("hostPath" in v for v in pod.get("volumes", [])):
        found.append(f"{name}: hostPath volume")
    for c in pod["containers"] + pod.get("initContainers", []):
        sc = c.get("securityContext", {})
        if sc.get("privileged"):
            found.append(f"{c['name']}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{c['name']}: allowPrivilegeEscalation")
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            found.append(f"{c['name']}: runAsNonRoot")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) != 10001:
            found.append(f"{c['name']}: runAsUser")
        if sc.get("capabilities", {}).get("drop") != ["ALL"] or sc.get("capabilities", {}).get("add"):
            found.append(f"{c['name']}: capabilities")
        if sc.get("readOnlyRootFilesystem") is not True:
            found.append(f"{c['name']}: readOnlyRootFilesystem")
        if "/tmp" not in {m["mountPath"] for m in c.get("volumeMounts", [])}:  # noqa: S108 - the pod's emptyDir
            found.append(f"{c['name']}: no writable /tmp")
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_is_restricted_probed_limited_budgeted_and_fenced(
    overlay: str, rendered: dict[str, list[Manifest]]
) -> None:
    objects = rendered[overlay]
    deployments = kinds(objects, "Deployment")
    expected = {d.name for d in (SERVICES if overlay == "development" else PRODUCTION)} | {"web"}
    assert set(deployments) == expected
    budgets = {
        tuple(sorted(p["spec"]["selector"]["matchLabels"].items()))
        for p in kinds(objects, "PodDisruptionBudget").values()
    }
    policies = kinds(objects, "NetworkPolicy")
    assert "default-deny-ingress" in policies
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    for name, deployment in deployments.items():
        assert restricted_problems(deployment) == [], name
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] in ("/readyz", "/healthz")
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        if name != "web":
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        for side in ("requests", "limits"):
            assert set(container["resources"][side]) == {"cpu", "memory"}, (name, side)
        assert (("app.kubernetes.io/name", name),) in budgets, name
        assert name in policies and policies[name]["spec"]["podSelector"]["matchLabels"] == {
            "app.kubernetes.io/name": name
        }
        budget = kinds(objects, "PodDisruptionBudget")[name]["spec"]
        assert budget.get("maxUnavailable") == 1 or budget.get("minAvailable") == 1


def _admitted(policy: Manifest) -> tuple[set[str], set[str]]:
    """Namespaces and pods (by app.kubernetes.io/name) a policy admits."""
    namespaces: set[str] = set()
    pods: set[str] = set()
    for rule in policy["spec"]["ingress"]:
        for peer in rule["from"]:
            if "namespaceSelector" in peer:
                namespaces.add(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"])
            for expression in peer.get("podSelector", {}).get("matchExpressions", []):
                pods |= set(expression["values"])
    return namespaces, pods


def test_capture_is_reached_by_the_ingress_the_gateway_and_the_notifier_only(
    rendered: dict[str, list[Manifest]],
) -> None:
    policies = kinds(rendered["base"], "NetworkPolicy")
    capture = next(d for d in SERVICES if d.name == "capture")
    assert callers(capture, SERVICES) == ["notifier", "simkim-gateway"]
    assert _admitted(policies["capture"]) == ({"ingress-nginx"}, {"notifier", "simkim-gateway"})
    for d in PRODUCTION:
        if d.name != "capture":
            assert _admitted(policies[d.name]) == ({"ingress-nginx"}, set()), d.name
    assert _admitted(policies["web"]) == ({"ingress-nginx"}, set())
    simulator = kinds(rendered["development"], "NetworkPolicy")["simkim-simulator"]
    assert _admitted(simulator) == ({"ingress-nginx"}, {"simkim-gateway"})


@pytest.mark.parametrize("overlay", ["office", "national"])
def test_databases_only_from_their_service_and_the_broker_only_from_the_services(
    overlay: str, rendered: dict[str, list[Manifest]]
) -> None:
    objects = rendered[overlay]
    policies = kinds(objects, "NetworkPolicy")
    names = {d.name for d in PRODUCTION}
    namespaces, pods = _admitted(policies["rabbitmq"])
    assert pods == names | {"rabbitmq"} and "web" not in pods
    assert namespaces == {"rabbitmq-system", "keda"}
    for cluster in kinds(objects, "Cluster"):
        policy = policies[cluster]
        assert policy["spec"]["podSelector"]["matchLabels"] == {"cnpg.io/cluster": cluster}
        namespaces, pods = _admitted(policy)
        assert namespaces == {"cnpg-system"}
        if overlay == "national":
            service = cluster.removesuffix("-db")
            assert pods == set()  # only its pooler, which only its service reaches
            assert _admitted(policies[f"{cluster}-pooler"]) == (set(), {service})
        else:
            assert pods == names


def test_the_ingress_routes_exactly_the_declared_prefixes_over_tls_and_never_internal(
    rendered: dict[str, list[Manifest]],
) -> None:
    from sambang_runtime.deployment.names import development_only_path

    for overlay in ("base", "office", "national"):
        objects = rendered[overlay]
        ingresses = kinds(objects, "Ingress")
        assert set(ingresses) == {"sambang"}
        spec = ingresses["sambang"]["spec"]
        assert spec["ingressClassName"] == "nginx"
        assert ingresses["sambang"]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "6m"
        host = spec["rules"][0]["host"]
        assert spec["tls"] == [{"hosts": [host], "secretName": "sambang-ingress-tls"}]
        certificate = kinds(objects, "Certificate")["sambang"]["spec"]
        assert certificate["dnsNames"] == [host] and certificate["secretName"] == "sambang-ingress-tls"
        assert kinds(objects, "ConfigMap")["sambang-config"]["data"]["SAMBANG_PUBLIC_BASE_URL"] == f"https://{host}"
        routed = {(p["path"], p["backend"]["service"]["name"]) for p in spec["rules"][0]["http"]["paths"]}
        declared = {(p, d.name) for d in PRODUCTION for p in d.public_prefixes if not development_only_path(p)}
        assert routed == declared | {("/", "web")}
        assert not [p for p, _ in routed if "internal" in p]
        assert all(p["pathType"] == "Prefix" for p in spec["rules"][0]["http"]["paths"])
    assert (
        kinds(rendered["office"], "Ingress")["sambang"]["spec"]["rules"][0]["host"]
        != (kinds(rendered["base"], "Ingress")["sambang"]["spec"]["rules"][0]["host"])
    )
    development = kinds(rendered["development"], "Ingress")["sambang-development"]["spec"]["rules"][0]["http"]["paths"]
    assert {p["path"] for p in development} == {"/simkim/v1", "/simkim/_admin", "/v1/dev/mailbox"}


def test_the_namespace_enforces_the_restricted_pod_security_profile(rendered: dict[str, list[Manifest]]) -> None:
    for overlay in OVERLAYS:
        namespace = kinds(rendered[overlay], "Namespace")["sambang"]
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_national_overlay_runs_three_broker_nodes_and_three_instances_per_database(
    rendered: dict[str, list[Manifest]],
) -> None:
    objects = rendered["national"]
    rabbit = kinds(objects, "RabbitmqCluster")["rabbitmq"]["spec"]
    assert rabbit["replicas"] == 3
    config = rabbit["rabbitmq"]["additionalConfig"]
    assert "load_definitions = /etc/rabbitmq/definitions/definitions.json" in config
    assert "quorum_queue.continuous_membership_reconciliation.target_group_size = 3" in config
    pod = rabbit["override"]["statefulSet"]["spec"]["template"]["spec"]
    assert pod["volumes"][0]["secret"]["secretName"] == "sambang-rabbitmq-definitions"
    assert pod["containers"][0]["volumeMounts"][0]["mountPath"] == "/etc/rabbitmq/definitions"
    clusters = kinds(objects, "Cluster")
    assert set(clusters) == {f"{d.name}-db" for d in PRODUCTION}
    for name, cluster in clusters.items():
        spec = cluster["spec"]
        assert spec["instances"] == 3
        assert spec["postgresql"]["synchronous"] == {"method": "any", "number": 1, "dataDurability": "required"}
        assert spec["backup"]["barmanObjectStore"]["destinationPath"].endswith(name)
        role = spec["bootstrap"]["initdb"]["owner"]
        assert (
            spec["bootstrap"]["initdb"]["database"] == role == "sambang_" + name.removesuffix("-db").replace("-", "_")
        )
        assert f"REVOKE ALL ON DATABASE {role} FROM PUBLIC;" in spec["bootstrap"]["initdb"]["postInitSQL"]
    poolers = kinds(objects, "Pooler")
    assert {p["spec"]["cluster"]["name"] for p in poolers.values()} == set(clusters)
    assert {p["spec"]["pgbouncer"]["poolMode"] for p in poolers.values()} == {"session"}
    backups = kinds(objects, "ScheduledBackup")
    assert {b["spec"]["cluster"]["name"] for b in backups.values()} == set(clusters)
    assert {kinds(rendered["office"], "RabbitmqCluster")["rabbitmq"]["spec"]["replicas"]} == {1}
    office = kinds(rendered["office"], "Cluster")["sambang-db"]["spec"]
    assert office["instances"] == 1
    roles = {office["bootstrap"]["initdb"]["owner"], *(r["name"] for r in office["managed"]["roles"])}
    assert roles == {f"sambang_{d.name.replace('-', '_')}" for d in PRODUCTION}


def test_national_replicas_and_autoscaling_come_from_the_capacity_table(rendered: dict[str, list[Manifest]]) -> None:
    objects = rendered["national"]
    deployments = kinds(objects, "Deployment")
    scaled = kinds(objects, "ScaledObject")
    hpas = kinds(objects, "HorizontalPodAutoscaler")
    auths = kinds(objects, "TriggerAuthentication")
    assert set(NATIONAL) == {d.name for d in PRODUCTION} | {"web"}
    for name, scale in NATIONAL.items():
        assert deployments[name]["spec"]["replicas"] == scale.minimum
        d = next((d for d in PRODUCTION if d.name == name), None)
        if d is not None and consumes(d):
            spec = scaled[name]["spec"]
            assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (scale.minimum, scale.maximum)
            rabbit = next(t for t in spec["triggers"] if t["type"] == "rabbitmq")
            assert rabbit["metadata"]["queueName"] == f"sambang.{name}"
            auth = auths[rabbit["authenticationRef"]["name"]]["spec"]["secretTargetRef"]
            assert auth == [{"parameter": "host", "name": f"sambang-{name}", "key": "SAMBANG_AMQP_URL"}]
            assert name not in hpas  # KEDA's own HPA; a second one would fight it
        else:
            spec = hpas[name]["spec"]
            assert (spec["minReplicas"], spec["maxReplicas"]) == (scale.minimum, scale.maximum)
            assert spec["metrics"][0]["resource"]["name"] == "cpu"
    for name in ("base", "office"):
        assert all(
            d["spec"]["replicas"] == (2 if name == "base" else 1) for d in kinds(rendered[name], "Deployment").values()
        )


def test_each_service_reads_its_own_credentials_and_may_mount_a_broker_ca(rendered: dict[str, list[Manifest]]) -> None:
    deployments = kinds(rendered["base"], "Deployment")
    for d in PRODUCTION:
        pod = deployments[d.name]["spec"]["template"]["spec"]
        refs = [next(iter(r.values()))["name"] for r in pod["containers"][0]["envFrom"]]
        assert refs == ["sambang-config", "sambang-secrets", f"sambang-{d.name}"]
        assert {"name": "tls", "secret": {"secretName": "sambang-tls", "optional": True}} in pod["volumes"]
        assert "/etc/sambang/tls" in {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    config = kinds(rendered["base"], "ConfigMap")["sambang-config"]["data"]
    assert "SAMBANG_DATABASE_URL" not in config and "SAMBANG_AMQP_URL" not in config
    assert config["SAMBANG_ENVIRONMENT"] == "production"
    assert kinds(rendered["development"], "ConfigMap")["sambang-config"]["data"]["SAMBANG_ENVIRONMENT"] == "development"


def test_only_the_development_overlay_points_the_gateway_at_the_simulator(rendered: dict[str, list[Manifest]]) -> None:
    """An explicit env wins over envFrom: the simulator's URL in production would hide the real SIMKIM."""
    for overlay in OVERLAYS:
        gateway = kinds(rendered[overlay], "Deployment")["simkim-gateway"]
        env = {e["name"]: e["value"] for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["SAMBANG_SIMKIM_GATEWAY_CAPTURE_URL"] == "http://capture:8002"
        simulator = env.get("SAMBANG_SIMKIM_GATEWAY_SIMKIM_URL")
        assert simulator == ("http://simkim-simulator:8099" if overlay == "development" else None), overlay


def test_the_prometheus_scrape_policy_beside_the_overlays_is_valid(validate: Validate) -> None:
    # deploy/observability/networkpolicy.yaml is applied by hand beside an overlay (the monitoring
    # namespace's name is the cluster's): valid, and it opens only the services' and engines' ports.
    import yaml  # type: ignore[import-untyped]

    path = Path(__file__).resolve().parents[2] / "deploy" / "observability" / "networkpolicy.yaml"
    [policy] = list(yaml.safe_load_all(path.read_text()))
    assert not validate(policy)
    ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert {d.port for d in PRODUCTION} <= ports
    assert policy["spec"]["policyTypes"] == ["Ingress"]
