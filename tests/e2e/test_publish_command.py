"""`backorder-worker publish` as a process, with its friendly flags, against the broker and
a running worker: each of the eight input types arrives, is applied and has its effect; an
invalid invocation says what is wrong, exits non-zero and sends nothing.

The story: location A and SKU KTP on backorder; S-1 for 5 KTP waits; 2 stowed are not
enough; a stock level of 5 releases S-1; the picker finds 2 missing, so a remainder waits;
a purchase order for 2 in five days releases it as FUTURE. S-2, waiting for another SKU,
is cancelled.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backorder_worker.adapters.postgres.tables import SKU_WIDE
from tests.e2e.support import World

COMMAND = str(Path(sys.executable).parent / "backorder-worker")
PUBLISHED = re.compile(r"^published (\S+) (\S+) to (\S+)\[(\d+)\]@(\d+)$")


@dataclass(frozen=True)
class Published:
    event_type: str
    event_id: str
    topic: str


def run(world: World, *invocations: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """`backorder-worker ARGS` for each invocation, all at once; their results in order."""
    running = [
        subprocess.Popen(
            [COMMAND, *args],
            env=world.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in invocations
    ]
    done = []
    for process in running:
        out, err = process.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def apply(world: World, *invocations: list[str]) -> list[Published]:
    """Publishes with the command line (`publish TYPE FLAGS...` for each invocation) and
    waits until the worker has applied every event."""
    sent = []
    for args, done in zip(
        invocations, run(world, *(["publish", *a] for a in invocations)), strict=True
    ):
        assert done.returncode == 0, done.stderr
        match = PUBLISHED.match(done.stdout.strip())
        assert match and match[1] == args[0], done.stdout
        sent.append(Published(match[1], match[2], match[3]))
    world.wait_applied([published.event_id for published in sent], timeout_s=30)
    return sent


def state(world: World, shipment_id: str) -> str:
    [(found,)] = world.sql("select state from shipments where shipment_id = :s", s=shipment_id)
    return str(found)


def test_each_input_type_published_with_friendly_flags_is_applied_and_has_its_effect(
    world: World,
) -> None:
    world.start_worker()
    topics = world.settings.topics
    in_five_days = datetime.now(UTC).date() + timedelta(days=5)
    # Events whose order does not matter are published together, to keep it short.
    ktp2 = {"sku": "KTP2", "out_of_stock_behaviour": "BACKORDER", "future_inventory_enabled": False}
    listed = world.publish([("listing.updated", ktp2)])
    location, listing = apply(
        world,
        ["location.updated", "--location", "A", "--active", "--types", "STH", "--rank", "2"],
        ["listing.updated", "--sku", "KTP", "--behaviour", "BACKORDER", "--future"],
    )
    world.wait_applied(listed)
    assert location.topic == listing.topic == topics.catalog
    assert world.sql("select active, fulfillment_types, rank from locations") == [
        (True, ["STH"], 2)
    ]
    assert world.sql(
        "select sku, out_of_stock_behaviour, future_inventory_enabled from listings"
        " where location_id = :everywhere order by sku",
        everywhere=SKU_WIDE,
    ) == [("KTP", "BACKORDER", True), ("KTP2", "BACKORDER", False)]

    s1 = ["--shipment", "S-1", "--order", "O-1"]
    s2_line = {"line_id": "S-2-1", "sku": "KTP2", "quantity": 1}
    s2 = {"shipment_id": "S-2", "order_id": "O-2", "fulfillment_type": "STH", "lines": [s2_line]}
    world.wait_applied(world.publish([("shipment.created", s2)]))
    s1_lines = ["--line", "S-1-1:KTP:5", "--priority", "3"]
    [created] = apply(world, ["shipment.created", *s1, "--fulfillment", "STH", *s1_lines])
    assert created.topic == topics.shipments
    assert world.sql("select state, priority from shipments where shipment_id = 'S-1'") == [
        ("WAITING", 3)
    ]

    [stowed] = apply(world, ["stock.stowed", "--location", "A", "--sku", "KTP", "--quantity", "2"])
    assert stowed.topic == topics.stock_stowed
    assert world.sql("select sku, free from stock_positions") == [("KTP", 2)]
    assert state(world, "S-1") == "WAITING"  # 2 of 5

    as_of = datetime.now(UTC).isoformat()
    [level] = apply(
        world,
        ["stock.level", "--location", "A", "--sku", "KTP", "--available", "5", "--as-of", as_of],
    )
    assert level.topic == topics.stock_stowed
    assert state(world, "S-1") == "READY"
    assert world.sql("select sku, free from stock_positions") == [("KTP", 0)]

    short, cancelled = apply(
        world,
        ["shipment.short-picked", *s1, "--location", "A", "--line", "S-1-1:KTP:2"],
        ["shipment.cancelled", "--shipment", "S-2", "--order", "O-2"],
    )
    assert short.topic == cancelled.topic == topics.shipments
    assert state(world, "S-2") == "CANCELLED"
    [row] = world.sql("select shipment_id, lines from shipments where state = 'WAITING'")
    remainder = row.shipment_id
    assert [(line["sku"], line["quantity"]) for line in row.lines] == [("KTP", 2)]

    po_1 = ["--supply", "PO-1", "--location", "A", "--sku", "KTP", "--quantity", "2"]
    [announced] = apply(
        world, ["future-inventory.updated", *po_1, "--expected-date", in_five_days.isoformat()]
    )
    assert announced.topic == topics.future_inventory
    assert world.sql("select supply_id, quantity, expected_date from supplies") == [
        ("PO-1", 2, in_five_days)
    ]
    assert state(world, remainder) == "REASSIGNED"  # to a FUTURE shipment on PO-1
    future = "select state, expected_date from shipments where parent_id = :p"
    assert world.sql(future, p=remainder) == [("FUTURE", in_five_days)]

    assert world.read("dead_letter") == []


def test_an_invalid_invocation_exits_non_zero_says_what_is_wrong_and_sends_nothing(
    world: World,
) -> None:
    mistakes = {
        "data.quantity: Input should be greater than or equal to 1": [
            "stock.stowed", "--location", "A", "--sku", "KTP", "--quantity", "-3"
        ],
        "data.quantity: Field required": [  # a stock.level flag on a stock.stowed
            "stock.stowed", "--location", "A", "--sku", "KTP", "--available", "3"
        ],
        "a line is LINE_ID:SKU:QUANTITY[:BUNDLE], not 'S-1-1:KTP'": [
            "shipment.created", "--shipment", "S-1", "--order", "O-1", "--fulfillment", "STH",
            "--line", "S-1-1:KTP",
        ],
    }  # fmt: skip
    results = run(world, *(["publish", *args] for args in mistakes.values()))

    for message, done in zip(mistakes, results, strict=True):
        assert done.returncode == 1, (message, done.stdout, done.stderr)
        assert done.stderr.startswith("Error: ") and message in done.stderr, done.stderr
        assert done.stdout == ""
    assert world.read("stock_stowed", "future_inventory", "shipments", "catalog") == []
