"""The retention job (retention.py) finds expired rows through BRIN indexes on the time each
row was written: a few pages per range to maintain on insert, and a trim that finds
nothing expired reads almost nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_inbox_applied_at", "inbox", "applied_at"),
    ("ix_outbox_created_at", "outbox", "created_at"),
    ("ix_shipment_history_at", "shipment_history", "at"),
    ("ix_allocations_at", "allocations", "at"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(
            name,
            table,
            [column],
            postgresql_using="brin",
            postgresql_with={"autosummarize": "on"},
        )


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
