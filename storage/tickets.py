"""Alerts, tickets, their append-only events, incidents and the notification outbox.

Tables live in the records ``metadata``. "Exactly one ticket per episode" is enforced by the
database: a partial unique index allows one live (not closed or cancelled) ticket per alert
fingerprint, on SQLite and PostgreSQL alike, and the alert row itself is updated by
compare-and-set on ``version`` so two engines cannot both act on the same transition.
Ticket events are inserted, never updated or deleted; each also goes to the machine's
logbook and, as a notification, to the outbox in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from core.tickets import ACTIONS, FINAL, Due, TicketStatus
from storage import logbook
from storage.records import metadata

_FINAL = [s.value for s in FINAL]

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("rule_id", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(128), nullable=False, index=True),
    sa.Column("title", sa.String(256), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("ticket_class", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("episode", sa.Integer, nullable=False),
    sa.Column("pending_since", sa.DateTime(timezone=True)),
    sa.Column("firing_since", sa.DateTime(timezone=True)),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("condition", sa.Boolean),
    sa.Column("flips", sa.Text, nullable=False),  # JSON list of ISO times
    sa.Column("flapping", sa.Boolean, nullable=False),
    sa.Column("paged", sa.Boolean, nullable=False),
    sa.Column("suppressed", sa.Boolean, nullable=False),
    # the acknowledgement of one episode (the alarm was seen): the row outlives episodes
    sa.Column("acked_by", sa.String(128)),
    sa.Column("acked_episode", sa.Integer),
    sa.Column("acked_at", sa.DateTime(timezone=True)),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("rule_id", sa.String(64), nullable=False),
    sa.Column("equipment", sa.String(128), nullable=False, index=True),
    sa.Column("ticket_class", sa.String(32), nullable=False),
    sa.Column("title", sa.String(256), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("fault_active", sa.Boolean, nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("cycle", sa.Integer, nullable=False),  # 1, +1 on every reopening
    sa.Column("cycle_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("respond_by", sa.DateTime(timezone=True)),
    sa.Column("on_site_by", sa.DateTime(timezone=True)),
    sa.Column("resolve_by", sa.DateTime(timezone=True)),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
    sa.Column("on_site_at", sa.DateTime(timezone=True)),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("recovered_at", sa.DateTime(timezone=True)),
    sa.Column("escalation_level", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(
        "ux_tickets_live_fingerprint",
        "fingerprint",
        unique=True,
        sqlite_where=sa.text(f"status NOT IN ('{_FINAL[0]}', '{_FINAL[1]}')"),
        postgresql_where=sa.text(f"status NOT IN ('{_FINAL[0]}', '{_FINAL[1]}')"),
    ),
)

ticket_events = sa.Table(
    "ticket_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("from_status", sa.String(16)),
    sa.Column("to_status", sa.String(16)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    # one event per fact, however many engines notice it (e.g. an escalation level)
    sa.Column("dedupe_key", sa.String(160), unique=True),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("episode", sa.Integer, nullable=False),
    sa.Column("rule_id", sa.String(64), nullable=False),
    sa.Column("equipment", sa.String(128), nullable=False),
    sa.Column("title", sa.String(256), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("fingerprint", "episode", name="ux_incidents_episode"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_key", sa.String(160), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed_until", sa.DateTime(timezone=True)),
    sa.Column("delivered_at", sa.DateTime(timezone=True), index=True),
    sa.Column("last_error", sa.Text),
)


class TicketError(Exception):
    """A ticket change that is not allowed (unknown ticket, wrong status, missing reason)."""


@dataclass(frozen=True, slots=True)
class Notice:
    """Something that happened, for the live stream after the transaction commits."""

    type: str  # alert | ticket | incident
    data: dict[str, Any]

    def as_event(self) -> dict[str, Any]:
        return {"type": self.type, **self.data}


def aware(ts: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything is stored in UTC."""
    if ts is None:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).isoformat()


def ticket_view(row: RowMapping) -> dict[str, Any]:
    """A ticket row as JSON-ready data."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        out[key] = _iso(aware(value)) if isinstance(value, datetime) else value
    return out


def insert_ticket(
    conn: Connection,
    *,
    fingerprint: str,
    rule_id: str,
    equipment: str,
    ticket_class: str,
    title: str,
    severity: str,
    now: datetime,
    cycle_start: datetime,
    due: Due,
) -> RowMapping:
    """Insert a new open ticket (first cycle) and return its row; the caller adds the event."""
    inserted = conn.execute(
        tickets.insert().values(
            fingerprint=fingerprint,
            rule_id=rule_id,
            equipment=equipment,
            ticket_class=ticket_class,
            title=title,
            severity=severity,
            status=TicketStatus.OPEN.value,
            fault_active=True,
            opened_at=now,
            cycle=1,
            cycle_start=cycle_start,
            respond_by=due.respond_by,
            on_site_by=due.on_site_by,
            resolve_by=due.resolve_by,
            escalation_level=0,
            version=1,
        )
    ).inserted_primary_key
    assert inserted is not None
    return conn.execute(sa.select(tickets).where(tickets.c.id == inserted[0])).mappings().one()


def add_event(
    conn: Connection,
    ticket: RowMapping,
    type_: str,
    ts: datetime,
    message: str,
    actor: str = "system",
    to_status: str | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> Notice | None:
    """Append a ticket event, its logbook entry and its notification; None if a duplicate."""
    body = dict(data or {})
    values = {
        "ticket_id": ticket["id"],
        "ts": ts,
        "type": type_,
        "actor": actor,
        "from_status": ticket["status"],
        "to_status": to_status or ticket["status"],
        "message": message,
        "data": json.dumps(body, ensure_ascii=False, sort_keys=True),
        "dedupe_key": dedupe_key,
    }
    if dedupe_key is not None:
        try:
            with conn.begin_nested():
                event_id = conn.execute(
                    ticket_events.insert().values(**values)
                ).inserted_primary_key
        except IntegrityError:
            return None
    else:
        event_id = conn.execute(ticket_events.insert().values(**values)).inserted_primary_key
    assert event_id is not None
    notice = Notice(
        "ticket",
        {
            "event": type_,
            "event_id": int(event_id[0]),
            "ticket_id": int(ticket["id"]),
            "equipment": ticket["equipment"],
            "ticket_class": ticket["ticket_class"],
            "title": ticket["title"],
            "status": values["to_status"],
            "actor": actor,
            "at": _iso(ts),
            "message": message,
            **body,
        },
    )
    logbook.append(
        conn,
        logbook.LogEntry(
            ts,
            str(ticket["equipment"])[:64],
            "ticket",
            f"工单#{ticket['id']} {type_}: {message}",
            actor,
            {"ticket_id": int(ticket["id"]), "event": type_, **body},
        ),
    )
    enqueue(conn, f"ticket-event:{event_id[0]}", notice.as_event(), ts)
    return notice


def enqueue(conn: Connection, event_key: str, payload: dict[str, Any], now: datetime) -> None:
    """Queue a webhook notification in the caller's transaction (delivered by the outbox)."""
    conn.execute(
        outbox.insert().values(
            event_key=event_key,
            created_at=now,
            payload=json.dumps(payload, ensure_ascii=False, sort_keys=True),
            attempts=0,
            next_attempt_at=now,
        )
    )


def get_ticket(conn: Connection, ticket_id: int) -> RowMapping | None:
    return conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id)).mappings().first()


def live_ticket(conn: Connection, fingerprint: str) -> RowMapping | None:
    query = sa.select(tickets).where(
        tickets.c.fingerprint == fingerprint, tickets.c.status.not_in(_FINAL)
    )
    return conn.execute(query).mappings().first()


def update_ticket(conn: Connection, ticket: RowMapping, **values: Any) -> RowMapping | None:
    """Compare-and-set on ``version``: None when someone else changed the ticket first."""
    done = conn.execute(
        tickets.update()
        .where(tickets.c.id == ticket["id"], tickets.c.version == ticket["version"])
        .values(version=tickets.c.version + 1, **values)
    )
    if done.rowcount != 1:
        return None
    return get_ticket(conn, int(ticket["id"]))


_STAMP = {
    TicketStatus.ACKNOWLEDGED: "acknowledged_at",
    TicketStatus.ON_SITE: "on_site_at",
    TicketStatus.RESOLVED: "resolved_at",
    TicketStatus.CLOSED: "closed_at",
}


def transition(
    engine: Engine,
    ticket_id: int,
    action_name: str,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> tuple[dict[str, Any], Notice]:
    """A person moves a ticket (``ack``, ``on_site``, ``resolve``, ``close``, ``reopen``,
    ``cancel``); raises TicketError saying why not."""
    action = ACTIONS.get(action_name)
    if action is None:
        raise TicketError(f"unknown transition {action_name!r} (known: {', '.join(ACTIONS)})")
    if action.needs_reason and not (reason and reason.strip()):
        raise TicketError(f"{action_name} needs a reason")
    with engine.begin() as conn:
        ticket = get_ticket(conn, ticket_id)
        if ticket is None:
            raise TicketError(f"no ticket {ticket_id}")
        status = TicketStatus(ticket["status"])
        if status not in action.allowed_from:
            raise TicketError(f"ticket {ticket_id} is {status}; cannot {action_name}")
        values: dict[str, Any] = {"status": action.to.value}
        if action.to in _STAMP:
            values[_STAMP[action.to]] = now
        if action.to is TicketStatus.REOPENED:
            values.update(cycle=ticket["cycle"] + 1, cycle_start=now)
        updated = update_ticket(conn, ticket, **values)
        if updated is None:
            raise TicketError(f"ticket {ticket_id} changed meanwhile; try again")
        notice = add_event(
            conn,
            ticket,
            action_name,
            now,
            reason or action.to.value,
            actor=actor,
            to_status=action.to.value,
            data={"reason": reason} if reason else None,
        )
        assert notice is not None
        return ticket_view(updated), notice


def events_of(conn: Connection, ticket_id: int) -> list[dict[str, Any]]:
    query = (
        sa.select(ticket_events)
        .where(ticket_events.c.ticket_id == ticket_id)
        .order_by(ticket_events.c.id)
    )
    return [ticket_view(r) for r in conn.execute(query).mappings()]


def within(ts: datetime | None, now: datetime, window: timedelta) -> bool:
    ts = aware(ts)
    return ts is not None and now - ts <= window
