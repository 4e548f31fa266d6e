"""Planned work orders (计划工单): one row per due occurrence of a maintenance or inspection
plan, unique on the occurrence, with its result written once when it is done or skipped."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``planned_orders`` as ``storage.planned`` defines it."""
    at = sa.DateTime(timezone=True)
    op.create_table(
        "planned_orders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("occurrence", sa.String(200), nullable=False),
        sa.Column("equipment", sa.String(64), nullable=False),
        sa.Column("plan", sa.String(64), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("due_start", at, nullable=False),
        sa.Column("due_by", at, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", at, nullable=False),
        sa.Column("started_at", at),
        sa.Column("started_by", sa.String(128)),
        sa.Column("finished_at", at),
        sa.Column("finished_by", sa.String(128)),
        sa.Column("skip_reason", sa.Text),
        sa.Column("result", sa.Text),
        sa.Column("escalation", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("occurrence", name="ux_planned_orders_occurrence"),
    )
    op.create_index("ix_planned_orders_due_by", "planned_orders", ["due_by"])
    op.create_index("ix_planned_orders_equipment_status", "planned_orders", ["equipment", "status"])
