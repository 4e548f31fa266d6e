"""An alert's acknowledgement in its own columns: who (``acked_by``), which episode
(``acked_episode``) and when (``acked_at``), instead of ``"episode|actor"`` in one string.

Rows of the earlier release are split; their time of acknowledgement was never kept, so
``acked_at`` stays empty for them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the columns, then split the old ``episode|actor`` values into them."""
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("acked_episode", sa.Integer))
        batch.add_column(sa.Column("acked_at", sa.DateTime(timezone=True)))
    alerts = sa.table(
        "alerts",
        sa.column("fingerprint", sa.String),
        sa.column("acked_by", sa.String),
        sa.column("acked_episode", sa.Integer),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(alerts.c.fingerprint, alerts.c.acked_by).where(alerts.c.acked_by.is_not(None))
    ).all()
    for fingerprint, value in rows:
        episode, _, actor = str(value).partition("|")
        conn.execute(
            alerts.update()
            .where(alerts.c.fingerprint == fingerprint)
            .values(
                acked_by=actor or None,
                acked_episode=int(episode) if episode.isdigit() and actor else None,
            )
        )
