"""What people do outside the alert engine: report a repair by phone, acknowledge an alarm.

Both go through the same tables, events, logbook and notifications as the engine's tickets
(``storage.tickets``), so a manual ticket has the same lifecycle, deadlines and history.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from core.tickets import Due
from storage import logbook
from storage.tickets import Notice, add_event, alerts, insert_ticket

MANUAL_RULE = "manual"


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
) -> tuple[RowMapping, Notice]:
    """A ticket reported by a person (phone, front desk), open from ``now``."""
    row = insert_ticket(
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
    )
    data = {"source": "manual", **({"description": description} if description else {})}
    notice = add_event(conn, row, "opened", now, f"{title}（人工登记）", actor=actor, data=data)
    assert notice is not None
    return row, notice


def acked_by(row: RowMapping) -> str | None:
    """Who acknowledged the alert's current episode, or None (an ack of an earlier episode
    is about a fault that has since cleared)."""
    if row["acked_by"] is None or row["acked_episode"] != row["episode"]:
        return None
    return str(row["acked_by"])


def ack_alert(
    conn: Connection, fingerprint: str, actor: str, now: datetime
) -> tuple[RowMapping, Notice] | None:
    """Acknowledge the alert's current episode (the alarm was seen); None if no such alert.

    Leaves ``version`` alone: an ack is not a state change the engine has to re-read."""
    row = conn.execute(sa.select(alerts).where(alerts.c.fingerprint == fingerprint)).mappings()
    alert = row.first()
    if alert is None:
        return None
    if acked_by(alert) is None:
        conn.execute(
            alerts.update()
            .where(alerts.c.fingerprint == fingerprint)
            .values(acked_by=actor[:128], acked_episode=alert["episode"], acked_at=now)
        )
        logbook.append(
            conn,
            logbook.LogEntry(
                now,
                str(alert["subject"])[:64],
                "alert",
                f"{alert['title']}: 告警已确认",
                actor,
                {
                    "rule_id": alert["rule_id"],
                    "change": "acknowledged",
                    "episode": alert["episode"],
                },
            ),
        )
    fresh = conn.execute(sa.select(alerts).where(alerts.c.fingerprint == fingerprint)).mappings()
    updated = fresh.one()
    notice = Notice(
        "alert",
        {
            "event": "acknowledged",
            "fingerprint": fingerprint,
            "rule_id": updated["rule_id"],
            "equipment": updated["subject"],
            "title": updated["title"],
            "status": updated["status"],
            "episode": updated["episode"],
            "actor": actor,
            "at": now.isoformat(),
        },
    )
    return updated, notice


__all__ = ["MANUAL_RULE", "ack_alert", "acked_by", "open_manual_ticket"]
