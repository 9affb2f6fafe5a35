"""The relay's publish of a release burst alone: N outbox rows through ``KafkaPublisher``
to a Tansu broker of its own, for each producer batch size asked, alternating.

    python -m bench.publish_burst --records 10000 --batch-sizes 16384,262144 --rounds 3

Prints the seconds ``publish`` took (send, flush, acknowledgements) per batch size and
round. The records are 1.2 KB values keyed as releases are (one key each), over 4
partitions. No Postgres, no worker: the part of ``burst_10k_s`` the producer owns.
"""

from __future__ import annotations

import argparse
import time

from kafka.admin import KafkaAdminClient, NewTopic

from backorder_worker.adapters.kafka.producer import KafkaPublisher
from backorder_worker.devstack.tansu import TansuBroker
from backorder_worker.service_layer.ports import OutboxRow
from backorder_worker.settings import KafkaSettings

VALUE = b'{"x":"' + b"y" * 1200 + b'"}'


def rows(count: int, tag: str) -> list[OutboxRow]:
    return [
        OutboxRow(
            id=i, topic="burst", key=f"S{tag}-{i}".encode(), value=VALUE, headers=(), event_id=None
        )
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--batch-sizes", default="16384,262144")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(size) for size in args.batch_sizes.split(",")]
    with TansuBroker() as broker:
        KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers).create_topics(
            [NewTopic("burst", 4, 1)]
        )
        settings = KafkaSettings(bootstrap_servers=broker.bootstrap_servers)
        for round_ in range(args.rounds):
            for size in sizes:
                publisher = KafkaPublisher(settings, batch_bytes=size)
                publisher.publish(rows(50, f"warm{round_}-{size}"))
                started = time.perf_counter()
                acked = publisher.publish(rows(args.records, f"{round_}-{size}"))
                took = time.perf_counter() - started
                print(f"round {round_} batch_size={size}: {len(acked)} acked in {took:.2f} s")
                publisher.close()


if __name__ == "__main__":
    main()
