"""The kustomize overlays: development (a test cluster), office (one office) and national (151 offices).

- ``deploy/k8s/development``: the base plus the SIMKIM simulator, an Ingress for the simulator and the
  mailbox, every service in development.
- ``deploy/k8s/overlays/office``: one replica each, small requests, a one-node RabbitmqCluster and one
  one-instance CloudNativePG Cluster holding every service's database (one office's load is small: one
  PostgreSQL to run, back up and restore, the services still kept apart by their own roles and
  databases, nobody else allowed to connect), the office's own address.
- ``deploy/k8s/overlays/national``: a three-node RabbitmqCluster, a three-instance CloudNativePG Cluster
  per service (synchronous standby, PgBouncer, nightly backups: a service's failover, load or restore
  touches no other's), KEDA ScaledObjects on each consuming service's queue depth and CPU, an HPA on CPU
  for the web clients, replica floors and ceilings from ``capacity.NATIONAL``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..service import ServiceDescriptor
from .capacity import (
    CPU_TARGET_PERCENT,
    NATIONAL,
    NATIONAL_DB_INSTANCES,
    NATIONAL_DB_RESOURCES,
    NATIONAL_DB_RESOURCES_BY_SERVICE,
    NATIONAL_DB_STORAGE,
    NATIONAL_POOLER_INSTANCES,
    NATIONAL_RABBITMQ_REPLICAS,
    NATIONAL_RABBITMQ_RESOURCES,
    OFFICE_DB_RESOURCES,
    OFFICE_DB_STORAGE,
    OFFICE_RABBITMQ_RESOURCES,
    OFFICE_REPLICAS,
    OFFICE_RESOURCES,
    OFFICE_WEB_RESOURCES,
    Resources,
)
from .engines import (
    broker_policy,
    database_policy,
    pooler,
    postgres_cluster,
    rabbitmq_cluster,
    scheduled_backup,
)
from .kubernetes import BASE_HOST, Manifest, ingress, ingress_paths, k8s_service, kustomization
from .names import HEADER, NAMESPACE, consumes, is_development_value, production, queue_of
from .yamlout import dump

#: The address of one office's installation (a placeholder: set the office's own, e.g. with
#: ``kustomize edit`` in a copy of the overlay, or a patch of your own on top).
OFFICE_HOST = "kantor.sambang.example.go.id"
#: The whole country's address.
NATIONAL_HOST = BASE_HOST
#: The office overlay's one PostgreSQL cluster; its primary's Service is ``<name>-rw``.
OFFICE_DB_CLUSTER = "sambang-db"


def national_db_cluster(service: str) -> str:
    """The national overlay's PostgreSQL cluster of one service; its pooler is ``<name>-pooler``."""
    return f"{service}-db"


def development_files(services: Sequence[ServiceDescriptor]) -> dict[str, str]:
    """Every file of ``deploy/k8s/development``."""
    dev_only = [d for d in services if d.development_only]
    files = {f"{d.name}.yaml": k8s_service(d, services) for d in dev_only}
    files["ingress.yaml"] = dump(
        ingress("sambang-development", ingress_paths(services, development=True)), comment=HEADER
    )
    patch = dump(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "sambang-config"},
            "data": {"SAMBANG_ENVIRONMENT": "development"},
        }
    )
    patches = [{"patch": patch}]
    for d in services:
        # The simulator's URL, which the base leaves out (production sets the real SIMKIM in its Secret).
        extra = [{"name": k, "value": v} for k, v in d.deploy_env if is_development_value(v, services)]
        if extra and not d.development_only:
            env_patch = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": d.name},
                "spec": {"template": {"spec": {"containers": [{"name": d.name, "env": extra}]}}},
            }
            patches.append({"patch": dump(env_patch)})
    files["kustomization.yaml"] = kustomization(
        ["../base", *[f"{d.name}.yaml" for d in dev_only], "ingress.yaml"],
        namespace=NAMESPACE,
        patches=patches,
    )
    return files


def _sizing_patch(name: str, replicas: int, resources: Resources) -> dict[str, Any]:
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": name, "resources": resources.as_k8s()}]}},
        },
    }
    return {"patch": dump(patch)}


def _host_patches(host: str) -> list[dict[str, Any]]:
    """The overlay's address in the Ingress, its Certificate and the arrival links (the ConfigMap)."""

    def ops(*pairs: tuple[str, str]) -> str:
        return dump([{"op": "replace", "path": path, "value": value} for path, value in pairs])

    return [
        {
            "target": {"kind": "Ingress", "name": "sambang"},
            "patch": ops(("/spec/rules/0/host", host), ("/spec/tls/0/hosts/0", host)),
        },
        {"target": {"kind": "Certificate", "name": "sambang"}, "patch": ops(("/spec/dnsNames/0", host))},
        {
            "target": {"kind": "ConfigMap", "name": "sambang-config"},
            "patch": ops(("/data/SAMBANG_PUBLIC_BASE_URL", f"https://{host}")),
        },
    ]


def office_files(services: Sequence[ServiceDescriptor]) -> dict[str, str]:
    """Every file of ``deploy/k8s/overlays/office``."""
    names = [d.name for d in production(services)]
    files = {
        "rabbitmq.yaml": dump(
            rabbitmq_cluster(1, OFFICE_RABBITMQ_RESOURCES, "10Gi"), broker_policy(names), comment=HEADER
        ),
        "postgres.yaml": dump(
            postgres_cluster(
                OFFICE_DB_CLUSTER, names, instances=1, resources=OFFICE_DB_RESOURCES, storage=OFFICE_DB_STORAGE
            ),
            scheduled_backup(OFFICE_DB_CLUSTER),
            *database_policy(OFFICE_DB_CLUSTER, names, pooled=False),
            comment=HEADER
            + "# One PostgreSQL for the office: a database and a role per service (make secrets --postgres\n"
            + f"# {OFFICE_DB_CLUSTER}-rw:5432), one instance, a nightly backup and continuous WAL archiving.\n",
        ),
    }
    patches = [_sizing_patch(n, OFFICE_REPLICAS, OFFICE_RESOURCES) for n in names]
    patches.append(_sizing_patch("web", OFFICE_REPLICAS, OFFICE_WEB_RESOURCES))
    files["kustomization.yaml"] = kustomization(
        ["../../base", "rabbitmq.yaml", "postgres.yaml"],
        namespace=NAMESPACE,
        patches=[*patches, *_host_patches(OFFICE_HOST)],
    )
    return files


def _trigger_authentication(service: str) -> Manifest:
    """KEDA reads the queue's depth as the service itself: its own broker URL (its user may read its queue)."""
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {"name": f"{service}-rabbitmq", "labels": {"app.kubernetes.io/part-of": "sambang"}},
        "spec": {"secretTargetRef": [{"parameter": "host", "name": f"sambang-{service}", "key": "SAMBANG_AMQP_URL"}]},
    }


def _scaled_object(d: ServiceDescriptor) -> Manifest:
    """Replicas of a consuming service from its queue's depth and its CPU, between the table's bounds.
    One ScaledObject with both triggers: KEDA owns the HPA it makes, and a second HPA on the same
    Deployment would fight it."""
    scale = NATIONAL[d.name]
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": d.name, "labels": {"app.kubernetes.io/part-of": "sambang"}},
        "spec": {
            "scaleTargetRef": {"name": d.name},
            "minReplicaCount": scale.minimum,
            "maxReplicaCount": scale.maximum,
            "pollingInterval": 10,
            "cooldownPeriod": 300,
            "triggers": [
                {
                    "type": "rabbitmq",
                    "metadata": {
                        "protocol": "amqp",
                        "queueName": queue_of(d),
                        "mode": "QueueLength",
                        "value": str(scale.queue_per_replica),
                    },
                    "authenticationRef": {"name": f"{d.name}-rabbitmq"},
                },
                {"type": "cpu", "metricType": "Utilization", "metadata": {"value": str(CPU_TARGET_PERCENT)}},
            ],
        },
    }


def _hpa(name: str) -> Manifest:
    """CPU scaling of a Deployment that consumes nothing (the web clients)."""
    scale = NATIONAL[name]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "sambang"}},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": scale.minimum,
            "maxReplicas": scale.maximum,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": CPU_TARGET_PERCENT},
                    },
                }
            ],
        },
    }


def national_files(services: Sequence[ServiceDescriptor]) -> dict[str, str]:
    """Every file of ``deploy/k8s/overlays/national``."""
    prod = production(services)
    names = [d.name for d in prod]
    databases: list[Manifest] = []
    for n in names:
        cluster = national_db_cluster(n)
        databases += [
            postgres_cluster(
                cluster,
                [n],
                instances=NATIONAL_DB_INSTANCES,
                resources=NATIONAL_DB_RESOURCES_BY_SERVICE.get(n, NATIONAL_DB_RESOURCES),
                storage=NATIONAL_DB_STORAGE,
            ),
            pooler(cluster, NATIONAL_POOLER_INSTANCES),
            scheduled_backup(cluster),
            *database_policy(cluster, [n], pooled=True),
        ]
    autoscaling: list[Manifest] = []
    for d in prod:
        if consumes(d):
            autoscaling += [_trigger_authentication(d.name), _scaled_object(d)]
        else:
            autoscaling.append(_hpa(d.name))
    autoscaling.append(_hpa("web"))
    files = {
        "rabbitmq.yaml": dump(
            rabbitmq_cluster(NATIONAL_RABBITMQ_REPLICAS, NATIONAL_RABBITMQ_RESOURCES, "50Gi"),
            broker_policy(names),
            comment=HEADER,
        ),
        "postgres.yaml": dump(
            *databases,
            comment=HEADER
            + "# A PostgreSQL cluster per service (make secrets --postgres '{service}-db-pooler:5432'):\n"
            + "# three instances, one synchronous standby, PgBouncer in session mode, nightly backups.\n",
        ),
        "autoscaling.yaml": dump(*autoscaling, comment=HEADER),
    }
    patches = [_sizing_patch(n, NATIONAL[n].minimum, NATIONAL[n].resources) for n in [*names, "web"]]
    files["kustomization.yaml"] = kustomization(
        ["../../base", "rabbitmq.yaml", "postgres.yaml", "autoscaling.yaml"],
        namespace=NAMESPACE,
        patches=[*patches, *_host_patches(NATIONAL_HOST)],
    )
    return files
