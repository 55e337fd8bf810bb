"""The committed deployment manifests are exactly what the installed services render."""

from __future__ import annotations

import json
from pathlib import Path

from sambang_runtime.deployment import render
from sambang_runtime.service import discover_services

ROOT = Path(__file__).resolve().parents[2]


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
        bound = {b["routing_key"] for b in definitions["bindings"] if b["destination"] == name}
        assert bound == set(handlers)


def test_each_stack_trusts_its_own_front_door_and_nginx_appends_to_x_forwarded_for() -> None:
    import ipaddress
    import re

    from sambang_runtime.settings import RuntimeSettings

    nginx = (ROOT / "deploy/compose/nginx.conf").read_text()
    assert "X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx and "$remote_addr" not in nginx
    compose = (ROOT / "deploy/compose/docker-compose.yml").read_text()
    front_door = ipaddress.ip_address(re.findall(r"ipv4_address: ([\d.]+)", compose)[0])
    network = re.search(r"subnet: ([\d./]+), ip_range: ([\d./]+)", compose)
    assert network is not None
    subnet, dynamic = (ipaddress.ip_network(n) for n in network.groups())
    # nginx's address is on the network and outside the range Docker hands out to other containers.
    assert front_door in subnet and front_door not in dynamic
    trusted = re.findall(r"SAMBANG_TRUSTED_PROXIES: (\S+)", compose)
    assert len(trusted) == len(discover_services()) and set(trusted) == {f"{front_door}/32"}
    k8s = re.search(r'SAMBANG_TRUSTED_PROXIES: "([^"]+)"', (ROOT / "deploy/k8s/base/config.yaml").read_text())
    assert k8s is not None and RuntimeSettings(trusted_proxies=k8s.group(1)).trusted_proxies


def test_every_stack_serves_the_web_clients_at_the_paths_no_service_owns() -> None:
    nginx = (ROOT / "deploy/compose/nginx.conf").read_text()
    assert "root /usr/share/sambang/clients;" in nginx and "try_files $uri $uri/ =404;" in nginx
    assert "Content-Security-Policy" in nginx
    compose = (ROOT / "deploy/compose/docker-compose.yml").read_text()
    assert "../../clients:/usr/share/sambang/clients:ro" in compose
    assert (ROOT / "clients/index.html").is_file()
    ingress = (ROOT / "deploy/k8s/base/ingress.yaml").read_text()
    assert "- path: /\n            pathType: Prefix\n            backend: {service: {name: web" in ingress
    web = (ROOT / "deploy/k8s/base/web.yaml").read_text()
    assert '"sambang_runtime.frontdoor", "--clients-only"' in web
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
