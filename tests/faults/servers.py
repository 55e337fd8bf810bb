"""The fault suite's own servers, which it stops, kills and starts at will (``sambang_runtime.ownservers``).

The shared servers on 5432/5672 serve other runs and are never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sambang_runtime.ownservers import (
    OwnPostgres,
    OwnRabbit,
    PostgresPair,
    RabbitCluster,
    pick_port,
    postgres_pair,
    rabbit_cluster,
)

__all__ = [
    "OwnPostgres",
    "OwnRabbit",
    "PostgresPair",
    "RabbitCluster",
    "own_servers",
    "postgres_pair",
    "rabbit_cluster",
]


@contextlib.contextmanager
def own_servers() -> Iterator[tuple[OwnPostgres, OwnRabbit]]:
    """A PostgreSQL cluster and a RabbitMQ node of this run's own; both stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="sambang-faults-"))
    os.chmod(root, 0o755)  # noqa: S103 - the postgres user walks into its folder
    pg = OwnPostgres(root / "pg", pick_port(int(os.environ.get("SAMBANG_FAULTS_PG_PORT", "55432"))))
    mq_port = pick_port(int(os.environ.get("SAMBANG_FAULTS_AMQP_PORT", "5682")))
    mq = OwnRabbit(root / "rabbitmq", mq_port, pick_port(mq_port + 20000))
    try:
        pg.init()
        pg.start()
        mq.init()
        mq.start()
        yield pg, mq
    finally:
        with contextlib.suppress(Exception):
            mq.stop()
        with contextlib.suppress(Exception):
            pg.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
