"""Bus throughput on a 3-node RabbitMQ cluster beside one node, in the same run.

Both brokers are this run's own (``sambang_runtime.ownservers``), started fresh with the same settings,
so the only difference is replication: on the cluster every quorum queue has a replica on each of the
three nodes, and the broker confirms a publish only once a majority (two) has written it. On each broker
the same two paths as bench/bus.py: raw aio-pika (publish with confirms, consume-and-ack, one quorum
queue, on the first node) and ours (outbox -> relay -> broker -> consumer with inbox, the services'
node-list URL), throughput of N events, then latency at a fixed offered rate. The last line is one JSON
object; docs/performance.md and docs/capacity.md quote it.

    python bench/cluster.py [--events 10000] [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
from typing import Any

import _harness as h
import bus
from sambang_runtime.bus.nodes import broker_nodes
from sambang_runtime.ownservers import own_rabbit, rabbit_cluster


async def on_broker(url: str, args: argparse.Namespace, run: str) -> dict[str, Any]:
    """Raw and ours on the broker at ``url`` (one node, or a node list)."""
    bus.AMQP = url
    raw = await bus.raw_throughput(broker_nodes(url)[0], args.events, run)
    h.phase("raw_throughput", raw)
    ours, latency = await bus.ours(args.events, args.rate, args.seconds, run)
    h.phase("ours", {"throughput": ours, "latency": latency})
    return {"raw": raw, "ours": {**ours, "latency": latency}}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10000)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    bus.PG = h.pg_url()
    run = h.run_id()
    with own_rabbit(name="sambang-bench") as one:
        single = await on_broker(one.url, args, f"{run}a")
    with rabbit_cluster(3) as three:
        clustered = await on_broker(three.url, args, f"{run}b")
        replicas = three.quorum_members(f"bench.{run}b.benchconsumer")
    ours_ratio = clustered["ours"]["events_per_second"] / single["ours"]["events_per_second"]
    raw_ratio = clustered["raw"]["events_per_second"] / single["raw"]["events_per_second"]
    h.report(
        {
            "bench": "cluster",
            "events": args.events,
            "one_node": single,
            "three_nodes": {**clustered, "quorum_replicas": replicas},
            "three_to_one": {"ours": round(ours_ratio, 3), "raw": round(raw_ratio, 3)},
            # Replication costs: what we ask is that the cluster keeps most of one node's throughput
            # and the fixed-rate latency stays within the bus's own goal.
            "goals": {"ours_three_to_one_at_least": 0.5, "p99_ms_at_200_per_s_at_most": 100},
            "pass": ours_ratio >= 0.5 and clustered["ours"]["latency"]["p99_ms"] <= 100,
        }
    )


if __name__ == "__main__":
    h.main(main, vhost=False)
