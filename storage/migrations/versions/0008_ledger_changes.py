"""The equipment ledger (设备台账): append-only changes of each machine's attributes and
certificates."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``ledger_changes`` as ``storage.ledger`` defines it."""
    op.create_table(
        "ledger_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("equipment", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("value", sa.String(200)),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_ledger_changes_equipment", "ledger_changes", ["equipment"])
