"""The kustomize base: what every Kubernetes installation of Sambang shares.

Per service a Deployment (probes, requests and limits, the ``restricted`` Pod Security profile), a
Service, a PodDisruptionBudget and a NetworkPolicy; the ``web`` Deployment for the clients; the
namespace, the ConfigMap, the Ingress with its cert-manager Certificate and a default-deny policy.
Databases and the broker are the overlays' (office: one node each; national: clusters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..service import ServiceDescriptor
from .capacity import BASE_REPLICAS, BASE_RESOURCES, WEB_RESOURCES, Resources
from .names import (
    ANY_ADDRESS,
    APP_UID,
    HEADER,
    IMAGE,
    INGRESS_NAMESPACE,
    NAMESPACE,
    SCRATCH,
    TLS_MOUNT,
    WEB_PORT,
    callers,
    development_only_path,
    is_development_value,
    module_of,
    production,
)
from .yamlout import dump

Manifest = dict[str, Any]

#: The pod network of the ingress controller in the base (kubeadm's and flannel's default); a cluster
#: with another pod CIDR overrides SAMBANG_TRUSTED_PROXIES in its overlay.
K8S_TRUSTED_PROXIES = "10.244.0.0/16"
#: The placeholder address of the base; each overlay sets its own (Ingress, Certificate, ConfigMap).
BASE_HOST = "sambang.example.go.id"
#: The Secret cert-manager writes the Ingress's certificate into (not ``sambang-tls``: that one is the
#: broker's CA for the services).
INGRESS_TLS_SECRET = "sambang-ingress-tls"  # noqa: S105 - a Secret's name
#: The issuer the Certificate asks; install one of that name (ACME or the ministry's CA), or patch it.
CERT_ISSUER = "sambang-issuer"
#: Photos are uploaded through the ingress: the same limit as nginx's ``client_max_body_size``.
BODY_SIZE = "6m"


def labels(name: str) -> dict[str, str]:
    """The labels every object of one Deployment carries."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "sambang"}


def selector(name: str) -> dict[str, dict[str, str]]:
    """The pods of one Deployment."""
    return {"matchLabels": {"app.kubernetes.io/name": name}}


def from_namespace(name: str) -> dict[str, Any]:
    """A NetworkPolicy peer: every pod of one namespace (the label Kubernetes sets on each namespace)."""
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def from_pods(*names: str) -> dict[str, Any]:
    """A NetworkPolicy peer: the pods of the named Deployments in this namespace."""
    return {
        "podSelector": {
            "matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": list(names)}]
        }
    }


def tcp(*ports: int) -> list[dict[str, Any]]:
    """NetworkPolicy ports."""
    return [{"protocol": "TCP", "port": p} for p in ports]


def container_security() -> Manifest:
    """The container half of Pod Security ``restricted`` (and a read-only root file system)."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": APP_UID,
        "runAsGroup": APP_UID,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security() -> Manifest:
    """The pod half of Pod Security ``restricted``: the image's numeric user, never root."""
    return {
        "runAsNonRoot": True,
        "runAsUser": APP_UID,
        "runAsGroup": APP_UID,
        "fsGroup": APP_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _probe(path: str, period: int, failures: int) -> Manifest:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def deployment(
    name: str,
    port: int,
    command: list[str],
    *,
    env: Sequence[tuple[str, str]],
    env_from: list[Manifest],
    resources: Resources,
    ready_path: str = "/readyz",
) -> Manifest:
    """One Deployment of the one image: probes, limits, restricted security, a writable /tmp only."""
    mounts: list[Manifest] = [{"name": "tmp", "mountPath": SCRATCH}]
    volumes: list[Manifest] = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    if env_from:
        # The CA of an amqps:// broker (SAMBANG_AMQP_URL ...?cafile=/etc/sambang/tls/ca.pem), when given.
        mounts.insert(0, {"name": "tls", "mountPath": TLS_MOUNT, "readOnly": True})
        volumes.insert(0, {"name": "tls", "secret": {"secretName": "sambang-tls", "optional": True}})
    container: Manifest = {
        "name": name,
        "image": f"{IMAGE}:latest",
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "ports": [{"containerPort": port, "name": "http", "protocol": "TCP"}],
    }
    if env_from:
        container["envFrom"] = env_from
    container |= {
        "env": [{"name": k, "value": v} for k, v in env],
        # Migrations run on start: up to five minutes before liveness counts.
        "startupProbe": _probe("/healthz", 5, 60),
        "readinessProbe": _probe(ready_path, 5, 3),
        "livenessProbe": _probe("/healthz", 10, 3),
        "resources": resources.as_k8s(),
        "securityContext": container_security(),
        "volumeMounts": mounts,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {
            "replicas": BASE_REPLICAS,
            "revisionHistoryLimit": 5,
            "selector": selector(name),
            # One new pod at a time, none taken away before its successor is ready.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": labels(name)},
                "spec": {
                    # No service calls the Kubernetes API.
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security(),
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def service(name: str, port: int) -> Manifest:
    """The ClusterIP Service of one Deployment."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"port": port, "targetPort": "http", "name": "http", "protocol": "TCP"}],
        },
    }


def disruption_budget(name: str) -> Manifest:
    """At most one pod of a Deployment evicted at a time (also lets a one-replica office drain a node)."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {"maxUnavailable": 1, "selector": selector(name)},
    }


def network_policy(name: str, port: int, peers: Sequence[str], *, from_ingress: bool = True) -> Manifest:
    """Who may open a connection to one Deployment: the ingress controller (when the Ingress routes to it)
    and the services that call it (``names.callers``). L3/L4 only: a path such as ``/internal`` is not
    seen here (deploy/README.md)."""
    rules: list[Manifest] = []
    if from_ingress:
        rules.append({"from": [from_namespace(INGRESS_NAMESPACE)], "ports": tcp(port)})
    if peers:
        rules.append({"from": [from_pods(*peers)], "ports": tcp(port)})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {"podSelector": selector(name), "policyTypes": ["Ingress"], "ingress": rules},
    }


def service_objects(d: ServiceDescriptor, services: Sequence[ServiceDescriptor]) -> list[Manifest]:
    """Deployment, Service, PodDisruptionBudget and NetworkPolicy of one service."""
    # Peers by service name; never the simulator's URL here: an explicit env wins over the Secrets, so it
    # would hide the real SIMKIM set in sambang-secrets (the development overlay adds it).
    peers = [(k, v) for k, v in d.deploy_env if not is_development_value(v, services)]
    env = [("SAMBANG_PORT", str(d.port)), ("SAMBANG_HOST", ANY_ADDRESS), *peers]
    env_from: list[Manifest] = [
        {"configMapRef": {"name": "sambang-config"}},
        {"secretRef": {"name": "sambang-secrets"}},
        # Its own SAMBANG_DATABASE_URL and SAMBANG_AMQP_URL (make secrets: deploy/secrets/<service>.env).
        {"secretRef": {"name": f"sambang-{d.name}"}},
    ]
    return [
        deployment(
            d.name,
            d.port,
            ["python", "-m", module_of(d.name)],
            env=env,
            env_from=env_from,
            resources=BASE_RESOURCES,
        ),
        service(d.name, d.port),
        disruption_budget(d.name),
        network_policy(d.name, d.port, callers(d, services), from_ingress=bool(d.public_prefixes)),
    ]


def k8s_service(d: ServiceDescriptor, services: Sequence[ServiceDescriptor] = ()) -> str:
    """``<service>.yaml``: Deployment, Service, PodDisruptionBudget and NetworkPolicy of one service."""
    return dump(*service_objects(d, services or [d]), comment=HEADER)


def web_objects() -> list[Manifest]:
    """The web clients (clients/ in the image) alone: the Ingress routes the API prefixes itself."""
    name = "web"
    return [
        deployment(
            name,
            WEB_PORT,
            ["python", "-m", "sambang_runtime.frontdoor", "--clients-only"],
            env=[("SAMBANG_PORT", str(WEB_PORT)), ("SAMBANG_HOST", ANY_ADDRESS)],
            env_from=[],
            resources=WEB_RESOURCES,
            # Serving files needs no database: alive is ready.
            ready_path="/healthz",
        ),
        service(name, WEB_PORT),
        disruption_budget(name),
        network_policy(name, WEB_PORT, ()),
    ]


def ingress_paths(services: Sequence[ServiceDescriptor], *, development: bool = False) -> list[Manifest]:
    """Prefixes to services, no rewriting, never ``/internal/`` (``public_prefixes``). Outside development
    neither the simulator nor the mailbox; in development only those (the base routes the rest)."""
    paths = []
    for d in services:
        for p in d.public_prefixes:
            dev = d.development_only or development_only_path(p)
            if dev != development:
                continue
            paths.append(
                {"path": p, "pathType": "Prefix", "backend": {"service": {"name": d.name, "port": {"number": d.port}}}}
            )
    if not development:
        # The longest prefix wins, so "/" takes only what no service owns: the clients' pages and files.
        paths.append(
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": WEB_PORT}}}}
        )
    return paths


def ingress(name: str, paths: list[Manifest], host: str = BASE_HOST) -> Manifest:
    """An Ingress of ingress-nginx: TLS from cert-manager, the upload body size."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/part-of": "sambang"},
            "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": BODY_SIZE},
        },
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [host], "secretName": INGRESS_TLS_SECRET}],
            "rules": [{"host": host, "http": {"paths": paths}}],
        },
    }


def certificate(host: str = BASE_HOST) -> Manifest:
    """The Ingress's certificate (cert-manager renews it; the alert on its expiry is the observability's)."""
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "sambang", "labels": {"app.kubernetes.io/part-of": "sambang"}},
        "spec": {
            "secretName": INGRESS_TLS_SECRET,
            "dnsNames": [host],
            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": CERT_ISSUER},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "duration": "2160h",
            "renewBefore": "720h",
        },
    }


def k8s_ingress(services: Sequence[ServiceDescriptor]) -> str:
    """``ingress.yaml``: the Certificate and the Ingress routing the prefix table."""
    return dump(certificate(), ingress("sambang", ingress_paths(services)), comment=HEADER)


def namespace() -> Manifest:
    """The namespace, Pod Security ``restricted`` enforced (a pod that is not is refused)."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }


def default_deny() -> Manifest:
    """Nothing reaches a pod of the namespace unless a policy admits it. Egress stays open (SIMKIM, the
    mail relay, the banks, object storage for backups, the Kubernetes API for the operators' pods)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny-ingress", "labels": {"app.kubernetes.io/part-of": "sambang"}},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }


def config_map(host: str = BASE_HOST) -> Manifest:
    """What every service reads besides its Secrets."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "sambang-config", "labels": {"app.kubernetes.io/part-of": "sambang"}},
        "data": {
            "SAMBANG_ENVIRONMENT": "production",
            "SAMBANG_LOG_JSON": "true",
            # The ingress controller's pods, whose X-Forwarded-For entries the services believe (public
            # look-ups are rate limited per client): set your cluster's pod CIDR, or narrower, in an overlay.
            "SAMBANG_TRUSTED_PROXIES": K8S_TRUSTED_PROXIES,
            # Arrival links in e-mails point here: the address of the Ingress.
            "SAMBANG_PUBLIC_BASE_URL": f"https://{host}",
        },
    }


K8S_CONFIG_COMMENT = (
    HEADER
    + "# Secrets (make secrets, then deploy/README.md): sambang-secrets from deploy/.env (the keys every service\n"
    + "# shares) and sambang-<service> from deploy/secrets/<service>.env (its own SAMBANG_DATABASE_URL and\n"
    + "# SAMBANG_AMQP_URL, with passwords no other service holds).\n"
)


def kustomization(resources: Sequence[str], **extra: Any) -> str:
    """A kustomization.yaml."""
    body: Manifest = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
    body |= {k: v for k, v in extra.items() if k == "namespace"}
    body["resources"] = list(resources)
    body |= {k: v for k, v in extra.items() if k != "namespace"}
    return dump(body, comment=HEADER)


def base_files(services: Sequence[ServiceDescriptor]) -> dict[str, str]:
    """Every file of ``deploy/k8s/base``."""
    prod = production(services)
    files = {
        "namespace.yaml": dump(namespace(), default_deny(), comment=HEADER),
        "config.yaml": dump(config_map(), comment=K8S_CONFIG_COMMENT),
        "web.yaml": dump(*web_objects(), comment=HEADER),
        "ingress.yaml": k8s_ingress(services),
        **{f"{d.name}.yaml": k8s_service(d, services) for d in prod},
    }
    order = ["namespace.yaml", "config.yaml", *[f"{d.name}.yaml" for d in prod], "web.yaml", "ingress.yaml"]
    files["kustomization.yaml"] = kustomization(order, namespace=NAMESPACE)
    return files
