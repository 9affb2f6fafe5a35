"""Once-a-day jobs claim their day in ``job_runs``; waiting shipments due for the overdue
flag (R13) are found through a partial index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.Text, nullable=False),
        sa.Column("run_on", sa.Date, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("started_at", _TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("heartbeat_at", _TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", _TZ),
        sa.Column("summary", JSONB),
        sa.PrimaryKeyConstraint("job", "run_on", name=op.f("pk_job_runs")),
    )
    op.create_index(
        op.f("ix_shipments_overdue_due"),
        "shipments",
        ["expected_release_by"],
        postgresql_where=sa.text("state = 'WAITING' AND NOT overdue"),
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_shipments_overdue_due"), table_name="shipments")
    op.drop_table("job_runs")
