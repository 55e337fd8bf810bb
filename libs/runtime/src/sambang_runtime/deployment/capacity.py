"""How many replicas of what: the one table the overlays read (docs/capacity.md cites it).

The national figures: 151 offices, 13,292 passport applications a day in 2023 (~550 an hour over a
working day), and the worst minute of the year, when a month's quota (~22 working days x 13,292 ≈
290,000 slots) is released and applicants book in its first minutes. Bookings go through ``queue``; each
booking then costs one bill (``payment``), one e-mail (``notifier``) and later one capture, one SIMKIM
submission. docs/capacity.md turns the per-replica rates measured by ``bench/`` into these numbers;
keep the reasons beside the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resources:
    """Requests and limits of one container (limits = what it may burst to; memory limit = OOM line)."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def as_k8s(self) -> dict[str, dict[str, str]]:
        """The ``resources`` stanza of a container."""
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(frozen=True)
class Scale:
    """Replicas of one Deployment in the national overlay, and why."""

    minimum: int
    maximum: int
    #: Messages waiting on its queue per replica before KEDA adds one (consumers only).
    queue_per_replica: int
    resources: Resources
    why: str


#: The base: two replicas (a rolling update or a lost node never empties a service).
BASE_REPLICAS = 2
BASE_RESOURCES = Resources("100m", "256Mi", "1", "512Mi")
WEB_RESOURCES = Resources("50m", "96Mi", "500m", "192Mi")

#: One office (Kelas II, ~100 applicants a day): one replica each, small requests, so the whole system
#: with its database and broker fits a two-core, 4 GiB node.
OFFICE_REPLICAS = 1
OFFICE_RESOURCES = Resources("50m", "192Mi", "500m", "384Mi")
OFFICE_WEB_RESOURCES = Resources("20m", "64Mi", "200m", "128Mi")

#: The national overlay: every Deployment's floor and ceiling. docs/capacity.md sets bench/'s measured
#: per-replica rates against the national peak behind these numbers: change both together.
NATIONAL: dict[str, Scale] = {
    "queue": Scale(
        6,
        30,
        200,
        Resources("500m", "512Mi", "2", "1Gi"),
        "every booking, check-in and status look-up; the quota release is a burst of bookings on it alone, "
        "so the floor carries an ordinary day at 151 offices and the ceiling the release minute",
    ),
    "payment": Scale(
        3,
        15,
        200,
        Resources("250m", "384Mi", "1", "768Mi"),
        "one bill per booking (queue.application.registered) plus the banks' webhooks; follows queue's "
        "burst a few seconds behind, through its queue, so it scales on queue depth",
    ),
    "capture": Scale(
        3,
        10,
        100,
        Resources("500m", "512Mi", "2", "1Gi"),
        "photos (6 MiB uploads), fingerprints and interviews at the counters of 151 offices: bounded by "
        "counters, not by the release; image checks are CPU-heavy",
    ),
    "simkim-gateway": Scale(
        2,
        6,
        100,
        Resources("250m", "384Mi", "1", "768Mi"),
        "one submission per completed application; SIMKIM is the bottleneck, more replicas only queue at "
        "its door (the gateway's breaker and retries pace it)",
    ),
    "notifier": Scale(
        3,
        20,
        500,
        Resources("250m", "384Mi", "1", "768Mi"),
        "one e-mail per booking and per arrival link: the release's bookings become a queue of mail; "
        "it also holds the officers' and displays' live streams (one connection each)",
    ),
    "web": Scale(
        3,
        10,
        0,
        Resources("100m", "128Mi", "500m", "256Mi"),
        "the web clients' static files (kiosks, displays, tablets, the booking pages), cached by browsers",
    ),
}
#: CPU use (of the request) at which the HPAs and the ScaledObjects' cpu triggers add a replica.
CPU_TARGET_PERCENT = 70

#: PostgreSQL instances per CloudNativePG Cluster (a primary and two standbys, one synchronous).
NATIONAL_DB_INSTANCES = 3
NATIONAL_DB_RESOURCES = Resources("1", "2Gi", "2", "2Gi")
#: Where one service's database needs more than that. The queue's primary takes every booking of the
#: quota release: bench/booking.py's raw floor (one booking = UPDATE slot + INSERT application in one
#: transaction) is ~1,900/s on two shared cores, about 1,000/s per core of PostgreSQL, and the release
#: asks ~4,900/s at its peak (docs/capacity.md): five cores busy, eight to stay clear of the synchronous
#: standby's round trips and the look-ups beside the rush.
NATIONAL_DB_RESOURCES_BY_SERVICE: dict[str, Resources] = {
    "queue": Resources("4", "8Gi", "8", "8Gi"),
}
NATIONAL_DB_STORAGE = "50Gi"
OFFICE_DB_RESOURCES = Resources("250m", "512Mi", "1", "1Gi")
OFFICE_DB_STORAGE = "10Gi"
#: PgBouncer pods in front of each national cluster (two: a drained node never cuts a service off).
NATIONAL_POOLER_INSTANCES = 2
#: RabbitMQ nodes: three, so a quorum queue survives losing one (a majority of 3 is 2).
NATIONAL_RABBITMQ_REPLICAS = 3
NATIONAL_RABBITMQ_RESOURCES = Resources("1", "2Gi", "2", "2Gi")
OFFICE_RABBITMQ_RESOURCES = Resources("250m", "512Mi", "1", "1Gi")
