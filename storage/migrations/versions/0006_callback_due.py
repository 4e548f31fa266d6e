"""When each cycle's callback (回访) is due: one working day after it was resolved, by the
site calendar, fixed when it is resolved (like every other deadline).

Cycles resolved under the earlier releases get Monday to Friday without holidays, in the
site's default time zone (Asia/Shanghai): the calendar they were resolved under is unknown.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TZ = ZoneInfo("Asia/Shanghai")


def _due(resolved: datetime) -> datetime:
    local = (resolved if resolved.tzinfo else resolved.replace(tzinfo=UTC)).astimezone(_TZ)
    day: date = local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    local_due = datetime.combine(day, local.time().replace(tzinfo=None)).replace(tzinfo=_TZ)
    return local_due.astimezone(UTC)  # SQLite keeps no offset


def upgrade() -> None:
    """Add ``callback_by`` to tickets and their earlier cycles; fill it for resolved ones."""
    at = sa.DateTime(timezone=True)
    for name in ("tickets", "ticket_cycles"):
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("callback_by", at))
    conn = op.get_bind()
    tickets = sa.table(
        "tickets",
        sa.column("id", sa.Integer),
        sa.column("resolved_at", at),
        sa.column("callback_by", at),
    )
    cycles = sa.table(
        "ticket_cycles",
        sa.column("ticket_id", sa.Integer),
        sa.column("cycle", sa.Integer),
        sa.column("resolved_at", at),
        sa.column("callback_by", at),
    )
    for tid, resolved in conn.execute(
        sa.select(tickets.c.id, tickets.c.resolved_at).where(tickets.c.resolved_at.is_not(None))
    ).all():
        conn.execute(tickets.update().where(tickets.c.id == tid).values(callback_by=_due(resolved)))
    for tid, number, resolved in conn.execute(
        sa.select(cycles.c.ticket_id, cycles.c.cycle, cycles.c.resolved_at).where(
            cycles.c.resolved_at.is_not(None)
        )
    ).all():
        conn.execute(
            cycles.update()
            .where(cycles.c.ticket_id == tid, cycles.c.cycle == number)
            .values(callback_by=_due(resolved))
        )
