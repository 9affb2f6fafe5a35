"""The Postgres schema: SQLAlchemy 2 Core tables, the one description of every table.

The migrations in ``migrations/versions`` create exactly this (a test compares them), and
the queries of this package are built on these objects. Postgres is the source of truth:
the waiting room, stock positions, the allocation ledger, the inbox of applied events and
the outbox of events to publish. Checks that guard invariants live in the schema too, so a
bug cannot oversell (I1) even if a query forgets to.

``waiting_skus`` is the waiting room's index: one row per (waiting shipment, SKU it needs),
carrying the shipment's release-order key, so "who waits for SKU X, in release order" is a
range scan. It holds rows only while the shipment is WAITING.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from backorder_worker.service_layer.ports import ShipmentState

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_STATES = ", ".join(f"'{state.value}'" for state in ShipmentState)
WAITING_PREDICATE = "state = 'WAITING'"  # of the partial indexes of the waiting room

_TZ = sa.DateTime(timezone=True)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("applied_at", _TZ, nullable=False, server_default=sa.func.now()),
)

shipments = sa.Table(
    "shipments",
    metadata,
    sa.Column("shipment_id", sa.Text, primary_key=True),
    sa.Column("order_id", sa.Text, nullable=False),
    sa.Column("fulfillment_type", sa.Text, nullable=False),
    sa.Column("pickup_location_id", sa.Text),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("split_allowed", sa.Boolean),
    sa.Column("backorder_days", sa.Integer),
    sa.Column("lines", JSONB, nullable=False),  # [{line_id, sku, quantity, bundle_id}]
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("parent_id", sa.Text),
    sa.Column("location_id", sa.Text),
    sa.Column("expected_date", sa.Date),
    sa.Column("entered_at", _TZ),
    sa.Column("backordered_at", _TZ),
    sa.Column("expected_release_by", _TZ),
    sa.Column("overdue", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("reasons", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("short_picks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", _TZ, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint(f"state IN ({_STATES})", name="state"),
    sa.CheckConstraint("fulfillment_type IN ('STH', 'BOPIS')", name="fulfillment_type"),
    sa.CheckConstraint("state <> 'WAITING' OR entered_at IS NOT NULL", name="waiting_entered"),
    sa.Index(
        "ix_shipments_waiting_fifo",
        "entered_at",
        "shipment_id",
        postgresql_where=sa.text(WAITING_PREDICATE),
    ),
    sa.Index(
        "ix_shipments_waiting_priority",
        sa.text("priority DESC"),
        "entered_at",
        "shipment_id",
        postgresql_where=sa.text(WAITING_PREDICATE),
    ),
    sa.Index(
        "ix_shipments_parent_id", "parent_id", postgresql_where=sa.text("parent_id IS NOT NULL")
    ),
)

waiting_skus = sa.Table(
    "waiting_skus",
    metadata,
    sa.Column(
        "shipment_id",
        sa.Text,
        sa.ForeignKey("shipments.shipment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("sku", sa.Text, primary_key=True),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("entered_at", _TZ, nullable=False),
    sa.Index("ix_waiting_skus_fifo", "sku", "entered_at", "shipment_id"),
    sa.Index(
        "ix_waiting_skus_priority", "sku", sa.text("priority DESC"), "entered_at", "shipment_id"
    ),
)

shipment_history = sa.Table(
    "shipment_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("shipment_id", sa.Text, nullable=False),
    sa.Column("at", _TZ, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("detail", JSONB, nullable=False),
    sa.Index("ix_shipment_history_shipment_id_id", "shipment_id", "id"),
)

stock_positions = sa.Table(
    "stock_positions",
    metadata,
    sa.Column("location_id", sa.Text, primary_key=True),
    sa.Column("sku", sa.Text, primary_key=True),
    sa.Column("free", sa.Integer, nullable=False),
    sa.Column("level_as_of", _TZ),
    sa.CheckConstraint("free >= 0", name="free_not_negative"),
    sa.Index("ix_stock_positions_sku", "sku"),
)

allocations = sa.Table(
    "allocations",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("location_id", sa.Text, nullable=False),
    sa.Column("sku", sa.Text, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("shipment_id", sa.Text, nullable=False),
    sa.Column("supply_id", sa.Text),  # None: drawn from current stock
    sa.Column("at", _TZ, nullable=False),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    sa.Index("ix_allocations_location_id_sku_at", "location_id", "sku", "at"),
)

supplies = sa.Table(
    "supplies",
    metadata,
    sa.Column("supply_id", sa.Text, primary_key=True),
    sa.Column("location_id", sa.Text, nullable=False),
    sa.Column("sku", sa.Text, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("promised", sa.Integer, nullable=False, server_default="0"),
    sa.Column("expected_date", sa.Date, nullable=False),
    sa.Column("updated_at", _TZ, nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    sa.CheckConstraint("promised >= 0", name="promised_not_negative"),
    sa.Index("ix_supplies_sku", "sku"),
    sa.Index("ix_supplies_location_id_sku", "location_id", "sku"),
)

locations = sa.Table(
    "locations",
    metadata,
    sa.Column("location_id", sa.Text, primary_key=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("fulfillment_types", ARRAY(sa.Text), nullable=False),
    sa.Column("rank", sa.Integer, nullable=False, server_default="0"),
    sa.CheckConstraint(
        "fulfillment_types <@ ARRAY['STH', 'BOPIS']::text[]", name="fulfillment_types"
    ),
)

SKU_WIDE = ""  # listings.location_id of a listing that holds at every location

listings = sa.Table(
    "listings",
    metadata,
    sa.Column("sku", sa.Text, primary_key=True),
    sa.Column("location_id", sa.Text, primary_key=True, server_default=SKU_WIDE),
    sa.Column("out_of_stock_behaviour", sa.Text, nullable=False),
    sa.Column("future_inventory_enabled", sa.Boolean, nullable=False),
    sa.CheckConstraint(
        "out_of_stock_behaviour IN ('NONE', 'BACKORDER', 'PREORDER')", name="behaviour"
    ),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", sa.Text),  # None for dead letters
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("key", sa.LargeBinary),
    sa.Column("value", sa.LargeBinary),
    sa.Column("headers", JSONB, nullable=False),  # [[name, base64 value], ...]
    sa.Column("created_at", _TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("published_at", _TZ),
    sa.Index("ix_outbox_unpublished", "id", postgresql_where=sa.text("published_at IS NULL")),
)

# The overdue sweep (R13) reads only what is waiting, not yet flagged, and due: a range.
OVERDUE_CANDIDATE_PREDICATE = "state = 'WAITING' AND NOT overdue"
sa.Index(
    "ix_shipments_overdue_due",
    shipments.c.expected_release_by,
    postgresql_where=sa.text(OVERDUE_CANDIDATE_PREDICATE),
)

# What the retention job (retention.py) deletes by age, found by the time it was written:
# BRIN, since these columns grow with the physical order of the rows.
for _table, _column in (
    (inbox, "applied_at"),
    (outbox, "created_at"),
    (shipment_history, "at"),
    (allocations, "at"),
):
    sa.Index(
        f"ix_{_table.name}_{_column}",
        _table.c[_column],
        postgresql_using="brin",
        postgresql_with={"autosummarize": "on"},
    )

# One row per run of a once-a-day job: inserting it is claiming the day (job_runs.py).
job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("job", sa.Text, primary_key=True),
    sa.Column("run_on", sa.Date, primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("started_at", _TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("heartbeat_at", _TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("finished_at", _TZ),
    sa.Column("summary", JSONB),
)
