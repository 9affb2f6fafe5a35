"""Which project modules one `stock.stowed` touches on its way from a consumed record to an
outbox row that releases a waiting shipment (docs/architecture.md): the real edge batch,
use case and Postgres adapter, traced with ``sys.setprofile``; the consume and publish
ends are listed in the document from the code.

    python -m bench.module_path postgresql+psycopg://postgres@127.0.0.1:5432/postgres

The URL names a server; the run makes a scratch database of its own there
(``backorder_module_path``) and drops it at the end, so it never touches the named one.
"""

from __future__ import annotations

import sys
from collections import Counter

import sqlalchemy as sa

from backorder_worker.adapters.kafka.records import SourceRecord
from backorder_worker.adapters.postgres.migrate import migrate
from backorder_worker.bootstrap import build_services
from backorder_worker.entrypoints.worker.batch import BatchProcessor
from backorder_worker.settings import load_settings
from backorder_worker.wire.input_events import build_event, key_for, topic_for

SETUP = [
    ("location.updated", {"location_id": "A", "active": True, "fulfillment_types": ["STH"]}),
    ("listing.updated", {"sku": "KTP", "out_of_stock_behaviour": "BACKORDER"}),
    (
        "shipment.created",
        {
            "shipment_id": "S-1",
            "order_id": "O-1",
            "fulfillment_type": "STH",
            "lines": [{"line_id": "S-1-1", "sku": "KTP", "quantity": 1}],
        },
    ),
]
STOW = ("stock.stowed", {"location_id": "A", "sku": "KTP", "quantity": 1})


SCRATCH = "backorder_module_path"


def main(server_url: str) -> None:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {SCRATCH}"))
        connection.execute(sa.text(f"CREATE DATABASE {SCRATCH}"))
    try:
        trace(sa.make_url(server_url).set(database=SCRATCH).render_as_string(False))
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)"))
        admin.dispose()


def trace(database_url: str) -> None:
    migrate(database_url)
    settings = load_settings(env={"BACKORDER_DATABASE__URL": database_url})
    services = build_services(settings)
    processor = BatchProcessor(services.apply_batch, services.metrics)

    def record(n: int, event_type: str, data: dict[str, object]) -> SourceRecord:
        _, value = build_event(event_type, data)
        topic = topic_for(event_type, settings)
        return SourceRecord(topic, 0, n, key_for(event_type, data), value, (), 0)

    for n, (event_type, data) in enumerate(SETUP):
        processor.process([record(n, event_type, data)])
    touched: Counter[str] = Counter()

    def profile(frame: object, event: str, arg: object) -> None:
        if event == "call":
            name = frame.f_globals.get("__name__", "")  # type: ignore[attr-defined]
            if name.startswith("backorder_worker"):
                touched[name] += 1

    stow = record(len(SETUP), *STOW)
    sys.setprofile(profile)
    result = processor.process([stow])
    sys.setprofile(None)
    assert result.outbox_rows, "the stow released nothing"
    services.close()
    domain = sorted(m for m in touched if ".domain." in m)
    shell = sorted(m for m in touched if ".domain." not in m)
    print(f"{len(touched)} project modules: {len(shell)} outside the domain, {len(domain)} in it")
    for module in shell + domain:
        print(f"  {module}")


if __name__ == "__main__":
    main(sys.argv[1])
