"""Alerts, tickets and their cycles, callbacks, append-only events, incidents, the outbox.

Tables live in the records ``metadata``. "Exactly one ticket per episode" is enforced by the
database: a partial unique index allows one live (not closed or cancelled) ticket per alert
fingerprint, on SQLite and PostgreSQL alike, and the alert row itself is updated by
compare-and-set on ``version`` so two engines cannot both act on the same transition.

A ticket row holds its current cycle's times; when a reopen starts a new cycle
(``core.tickets.reopen``), the finished cycle is copied to ``ticket_cycles`` exactly as it
was, so every cycle's times are stored once. Ticket events are inserted, never updated or
deleted; each also goes to the machine's logbook and, as a notice, to the outbox in the same
transaction. Rows leave this module as ``core.tickets`` dataclasses.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from core.notices import TicketNotice
from core.rules import AlertsConfig, TicketClass
from core.tickets import (
    ACTIONS,
    EVENT_TEXT,
    FINAL,
    STATUS_TEXT,
    Callback,
    Cycle,
    Due,
    Ticket,
    TicketEvent,
    TicketPolicy,
    TicketStatus,
    first_cycle,
    reopen,
)
from storage import logbook
from storage.records import metadata

_FINAL_SQL = ", ".join(f"'{s.value}'" for s in sorted(FINAL))


def _enum(enum: type[TicketStatus] | type[TicketEvent], length: int) -> sa.Enum:
    """A column of an enum's values: plain VARCHAR in the database (no native type to alter
    when a value is added), the enum member in Python."""
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
    )


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


def _cycle_columns() -> list[sa.Column[Any]]:
    """A cycle's times, the same on the ticket (its current cycle) and in ``ticket_cycles``."""
    at = sa.DateTime(timezone=True)
    return [
        sa.Column("cycle", sa.Integer, nullable=False),  # 1, +1 on every reopening
        sa.Column("cycle_start", at, nullable=False),
        sa.Column("respond_by", at),
        sa.Column("on_site_by", at),
        sa.Column("resolve_by", at),
        sa.Column("acknowledged_at", at),
        sa.Column("on_site_at", at),  # the technician (for an entrapment: the rescue)
        sa.Column("resolved_at", at),
        sa.Column("closed_at", at),
        sa.Column("escalation_level", sa.Integer, nullable=False),
        sa.Column("staff_on_site_at", at),  # entrapment: property staff on site
        sa.Column("released_at", at),  # entrapment: passengers released
        sa.Column("callback_by", at),  # one working day after resolving (site calendar)
    ]


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
    sa.Column("status", _enum(TicketStatus, 16), nullable=False, index=True),
    sa.Column("fault_active", sa.Boolean, nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recovered_at", sa.DateTime(timezone=True)),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("category", sa.String(64)),  # a manual ticket's fault category
    *_cycle_columns(),
    sa.Index(
        "ux_tickets_live_fingerprint",
        "fingerprint",
        unique=True,
        sqlite_where=sa.text(f"status NOT IN ({_FINAL_SQL})"),
        postgresql_where=sa.text(f"status NOT IN ({_FINAL_SQL})"),
    ),
)

ticket_cycles = sa.Table(
    "ticket_cycles",
    metadata,
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), primary_key=True),
    sa.Column("status", _enum(TicketStatus, 16), nullable=False),  # how the cycle ended
    *[
        sa.Column(c.name, c.type, nullable=c.nullable, primary_key=c.name == "cycle")
        for c in _cycle_columns()
    ],
)

callbacks = sa.Table(
    "callbacks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
    sa.Column("cycle", sa.Integer, nullable=False),
    sa.Column("by", sa.String(128), nullable=False),  # who made the call
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("satisfied", sa.Boolean, nullable=False),
    sa.Column("remarks", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.String(128), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

ticket_events = sa.Table(
    "ticket_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("type", _enum(TicketEvent, 32), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("from_status", _enum(TicketStatus, 16)),
    sa.Column("to_status", _enum(TicketStatus, 16)),
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


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as the records hold it (the engine's own state is ``alerts.engine``)."""

    fingerprint: str
    rule_id: str
    subject: str  # a machine id, ``gateway:…`` or ``site:…`` (``core.subjects``)
    title: str
    severity: str
    ticket_class: str
    status: str
    episode: int
    pending_since: datetime | None
    firing_since: datetime | None
    resolved_at: datetime | None
    flapping: bool
    suppressed: bool
    acked_by: str | None  # who acknowledged the current episode (None: nobody yet)
    acked_at: datetime | None


def alert_of(row: RowMapping) -> AlertRecord:
    """An ``alerts`` row as a record; an acknowledgement of an earlier episode is not this
    episode's (the row outlives episodes)."""
    acked = row["acked_by"] is not None and row["acked_episode"] == row["episode"]
    return AlertRecord(
        fingerprint=str(row["fingerprint"]),
        rule_id=str(row["rule_id"]),
        subject=str(row["subject"]),
        title=str(row["title"]),
        severity=str(row["severity"]),
        ticket_class=str(row["ticket_class"]),
        status=str(row["status"]),
        episode=int(row["episode"]),
        pending_since=aware(row["pending_since"]),
        firing_since=aware(row["firing_since"]),
        resolved_at=aware(row["resolved_at"]),
        flapping=bool(row["flapping"]),
        suppressed=bool(row["suppressed"]),
        acked_by=str(row["acked_by"]) if acked else None,
        acked_at=aware(row["acked_at"]) if acked else None,
    )


class TicketError(Exception):
    """A ticket change that is not allowed (unknown ticket, wrong status, missing reason)."""


def aware(ts: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything is stored in UTC."""
    if ts is None:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).isoformat()


def cycle_of(row: RowMapping) -> Cycle:
    """The cycle held by a ``tickets`` or ``ticket_cycles`` row."""
    return Cycle(
        number=int(row["cycle"]),
        start=_aware(row["cycle_start"]),
        respond_by=aware(row["respond_by"]),
        on_site_by=aware(row["on_site_by"]),
        resolve_by=aware(row["resolve_by"]),
        acknowledged_at=aware(row["acknowledged_at"]),
        staff_on_site_at=aware(row["staff_on_site_at"]),
        on_site_at=aware(row["on_site_at"]),
        released_at=aware(row["released_at"]),
        resolved_at=aware(row["resolved_at"]),
        closed_at=aware(row["closed_at"]),
        escalation_level=int(row["escalation_level"]),
        callback_by=aware(row["callback_by"]),
    )


def cycle_values(cycle: Cycle) -> dict[str, Any]:
    """A cycle as the values of its columns."""
    values = asdict(cycle)
    values["cycle"] = values.pop("number")
    values["cycle_start"] = values.pop("start")
    return values


def ticket_of(row: RowMapping) -> Ticket:
    """A ``tickets`` row as the typed ticket."""
    return Ticket(
        id=int(row["id"]),
        fingerprint=str(row["fingerprint"]),
        rule_id=str(row["rule_id"]),
        equipment=str(row["equipment"]),
        ticket_class=str(row["ticket_class"]),
        title=str(row["title"]),
        severity=str(row["severity"]),
        status=TicketStatus(row["status"]),
        fault_active=bool(row["fault_active"]),
        opened_at=_aware(row["opened_at"]),
        cycle=cycle_of(row),
        recovered_at=aware(row["recovered_at"]),
        category=row["category"],
        version=int(row["version"]),
    )


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
    category: str | None = None,
) -> Ticket:
    """Insert a new open ticket (first cycle) and return it; the caller adds the event."""
    inserted = conn.execute(
        tickets.insert().values(
            fingerprint=fingerprint,
            rule_id=rule_id,
            equipment=equipment,
            ticket_class=ticket_class,
            title=title,
            severity=severity,
            status=TicketStatus.OPEN,
            fault_active=True,
            opened_at=now,
            category=category,
            version=1,
            **cycle_values(first_cycle(cycle_start, due)),
        )
    ).inserted_primary_key
    assert inserted is not None
    ticket = get_ticket(conn, int(inserted[0]))
    assert ticket is not None
    return ticket


def add_event(
    conn: Connection,
    ticket: Ticket,
    type_: TicketEvent,
    ts: datetime,
    message: str,
    actor: str = "system",
    to_status: TicketStatus | None = None,
    dedupe_key: str | None = None,
    **facts: Any,
) -> TicketNotice | None:
    """Append a ticket event, its logbook entry and its notice; None if a duplicate.

    ``ticket`` is the ticket before the change; ``facts`` are the notice's optional fields
    (``reason``, ``deadline`` …), also kept in the event's data."""
    to = to_status or ticket.status
    body = {k: v for k, v in facts.items() if v is not None}
    values = {
        "ticket_id": ticket.id,
        "ts": ts,
        "type": type_,
        "actor": actor,
        "from_status": ticket.status,
        "to_status": to,
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
    cycle = ticket.cycle.number + (1 if type_ in (TicketEvent.REOPEN, TicketEvent.REOPENED) else 0)
    notice = TicketNotice(
        event=type_.value,
        event_id=int(event_id[0]),
        ticket_id=ticket.id,
        equipment=ticket.equipment,
        ticket_class=ticket.ticket_class,
        title=ticket.title,
        status=to.value,
        cycle=cycle,
        actor=actor,
        at=str(iso(ts)),
        message=message,
        text=EVENT_TEXT[type_],
        **body,
    )
    logbook.append(
        conn,
        logbook.LogEntry(
            ts,
            ticket.equipment[:64],
            "ticket",
            f"工单#{ticket.id} {EVENT_TEXT[type_]}：{message}（{STATUS_TEXT[to]}）",
            actor,
            {"ticket_id": ticket.id, "event": type_.value, "cycle": cycle, **body},
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


def get_ticket(conn: Connection, ticket_id: int) -> Ticket | None:
    row = conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id)).mappings().first()
    return None if row is None else ticket_of(row)


def live_ticket(conn: Connection, fingerprint: str) -> Ticket | None:
    query = sa.select(tickets).where(
        tickets.c.fingerprint == fingerprint, tickets.c.status.not_in(FINAL)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else ticket_of(row)


def last_closed(conn: Connection, fingerprint: str) -> Ticket | None:
    """The most recent closed ticket of this alert fingerprint."""
    query = (
        sa.select(tickets)
        .where(tickets.c.fingerprint == fingerprint, tickets.c.status == TicketStatus.CLOSED)
        .order_by(tickets.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else ticket_of(row)


def update_ticket(conn: Connection, ticket: Ticket, **values: Any) -> Ticket | None:
    """Compare-and-set on ``version``: None when someone else changed the ticket first."""
    done = conn.execute(
        tickets.update()
        .where(tickets.c.id == ticket.id, tickets.c.version == ticket.version)
        .values(version=tickets.c.version + 1, **values)
    )
    if done.rowcount != 1:
        return None
    return get_ticket(conn, ticket.id)


def reopen_ticket(
    conn: Connection,
    ticket: Ticket,
    alerts_config: AlertsConfig,
    now: datetime,
    event: TicketEvent,
    actor: str,
    message: str,
    **facts: Any,
) -> tuple[Ticket, TicketNotice] | None:
    """Start a new cycle — the one reopen of every path (the engine's recurrence of a resolved
    or closed ticket, a person's reopen, an unsatisfied callback): the finished cycle is kept
    in ``ticket_cycles`` as it was, the ticket gets ``core.tickets.reopen``'s fresh cycle.
    None when someone else changed the ticket first."""
    deadlines = alerts_config.deadlines_for(TicketClass(ticket.ticket_class))
    fresh = reopen(ticket.cycle, now, deadlines)
    conn.execute(
        ticket_cycles.insert().values(
            ticket_id=ticket.id, status=ticket.status, **cycle_values(ticket.cycle)
        )
    )
    updated = update_ticket(
        conn,
        ticket,
        status=TicketStatus.REOPENED,
        fault_active=True if event is TicketEvent.REOPENED else ticket.fault_active,
        recovered_at=None if event is TicketEvent.REOPENED else ticket.recovered_at,
        **cycle_values(fresh),
    )
    if updated is None:
        return None
    notice = add_event(
        conn,
        ticket,
        event,
        now,
        message,
        actor=actor,
        to_status=TicketStatus.REOPENED,
        respond_by=iso(fresh.respond_by),
        on_site_by=iso(fresh.on_site_by),
        resolve_by=iso(fresh.resolve_by),
        **facts,
    )
    assert notice is not None
    return updated, notice


def callback_of(conn: Connection, ticket_id: int, cycle: int) -> Callback | None:
    """The latest callback of a ticket's cycle."""
    query = (
        sa.select(callbacks)
        .where(callbacks.c.ticket_id == ticket_id, callbacks.c.cycle == cycle)
        .order_by(callbacks.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else _callback(row)


def _callback(row: RowMapping) -> Callback:
    return Callback(
        ticket_id=int(row["ticket_id"]),
        cycle=int(row["cycle"]),
        by=str(row["by"]),
        at=_aware(row["at"]),
        satisfied=bool(row["satisfied"]),
        remarks=str(row["remarks"]),
    )


def record_callback(
    engine: Engine,
    ticket_id: int,
    callback_by: str,
    called_at: datetime,
    satisfied: bool,
    remarks: str,
    actor: str,
    now: datetime,
    policy: TicketPolicy,
    reopen_if_unsatisfied: bool = False,
) -> tuple[Ticket, list[TicketNotice]]:
    """Record the callback (回访) of a resolved ticket's cycle; an unsatisfied one reopens the
    ticket when asked to. Raises TicketError saying why not."""
    with engine.begin() as conn:
        ticket = get_ticket(conn, ticket_id)
        if ticket is None:
            raise TicketError(f"no ticket {ticket_id}")
        if ticket.status is not TicketStatus.RESOLVED:
            raise TicketError(f"ticket {ticket_id} is {ticket.status}; a callback follows 完工")
        if called_at > now:
            raise TicketError("a callback cannot be in the future")
        if ticket.cycle.resolved_at is not None and called_at < ticket.cycle.resolved_at:
            raise TicketError("a callback cannot be before the repair was resolved")
        if reopen_if_unsatisfied and satisfied:
            raise TicketError("only an unsatisfied callback reopens the ticket")
        conn.execute(
            callbacks.insert().values(
                ticket_id=ticket_id,
                cycle=ticket.cycle.number,
                by=callback_by,
                at=called_at,
                satisfied=satisfied,
                remarks=remarks,
                recorded_by=actor,
                recorded_at=now,
            )
        )
        # a version bump, so a concurrent close sees the callback it relies on
        bumped = update_ticket(conn, ticket)
        if bumped is None:
            raise TicketError(f"ticket {ticket_id} changed meanwhile; try again")
        verdict = "满意" if satisfied else "不满意"
        notice = add_event(
            conn,
            ticket,
            TicketEvent.CALLBACK,
            now,
            f"{callback_by} 回访：{verdict}" + (f"，{remarks}" if remarks else ""),
            actor=actor,
            satisfied=satisfied,
        )
        assert notice is not None
        notices = [notice]
        if reopen_if_unsatisfied:
            reopened = reopen_ticket(
                conn,
                bumped,
                policy.alerts,
                now,
                TicketEvent.REOPEN,
                actor,
                f"回访不满意，重开：{remarks}" if remarks else "回访不满意，重开",
                reason=remarks or None,
            )
            if reopened is None:
                raise TicketError(f"ticket {ticket_id} changed meanwhile; try again")
            bumped, reopen_notice = reopened
            notices.append(reopen_notice)
        return bumped, notices


def transition(
    engine: Engine,
    ticket_id: int,
    action_name: str,
    actor: str,
    now: datetime,
    policy: TicketPolicy,
    reason: str | None = None,
) -> tuple[Ticket, TicketNotice]:
    """A person moves a ticket (``core.tickets.ACTIONS``); raises TicketError saying why not.

    Closing needs a callback of the cycle (回访: "真正的结束是在回访后"); closing after an
    unsatisfied one needs a reason too."""
    action = ACTIONS.get(action_name)
    if action is None:
        raise TicketError(f"unknown transition {action_name!r} (known: {', '.join(ACTIONS)})")
    if action.needs_reason and not (reason and reason.strip()):
        raise TicketError(f"{action_name} needs a reason")
    with engine.begin() as conn:
        ticket = get_ticket(conn, ticket_id)
        if ticket is None:
            raise TicketError(f"no ticket {ticket_id}")
        if action_name not in ticket.allowed():
            raise TicketError(
                f"ticket {ticket_id} ({ticket.ticket_class}) is {ticket.status}; "
                f"cannot {action_name}"
            )
        if action.name is TicketEvent.CLOSE:
            callback = callback_of(conn, ticket_id, ticket.cycle.number)
            if callback is None:
                raise TicketError(
                    f"ticket {ticket_id} needs a callback record before closing "
                    f"(POST /tickets/{ticket_id}/callback)"
                )
            if not callback.satisfied and not (reason and reason.strip()):
                raise TicketError(
                    f"ticket {ticket_id}'s callback was unsatisfied: reopen it, or close "
                    "with a comment saying why"
                )
        message = reason or EVENT_TEXT[action.name]
        if action.name is TicketEvent.REOPEN:
            reopened = reopen_ticket(
                conn, ticket, policy.alerts, now, action.name, actor, message, reason=reason
            )
            if reopened is None:
                raise TicketError(f"ticket {ticket_id} changed meanwhile; try again")
            return reopened
        values: dict[str, Any] = {}
        if action.to is not None:
            values["status"] = action.to
        # only the time this action records, and only its first record: other columns of the
        # cycle (the escalation level) may be moving under us without a version bump
        if action.stamp is not None and getattr(ticket.cycle, action.stamp) is None:
            values[action.stamp] = now
            if action.name is TicketEvent.RESOLVE:
                # in UTC: SQLite keeps no offset
                values["callback_by"] = policy.callback_due(now).astimezone(UTC)
        updated = update_ticket(conn, ticket, **values)
        if updated is None:
            raise TicketError(f"ticket {ticket_id} changed meanwhile; try again")
        notice = add_event(
            conn,
            ticket,
            action.name,
            now,
            message,
            actor=actor,
            to_status=action.to,
            reason=reason,
        )
        assert notice is not None
        return updated, notice


def within(ts: datetime | None, now: datetime, window: timedelta) -> bool:
    ts = aware(ts)
    return ts is not None and now - ts <= window
