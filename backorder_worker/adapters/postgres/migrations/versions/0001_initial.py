"""The initial schema: inbox, waiting room, stock, supplies, catalog, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Every name is final (op.f): the naming convention of tables.metadata may change later,
# this revision may not.
_TZ = sa.DateTime(timezone=True)
_WAITING = sa.text("state = 'WAITING'")


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("applied_at", _TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "shipments",
        sa.Column("shipment_id", sa.Text, nullable=False),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("fulfillment_type", sa.Text, nullable=False),
        sa.Column("pickup_location_id", sa.Text),
        sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
        sa.Column("split_allowed", sa.Boolean),
        sa.Column("backorder_days", sa.Integer),
        sa.Column("lines", JSONB, nullable=False),
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
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_shipments")),
        sa.CheckConstraint(
            "state IN ('WAITING', 'UNROUTABLE', 'READY', 'FUTURE', 'REASSIGNED', 'CANCELLED')",
            name=op.f("ck_shipments_state"),
        ),
        sa.CheckConstraint(
            "fulfillment_type IN ('STH', 'BOPIS')", name=op.f("ck_shipments_fulfillment_type")
        ),
        sa.CheckConstraint(
            "state <> 'WAITING' OR entered_at IS NOT NULL",
            name=op.f("ck_shipments_waiting_entered"),
        ),
    )
    op.create_index(
        op.f("ix_shipments_waiting_fifo"),
        "shipments",
        ["entered_at", "shipment_id"],
        postgresql_where=_WAITING,
    )
    op.create_index(
        op.f("ix_shipments_waiting_priority"),
        "shipments",
        [sa.text("priority DESC"), "entered_at", "shipment_id"],
        postgresql_where=_WAITING,
    )
    op.create_index(
        op.f("ix_shipments_parent_id"),
        "shipments",
        ["parent_id"],
        postgresql_where=sa.text("parent_id IS NOT NULL"),
    )
    op.create_table(
        "waiting_skus",
        sa.Column("shipment_id", sa.Text, nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("entered_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", "sku", name=op.f("pk_waiting_skus")),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.shipment_id"],
            name=op.f("fk_waiting_skus_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_waiting_skus_fifo"), "waiting_skus", ["sku", "entered_at", "shipment_id"]
    )
    op.create_index(
        op.f("ix_waiting_skus_priority"),
        "waiting_skus",
        ["sku", sa.text("priority DESC"), "entered_at", "shipment_id"],
    )
    op.create_table(
        "shipment_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("shipment_id", sa.Text, nullable=False),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("detail", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_history")),
    )
    op.create_index(
        op.f("ix_shipment_history_shipment_id_id"), "shipment_history", ["shipment_id", "id"]
    )
    op.create_table(
        "stock_positions",
        sa.Column("location_id", sa.Text, nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("free", sa.Integer, nullable=False),
        sa.Column("level_as_of", _TZ),
        sa.PrimaryKeyConstraint("location_id", "sku", name=op.f("pk_stock_positions")),
        sa.CheckConstraint("free >= 0", name=op.f("ck_stock_positions_free_not_negative")),
    )
    op.create_index(op.f("ix_stock_positions_sku"), "stock_positions", ["sku"])
    op.create_table(
        "allocations",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("location_id", sa.Text, nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("shipment_id", sa.Text, nullable=False),
        sa.Column("supply_id", sa.Text),
        sa.Column("at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_allocations_quantity_positive")),
    )
    op.create_index(
        op.f("ix_allocations_location_id_sku_at"), "allocations", ["location_id", "sku", "at"]
    )
    op.create_table(
        "supplies",
        sa.Column("supply_id", sa.Text, nullable=False),
        sa.Column("location_id", sa.Text, nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("promised", sa.Integer, nullable=False, server_default="0"),
        sa.Column("expected_date", sa.Date, nullable=False),
        sa.Column("updated_at", _TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("supply_id", name=op.f("pk_supplies")),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_supplies_quantity_not_negative")),
        sa.CheckConstraint("promised >= 0", name=op.f("ck_supplies_promised_not_negative")),
    )
    op.create_index(op.f("ix_supplies_sku"), "supplies", ["sku"])
    op.create_index(op.f("ix_supplies_location_id_sku"), "supplies", ["location_id", "sku"])
    op.create_table(
        "locations",
        sa.Column("location_id", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("fulfillment_types", ARRAY(sa.Text), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("location_id", name=op.f("pk_locations")),
        sa.CheckConstraint(
            "fulfillment_types <@ ARRAY['STH', 'BOPIS']::text[]",
            name=op.f("ck_locations_fulfillment_types"),
        ),
    )
    op.create_table(
        "listings",
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("location_id", sa.Text, nullable=False, server_default=""),
        sa.Column("out_of_stock_behaviour", sa.Text, nullable=False),
        sa.Column("future_inventory_enabled", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("sku", "location_id", name=op.f("pk_listings")),
        sa.CheckConstraint(
            "out_of_stock_behaviour IN ('NONE', 'BACKORDER', 'PREORDER')",
            name=op.f("ck_listings_behaviour"),
        ),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("event_id", sa.Text),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.LargeBinary),
        sa.Column("value", sa.LargeBinary),
        sa.Column("headers", JSONB, nullable=False),
        sa.Column("created_at", _TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", _TZ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(
        op.f("ix_outbox_unpublished"),
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
    )


def downgrade() -> None:
    for table in (
        "outbox",
        "listings",
        "locations",
        "supplies",
        "allocations",
        "stock_positions",
        "shipment_history",
        "waiting_skus",
        "shipments",
        "inbox",
    ):
        op.drop_table(table)
