"""Deadlines that pass escalate: duty engineer → supervisor → manager (DESIGN §8).

Which levels a ticket's current cycle has reached is ``core.tickets.escalation_levels`` (a
deadline breached: the supervisor; still unmet after as long again: the manager, both measured
from the cycle's own start, so a reopened ticket starts again at level 0). Each level is one
ticket event, deduplicated in the database by ``esc:{ticket}:{cycle}:{deadline}:{level}``, so
several engines escalate once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.notices import Notice
from core.tickets import (
    ESCALATION,
    ESCALATION_TEXT,
    FINAL,
    TicketEvent,
    deadline_text,
    escalation_levels,
)
from storage.tickets import add_event, ticket_events, ticket_of, tickets


def escalate_due(engine: Engine, now: datetime) -> list[Notice]:
    """Add the escalation events that are due; returns them for the live stream."""
    notices: list[Notice] = []
    with engine.begin() as conn:
        rows = conn.execute(sa.select(tickets).where(tickets.c.status.not_in(FINAL))).mappings()
        live = [ticket_of(r) for r in rows]
        if not live:
            return []
        done = {
            str(k)
            for (k,) in conn.execute(
                sa.select(ticket_events.c.dedupe_key).where(
                    ticket_events.c.ticket_id.in_([t.id for t in live]),
                    ticket_events.c.type == TicketEvent.ESCALATED,
                )
            )
        }
        for ticket in live:
            for deadline, level in escalation_levels(ticket.cycle, ticket.ticket_class, now):
                key = f"esc:{ticket.id}:{ticket.cycle.number}:{deadline.value}:{level}"
                if key in done:
                    continue
                to = ESCALATION[level]
                notice = add_event(
                    conn,
                    ticket,
                    TicketEvent.ESCALATED,
                    now,
                    f"未按时{deadline_text(deadline, ticket.ticket_class)}，"
                    f"升级至{ESCALATION_TEXT[to]}",
                    dedupe_key=key,
                    deadline=deadline.value,
                    level=level,
                    notify=to,
                )
                if notice is not None:
                    notices.append(notice)
                    conn.execute(
                        tickets.update()
                        .where(
                            tickets.c.id == ticket.id,
                            tickets.c.cycle == ticket.cycle.number,  # not a newer cycle's
                            tickets.c.escalation_level < level,
                        )
                        .values(escalation_level=level)
                    )
    return notices
