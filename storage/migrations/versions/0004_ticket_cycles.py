"""Ticket cycles, callbacks and the entrapment's arrivals.

- ``tickets``: ``staff_on_site_at`` and ``released_at`` (an entrapment's property staff on
  site and passengers released), ``category`` (a manual ticket's fault).
- ``ticket_cycles``: the finished cycles of reopened tickets, as they were.
- ``callbacks``: who called back, when, satisfied or not, remarks.

Tickets reopened by the earlier release kept the previous cycle's times on the new one (a
reopened ticket showed no deadline and a negative repair time) and, on some paths, the old
deadlines. For each such ticket the times from before the current cycle's start move to a
``ticket_cycles`` row for the previous cycle (its start taken as the ticket's opening: the
earlier release did not keep it), and deadlines that lie before the cycle's start are moved to
run from it by the same span as before (deadline − opening).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_DONE = ("acknowledged_at", "on_site_at", "resolved_at", "closed_at")
_DUE = ("respond_by", "on_site_by", "resolve_by")


def _cycle_columns() -> list[sa.Column[object]]:
    at = sa.DateTime(timezone=True)
    return [
        sa.Column("cycle", sa.Integer, primary_key=True, nullable=False),
        sa.Column("cycle_start", at, nullable=False),
        sa.Column("respond_by", at),
        sa.Column("on_site_by", at),
        sa.Column("resolve_by", at),
        sa.Column("acknowledged_at", at),
        sa.Column("on_site_at", at),
        sa.Column("resolved_at", at),
        sa.Column("closed_at", at),
        sa.Column("escalation_level", sa.Integer, nullable=False),
        sa.Column("staff_on_site_at", at),
        sa.Column("released_at", at),
    ]


def upgrade() -> None:
    """New columns and tables, then the earlier release's reopened tickets split in cycles."""
    at = sa.DateTime(timezone=True)
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("staff_on_site_at", at))
        batch.add_column(sa.Column("released_at", at))
        batch.add_column(sa.Column("category", sa.String(64)))
    op.create_table(
        "ticket_cycles",
        sa.Column(
            "ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), primary_key=True, nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        *_cycle_columns(),
    )
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("at", at, nullable=False),
        sa.Column("satisfied", sa.Boolean, nullable=False),
        sa.Column("remarks", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", at, nullable=False),
    )
    op.create_index("ix_callbacks_ticket_id", "callbacks", ["ticket_id"])
    _split_reopened()


def _aware(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _split_reopened() -> None:
    conn = op.get_bind()
    at = sa.DateTime(timezone=True)
    tickets = sa.table(
        "tickets",
        sa.column("id", sa.Integer),
        sa.column("cycle", sa.Integer),
        sa.column("escalation_level", sa.Integer),
        *[sa.column(c, at) for c in ("cycle_start", "opened_at", *_DONE, *_DUE)],
    )
    cycles = sa.table(
        "ticket_cycles",
        *[sa.column(c.name, c.type) for c in _cycle_columns()],
        sa.column("ticket_id", sa.Integer),
        sa.column("status", sa.String),
    )
    for row in conn.execute(sa.select(tickets).where(tickets.c.cycle > 1)).mappings().all():
        start = _aware(row["cycle_start"])
        opened = _aware(row["opened_at"])
        assert start is not None and opened is not None
        stale = {c: _aware(row[c]) for c in _DONE}
        earlier = {c: t for c, t in stale.items() if t is not None and t < start}
        conn.execute(
            cycles.insert().values(
                ticket_id=row["id"],
                cycle=row["cycle"] - 1,
                status="closed" if earlier.get("closed_at") else "resolved",
                cycle_start=opened,
                escalation_level=row["escalation_level"],
                **{c: _aware(row[c]) for c in _DUE},
                **{c: earlier.get(c) for c in _DONE},
            )
        )
        moved: dict[str, datetime | None] = {c: None for c in earlier}
        for c in _DUE:
            due = _aware(row[c])
            if due is not None and due < start:
                moved[c] = start + (due - opened)
        if moved:
            conn.execute(tickets.update().where(tickets.c.id == row["id"]).values(**moved))
