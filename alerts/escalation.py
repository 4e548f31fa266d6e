"""Deadlines that pass escalate: duty engineer → supervisor → manager (DESIGN §8).

A deadline breached escalates one level (to the supervisor); still breached after as long
again, a second level (to the manager). Each level is one ticket event, deduplicated in the
database by ``esc:{ticket}:{cycle}:{deadline}:{level}``, so several engines escalate once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

from core.tickets import AWAITING_RESPONSE, ESCALATION, FINAL, NOT_ON_SITE, TicketStatus
from storage.tickets import Notice, add_event, aware, ticket_events, tickets

_DEADLINES = (
    ("respond", "respond_by", AWAITING_RESPONSE, "未按时接单"),
    ("on_site", "on_site_by", NOT_ON_SITE, "未按时到场"),
    (
        "resolve",
        "resolve_by",
        frozenset(TicketStatus) - FINAL - {TicketStatus.RESOLVED},
        "未按时完工",
    ),
)


def breaches(ticket: RowMapping, now: datetime) -> list[tuple[str, int, str]]:
    """(deadline, level, message) for every escalation level this ticket has reached."""
    out: list[tuple[str, int, str]] = []
    start = aware(ticket["cycle_start"])
    status = TicketStatus(ticket["status"])
    for name, column, pending_in, message in _DEADLINES:
        due = aware(ticket[column])
        if due is None or start is None or status not in pending_in or now <= due:
            continue
        out.append((name, 1, message))
        if now > due + (due - start):
            out.append((name, 2, message))
    return out


def escalate_due(engine: Engine, now: datetime) -> list[Notice]:
    """Add the escalation events that are due; returns them for the live stream."""
    notices: list[Notice] = []
    with engine.begin() as conn:
        live = conn.execute(
            sa.select(tickets).where(tickets.c.status.not_in([s.value for s in FINAL]))
        ).mappings()
        rows = list(live)
        if not rows:
            return []
        done = {
            str(k)
            for (k,) in conn.execute(
                sa.select(ticket_events.c.dedupe_key).where(
                    ticket_events.c.ticket_id.in_([r["id"] for r in rows]),
                    ticket_events.c.type == "escalated",
                )
            )
        }
        for ticket in rows:
            for deadline, level, message in breaches(ticket, now):
                key = f"esc:{ticket['id']}:{ticket['cycle']}:{deadline}:{level}"
                if key in done:
                    continue
                notice = add_event(
                    conn,
                    ticket,
                    "escalated",
                    now,
                    f"{message}，升级至{ESCALATION[level]}",
                    data={"deadline": deadline, "level": level, "notify": ESCALATION[level]},
                    dedupe_key=key,
                )
                if notice is not None:
                    notices.append(notice)
                    conn.execute(
                        tickets.update()
                        .where(tickets.c.id == ticket["id"], tickets.c.escalation_level < level)
                        .values(escalation_level=level)
                    )
    return notices
