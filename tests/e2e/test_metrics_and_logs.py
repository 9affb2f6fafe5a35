"""What an operator reads of a running worker process: `/metrics` counters that move with
the events it handles, the process, Python and build metrics, and JSON log lines that say
which record they are about.

Each worker is the real `backorder-worker run` process on an HTTP port chosen here
(tests/e2e/worker_http.py).
"""

from __future__ import annotations

from importlib.metadata import version

from backorder_worker.bootstrap import input_topics
from tests.e2e.support import World
from tests.e2e.worker_http import json_logs, start, wait_for, wait_ready


def test_the_counters_move_with_what_the_worker_applies_releases_and_dead_letters(
    world: World,
) -> None:
    _, endpoint = start(world)
    wait_ready(endpoint)
    topics = world.settings.topics
    assert endpoint.get("/healthz") == (200, "ok\n")
    assert endpoint.value("backorder_releases_total", release="CURRENT") == 0

    world.wait_applied(
        world.publish(
            [
                (
                    "location.updated",
                    {"location_id": "A", "active": True, "fulfillment_types": ["STH"]},
                ),
                ("listing.updated", {"sku": "KTP", "out_of_stock_behaviour": "BACKORDER"}),
                (
                    "shipment.created",
                    {
                        "shipment_id": "S-1",
                        "order_id": "O-1",
                        "fulfillment_type": "STH",
                        "lines": [{"line_id": "S-1-1", "sku": "KTP", "quantity": 2}],
                    },
                ),
            ]
        )
    )
    created = {"topic": topics.shipments, "type": "shipment.created", "outcome": "applied"}
    wait_for(
        "shipment.created counted as applied",
        lambda: endpoint.value("backorder_events_total", **created) == 1,
    )
    assert endpoint.value("backorder_unroutable_total", state="WAITING") == 1
    assert endpoint.value("backorder_releases_total", release="CURRENT") == 0

    world.publish([("stock.stowed", {"location_id": "A", "sku": "KTP", "quantity": 2})])
    wait_for(
        "the release counted",
        lambda: endpoint.value("backorder_releases_total", release="CURRENT") == 1,
    )
    stowed = {"topic": topics.stock_stowed, "type": "stock.stowed", "outcome": "applied"}
    assert endpoint.value("backorder_events_total", **stowed) == 1

    world.publish_raw(topics.stock_stowed, b"KTP", b"{not json")
    wait_for(
        "the dead letter counted",
        lambda: endpoint.value("backorder_dead_letters_total", error_type="malformed-json") == 1,
    )
    invalid = {"topic": topics.stock_stowed, "type": "unknown", "outcome": "invalid"}
    assert endpoint.value("backorder_events_total", **invalid) == 1

    wait_for(
        "partitions reported",
        lambda: endpoint.value("backorder_partitions_assigned") > 0,
    )
    samples = endpoint.samples()
    lag = [dict(labels) for name, labels in samples if name == "backorder_consumer_lag"]
    assert len(lag) == samples[("backorder_partitions_assigned", frozenset())]
    assert {series["topic"] for series in lag} <= set(input_topics(world.settings))
    assert samples[("backorder_batch_size_count", frozenset())] >= 3
    assert samples[("backorder_processing_seconds_count", frozenset({("scope", "batch")}))] >= 3
    for gauge in ("waiting_shipments", "oldest_waiting_age_seconds", "outbox_backlog"):
        assert (f"backorder_{gauge}", frozenset()) in samples


def test_the_process_python_and_build_metrics_are_exported(world: World) -> None:
    _, endpoint = start(world)
    wait_ready(endpoint)
    samples = endpoint.samples()
    names = {name for name, _ in samples}

    assert {"process_resident_memory_bytes", "process_cpu_seconds_total"} <= names
    assert {"process_open_fds", "process_start_time_seconds", "python_info"} <= names
    (build,) = [dict(labels) for name, labels in samples if name == "backorder_build_info"]
    assert build["version"] == version("backorder-worker")


def test_log_lines_about_a_record_carry_its_event_id_topic_partition_and_offset(
    world: World,
) -> None:
    worker, endpoint = start(world)
    wait_ready(endpoint)
    topic = world.settings.topics.shipments

    world.publish_raw(topic, b"O-9", b"{not json")
    unknown = ("shipment.cancelled", {"shipment_id": "S-9", "order_id": "O-9"})
    world.publish([unknown], event_ids=["cancel-S-9"])
    wait_for(
        "both dead-lettered",
        lambda: (
            sum(
                endpoint.value("backorder_dead_letters_total", error_type=error)
                for error in ("malformed-json", "unknown-shipment")
            )
            == 2
        ),
    )

    by_message = {line["msg"]: line for line in json_logs(worker) if line.get("topic") == topic}
    malformed, rejected = by_message["invalid message"], by_message["event rejected"]
    assert malformed["event_id"] is None  # no id can be read from bytes that are not JSON
    assert (malformed["partition"], malformed["offset"]) == (rejected["partition"], 0)
    assert malformed["error_type"] == "malformed-json"
    assert rejected["event_id"] == "cancel-S-9" and rejected["offset"] == 1
    assert rejected["error_type"] == "unknown-shipment"
    assert all(line["level"] == "WARNING" for line in (malformed, rejected))
