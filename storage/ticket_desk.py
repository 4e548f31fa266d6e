"""What people do outside the alert engine: report a repair by phone, acknowledge an alarm.

Both go through the same tables, events, logbook and notices as the engine's tickets
(``storage.tickets``), so a manual ticket has the same lifecycle, deadlines and history.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.notices import AlertNotice, TicketNotice
from core.tickets import MANUAL_RULE, Due, Ticket, TicketEvent
from storage import logbook
from storage.tickets import AlertRecord, add_event, alert_of, alerts, insert_ticket, iso


def open_manual_ticket(
    conn: Connection,
    equipment: str,
    ticket_class: str,
    title: str,
    severity: str,
    due: Due,
    actor: str,
    now: datetime,
    description: str | None = None,
    category: str | None = None,
) -> tuple[Ticket, TicketNotice]:
    """A ticket reported by a person (phone, front desk), open from ``now``; ``category``
    names the fault (for repeat repairs: the same fault on the same machine)."""
    ticket = insert_ticket(
        conn,
        # its own identity: a manual report never merges with an alert's ticket
        fingerprint=f"{MANUAL_RULE}:{uuid.uuid4().hex}",
        rule_id=MANUAL_RULE,
        equipment=equipment,
        ticket_class=ticket_class,
        title=title,
        severity=severity,
        now=now,
        cycle_start=now,
        due=due,
        category=category,
    )
    notice = add_event(
        conn,
        ticket,
        TicketEvent.OPENED,
        now,
        f"{title}（人工登记）",
        actor=actor,
        source="manual",
        description=description,
        respond_by=iso(due.respond_by),
        on_site_by=iso(due.on_site_by),
        resolve_by=iso(due.resolve_by),
    )
    assert notice is not None
    return ticket, notice


def get_alert(conn: Connection, fingerprint: str) -> AlertRecord | None:
    row = conn.execute(sa.select(alerts).where(alerts.c.fingerprint == fingerprint)).mappings()
    first = row.first()
    return None if first is None else alert_of(first)


def ack_alert(
    conn: Connection, fingerprint: str, actor: str, now: datetime
) -> tuple[AlertRecord, AlertNotice] | None:
    """Acknowledge the alert's current episode (the alarm was seen); None if no such alert.

    Leaves ``version`` alone: an ack is not a state change the engine has to re-read."""
    alert = get_alert(conn, fingerprint)
    if alert is None:
        return None
    if alert.acked_by is None:
        conn.execute(
            alerts.update()
            .where(alerts.c.fingerprint == fingerprint)
            .values(acked_by=actor[:128], acked_episode=alert.episode, acked_at=now)
        )
        logbook.append(
            conn,
            logbook.LogEntry(
                now,
                alert.subject[:64],
                "alert",
                f"{alert.title}：告警已确认",
                actor,
                {"rule_id": alert.rule_id, "change": "acknowledged", "episode": alert.episode},
            ),
        )
        alert = get_alert(conn, fingerprint)
        assert alert is not None
    notice = AlertNotice(
        event="acknowledged",
        fingerprint=fingerprint,
        rule_id=alert.rule_id,
        equipment=alert.subject,
        title=alert.title,
        status=alert.status,
        episode=alert.episode,
        at=str(iso(now)),
        actor=actor,
    )
    return alert, notice


__all__ = ["MANUAL_RULE", "ack_alert", "get_alert", "open_manual_ticket"]
