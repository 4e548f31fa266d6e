"""The logbook's head row exists from the start, and state changes are kept once each.

- ``logbook_transitions``: the latest logged value of each (machine, subject), so that two
  recorders (two alert engines) seeing one change write one entry (``append_transition``).
- The head row (seq 0, genesis hash) is made for a logbook that has never had an entry, so
  that from now on a missing head always means tampering. A logbook with entries but no head
  is left as it is: ``verify`` reports it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    """Create ``logbook_transitions``; give an unused logbook its head row."""
    op.create_table(
        "logbook_transitions",
        sa.Column("equipment", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    conn = op.get_bind()
    entries = conn.execute(sa.text("SELECT count(*) FROM logbook")).scalar_one()
    heads = conn.execute(sa.text("SELECT count(*) FROM logbook_head")).scalar_one()
    if entries == 0 and heads == 0:
        conn.execute(
            sa.text("INSERT INTO logbook_head (id, seq, hash) VALUES (1, 0, :genesis)"),
            {"genesis": GENESIS},
        )
