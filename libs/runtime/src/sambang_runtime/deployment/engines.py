"""The engines the overlays run on, as their operators' custom resources.

- RabbitMQ: a ``RabbitmqCluster`` (RabbitMQ Cluster Operator, rabbitmq.com/v1beta1) loading
  ``definitions.json`` at start from the Secret ``sambang-rabbitmq-definitions`` (``make secrets`` writes
  it with each service user's password hash), so every queue, binding and user exists before a service
  connects; quorum queues grow to every node (membership reconciliation).
- PostgreSQL: CloudNativePG ``Cluster``s (postgresql.cnpg.io/v1), a role and a database per service
  (the role's password from the Secret ``sambang-<service>-db``), ``Pooler``s (PgBouncer) and
  ``ScheduledBackup``s to object storage (``barmanObjectStore``, the method the vendored CRD defaults to).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .capacity import Resources
from .kubernetes import Manifest, from_namespace, from_pods, tcp
from .names import CNPG_NAMESPACE, KEDA_NAMESPACE, RABBITMQ_CLUSTER, RABBITMQ_OPERATOR_NAMESPACE, database_role

#: The Secret holding ``deploy/secrets/rabbitmq-definitions.json`` (key ``definitions.json``).
DEFINITIONS_SECRET = "sambang-rabbitmq-definitions"  # noqa: S105 - a Secret's name
DEFINITIONS_DIR = "/etc/rabbitmq/definitions"
#: Object storage for base backups and WAL (S3 or an S3-compatible store such as MinIO on premises), and
#: the Secret with its keys (``ACCESS_KEY_ID``, ``ACCESS_SECRET_KEY``). Placeholders an operator sets.
BACKUP_BUCKET = "s3://sambang-backups"
BACKUP_ENDPOINT = "https://s3.example.go.id"
BACKUP_SECRET = "sambang-backup-s3"  # noqa: S105 - a Secret's name
#: Every night at 01:00 (CloudNativePG's schedule has seconds first); WAL is archived continuously.
BACKUP_SCHEDULE = "0 0 1 * * *"
BACKUP_RETENTION = "30d"
AMQP_PORTS = (5672, 5671)
POSTGRES_PORT = 5432
#: CloudNativePG's instance manager (the operator asks it for status and promotes through it).
CNPG_STATUS_PORT = 8000
RABBITMQ_MANAGEMENT_PORT = 15672


def db_secret(service: str) -> str:
    """The basic-auth Secret with a service's PostgreSQL role and password (deploy/README.md)."""
    return f"sambang-{service}-db"


def _restricted(name: str) -> Manifest:
    """A container override meeting Pod Security ``restricted`` (the operator's defaults do not say so)."""
    return {
        "name": name,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def rabbitmq_cluster(replicas: int, resources: Resources, storage: str) -> Manifest:
    """A RabbitmqCluster loading the definitions at start; with three nodes, quorum queues on all three."""
    config = [
        f"load_definitions = {DEFINITIONS_DIR}/definitions.json",
        # A restart with unchanged definitions skips the import (it would reset nothing, but takes time).
        "definitions.skip_if_unchanged = true",
    ]
    if replicas > 1:
        config += [
            # Definitions may be imported while the other nodes are still joining: quorum queues then
            # start with fewer members. Reconciliation adds every node up to the target, and again after
            # a node is replaced, so each queue keeps its three replicas.
            "quorum_queue.continuous_membership_reconciliation.enabled = true",
            f"quorum_queue.continuous_membership_reconciliation.target_group_size = {replicas}",
            # The minority side of a partition stops rather than accepting what the majority never sees.
            "cluster_partition_handling = pause_minority",
        ]
    spec: Manifest = {
        "replicas": replicas,
        "resources": resources.as_k8s(),
        "persistence": {"storage": storage},
        "rabbitmq": {"additionalConfig": "\n".join(config) + "\n"},
        "override": {
            "statefulSet": {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                _restricted("rabbitmq")
                                | {
                                    "volumeMounts": [
                                        {"name": "definitions", "mountPath": DEFINITIONS_DIR, "readOnly": True}
                                    ]
                                }
                            ],
                            "initContainers": [_restricted("setup-container")],
                            "volumes": [
                                {
                                    "name": "definitions",
                                    "secret": {
                                        "secretName": DEFINITIONS_SECRET,
                                        "items": [{"key": "definitions.json", "path": "definitions.json"}],
                                    },
                                }
                            ],
                        }
                    }
                }
            }
        },
    }
    if replicas > 1:
        # One node per machine: losing a machine loses one replica of each queue, never a majority.
        spec["affinity"] = {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "labelSelector": {"matchLabels": {"app.kubernetes.io/name": RABBITMQ_CLUSTER}},
                        "topologyKey": "kubernetes.io/hostname",
                    }
                ]
            }
        }
    return {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "RabbitmqCluster",
        "metadata": {"name": RABBITMQ_CLUSTER, "labels": {"app.kubernetes.io/part-of": "sambang"}},
        "spec": spec,
    }


def broker_policy(services: Sequence[str]) -> Manifest:
    """The broker only from the services (and KEDA, which reads queue depths as each service's own user),
    its nodes from each other (Erlang distribution, quorum replication), its operator on the management
    port."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "rabbitmq", "labels": {"app.kubernetes.io/part-of": "sambang"}},
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": RABBITMQ_CLUSTER}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [from_pods(*services)], "ports": tcp(*AMQP_PORTS)},
                {"from": [from_pods(RABBITMQ_CLUSTER)]},
                {"from": [from_namespace(RABBITMQ_OPERATOR_NAMESPACE)], "ports": tcp(RABBITMQ_MANAGEMENT_PORT)},
                {"from": [from_namespace(KEDA_NAMESPACE)], "ports": tcp(*AMQP_PORTS)},
            ],
        },
    }


def _revoke(role: str) -> list[str]:
    return [f"REVOKE ALL ON DATABASE {role} FROM PUBLIC;", f"GRANT CONNECT, TEMPORARY ON DATABASE {role} TO {role};"]


def postgres_cluster(
    name: str,
    services: Sequence[str],
    *,
    instances: int,
    resources: Resources,
    storage: str,
) -> Manifest:
    """A CloudNativePG Cluster holding the databases of ``services``, each owned by its role, nobody else
    allowed to connect (as ``init.sh`` does in compose). The first database is initdb's; the others are
    created after it, their roles given LOGIN and a password by ``managed.roles``."""
    first, *others = services
    sql = [f"CREATE ROLE {database_role(s)};" for s in others]
    sql += [f"CREATE DATABASE {database_role(s)} OWNER {database_role(s)};" for s in others]
    for s in services:
        sql += _revoke(database_role(s))
    spec: Manifest = {
        "instances": instances,
        "imageName": "ghcr.io/cloudnative-pg/postgresql:16.9",
        "primaryUpdateStrategy": "unsupervised",
        "storage": {"size": storage},
        "resources": resources.as_k8s(),
        "bootstrap": {
            "initdb": {
                "database": database_role(first),
                "owner": database_role(first),
                "secret": {"name": db_secret(first)},
                "postInitSQL": sql,
            }
        },
        "postgresql": {"parameters": {"password_encryption": "scram-sha-256", "max_connections": "300"}},
        "backup": {
            "barmanObjectStore": {
                "destinationPath": f"{BACKUP_BUCKET}/{name}",
                "endpointURL": BACKUP_ENDPOINT,
                "s3Credentials": {
                    "accessKeyId": {"name": BACKUP_SECRET, "key": "ACCESS_KEY_ID"},
                    "secretAccessKey": {"name": BACKUP_SECRET, "key": "ACCESS_SECRET_KEY"},
                },
                "wal": {"compression": "gzip"},
                "data": {"compression": "gzip"},
            },
            "retentionPolicy": BACKUP_RETENTION,
        },
    }
    if others:
        spec["managed"] = {
            "roles": [
                {
                    "name": database_role(s),
                    "ensure": "present",
                    "login": True,
                    "inherit": True,
                    "passwordSecret": {"name": db_secret(s)},
                }
                for s in others
            ]
        }
    if instances > 1:
        # One synchronous standby must confirm every commit (ANY 1 of the standbys): a failover loses no
        # committed booking or payment. "required": with no standby left, writes wait rather than risk it.
        spec["postgresql"]["synchronous"] = {"method": "any", "number": 1, "dataDurability": "required"}
        spec["affinity"] = {
            "enablePodAntiAffinity": True,
            "topologyKey": "kubernetes.io/hostname",
            "podAntiAffinityType": "required",
        }
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "sambang"}},
        "spec": spec,
    }


def pooler(cluster: str, instances: int) -> Manifest:
    """PgBouncer in front of a cluster's primary, in session mode.

    Transaction mode would break asyncpg: it prepares statements on its connection and would find them
    missing on the next transaction's server connection. Session mode keeps one server connection per
    client connection, which still caps what many replicas' pools open and hides a failover behind one
    address (``<cluster>-pooler``).
    """
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Pooler",
        "metadata": {"name": f"{cluster}-pooler", "labels": {"app.kubernetes.io/part-of": "sambang"}},
        "spec": {
            "cluster": {"name": cluster},
            "instances": instances,
            "type": "rw",
            "pgbouncer": {
                "poolMode": "session",
                "parameters": {"max_client_conn": "1000", "default_pool_size": "200"},
            },
        },
    }


def scheduled_backup(cluster: str) -> Manifest:
    """A nightly base backup of a cluster (WAL is archived continuously, so a restore reaches any moment)."""
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "ScheduledBackup",
        "metadata": {"name": f"{cluster}-nightly", "labels": {"app.kubernetes.io/part-of": "sambang"}},
        "spec": {
            "schedule": BACKUP_SCHEDULE,
            "cluster": {"name": cluster},
            "method": "barmanObjectStore",
            "backupOwnerReference": "self",
            "immediate": True,
        },
    }


def database_policy(cluster: str, services: Sequence[str], *, pooled: bool) -> list[Manifest]:
    """A database only from its service(s) (through the pooler when there is one), its own instances
    (replication) and the operator (the instance manager's port)."""
    clients: list[Any] = [from_pods(*services)]
    if pooled:
        clients = [{"podSelector": {"matchLabels": {"cnpg.io/poolerName": f"{cluster}-pooler"}}}]
    policies = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": cluster, "labels": {"app.kubernetes.io/part-of": "sambang"}},
            "spec": {
                "podSelector": {"matchLabels": {"cnpg.io/cluster": cluster}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": clients, "ports": tcp(POSTGRES_PORT)},
                    {"from": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": cluster}}}]},
                    {"from": [from_namespace(CNPG_NAMESPACE)], "ports": tcp(CNPG_STATUS_PORT, POSTGRES_PORT)},
                ],
            },
        }
    ]
    if pooled:
        policies.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"{cluster}-pooler", "labels": {"app.kubernetes.io/part-of": "sambang"}},
                "spec": {
                    "podSelector": {"matchLabels": {"cnpg.io/poolerName": f"{cluster}-pooler"}},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [from_pods(*services)], "ports": tcp(POSTGRES_PORT)}],
                },
            }
        )
    return policies
