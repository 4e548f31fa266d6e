"""Shift handovers (交接班记录): one row per shift window, its frozen content and signatures."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``handovers`` as ``storage.handovers`` defines it."""
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("shift_name", sa.String(64), nullable=False),
        sa.Column("shift_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shift_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("outgoing_by", sa.String(128)),
        sa.Column("outgoing_at", sa.DateTime(timezone=True)),
        sa.Column("remarks", sa.Text),
        sa.Column("incoming_by", sa.String(128)),
        sa.Column("incoming_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("site", "shift_start", name="ux_handovers_shift"),
    )
    op.create_index("ix_handovers_shift_end", "handovers", ["shift_end"])
