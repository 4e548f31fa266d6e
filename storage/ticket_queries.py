"""Reading alerts, tickets and incidents: filters and pages done in SQL, typed rows out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.rules import TicketClass
from core.tickets import FINAL, Callback, Cycle, DeadlineKind, Ticket, TicketStatus, met_by
from storage.tickets import (
    AlertRecord,
    _callback,
    alert_of,
    alerts,
    aware,
    callbacks,
    cycle_of,
    incidents,
    ticket_cycles,
    ticket_events,
    ticket_of,
    tickets,
)


@dataclass(frozen=True, slots=True)
class TicketFilter:
    statuses: Sequence[TicketStatus] = ()
    ticket_class: str | None = None
    equipment: Sequence[str] | None = None  # None: any machine
    live_only: bool = False
    overdue: bool | None = None  # None: either


@dataclass(frozen=True, slots=True)
class TicketEventRecord:
    id: int
    ticket_id: int
    ts: datetime
    type: str
    actor: str
    from_status: str | None
    to_status: str | None
    message: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    id: int
    fingerprint: str
    episode: int
    rule_id: str
    equipment: str
    title: str
    severity: str
    started_at: datetime
    ended_at: datetime | None


def _met(kind: DeadlineKind, table: sa.Table) -> sa.ColumnElement[Any]:
    """SQL: the time that met ``kind``'s deadline, or NULL (``core.tickets.met_by``)."""

    def first(ticket_class: str) -> sa.ColumnElement[Any]:
        columns = [table.c[f] for f in met_by(kind, ticket_class)]
        # any of them non-null is enough: "met or not" is all the filters ask
        return columns[0] if len(columns) == 1 else sa.func.coalesce(*columns)

    return sa.case(
        (table.c.ticket_class == TicketClass.ENTRAPMENT.value, first(TicketClass.ENTRAPMENT)),
        else_=first(TicketClass.GENERAL),
    )


def overdue_sql(now: datetime) -> sa.ColumnElement[bool]:
    """SQL for ``Ticket.overdue``: live, and a deadline past and not met."""
    due = {
        DeadlineKind.RESPOND: tickets.c.respond_by,
        DeadlineKind.ON_SITE: tickets.c.on_site_by,
        DeadlineKind.RESOLVE: tickets.c.resolve_by,
    }
    missed = [sa.and_(due[k] < now, _met(k, tickets).is_(None)) for k in DeadlineKind]
    return sa.and_(tickets.c.status.not_in(FINAL), sa.or_(*missed))


def _where(query: sa.Select[Any], f: TicketFilter, now: datetime) -> sa.Select[Any]:
    if f.statuses:
        query = query.where(tickets.c.status.in_(list(f.statuses)))
    if f.ticket_class is not None:
        query = query.where(tickets.c.ticket_class == f.ticket_class)
    if f.equipment is not None:
        query = query.where(tickets.c.equipment.in_(list(f.equipment)))
    if f.live_only:
        query = query.where(tickets.c.status.not_in(FINAL))
    if f.overdue is not None:
        overdue = overdue_sql(now)
        query = query.where(overdue if f.overdue else sa.not_(overdue))
    return query


def find_tickets(
    conn: Connection, f: TicketFilter, now: datetime, limit: int | None = None, offset: int = 0
) -> tuple[list[Ticket], int]:
    """One page of the tickets matching ``f``, newest first, and how many match in all."""
    total = conn.execute(_where(sa.select(sa.func.count()).select_from(tickets), f, now))
    query = _where(sa.select(tickets), f, now).order_by(tickets.c.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [ticket_of(r) for r in conn.execute(query).mappings()], int(total.scalar_one())


def get_ticket(conn: Connection, ticket_id: int) -> Ticket | None:
    row = conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id)).mappings().first()
    return None if row is None else ticket_of(row)


def earlier_cycles(conn: Connection, ticket_id: int) -> list[tuple[Cycle, TicketStatus]]:
    """The finished cycles of a reopened ticket, oldest first, with how each ended."""
    query = (
        sa.select(ticket_cycles)
        .where(ticket_cycles.c.ticket_id == ticket_id)
        .order_by(ticket_cycles.c.cycle)
    )
    return [(cycle_of(r), TicketStatus(r["status"])) for r in conn.execute(query).mappings()]


def callbacks_of(conn: Connection, ticket_id: int) -> list[Callback]:
    query = sa.select(callbacks).where(callbacks.c.ticket_id == ticket_id)
    return [_callback(r) for r in conn.execute(query.order_by(callbacks.c.id)).mappings()]


def events_of(conn: Connection, ticket_id: int) -> list[TicketEventRecord]:
    query = sa.select(ticket_events).where(ticket_events.c.ticket_id == ticket_id)
    return [
        TicketEventRecord(
            id=int(r["id"]),
            ticket_id=int(r["ticket_id"]),
            ts=aware(r["ts"]) or r["ts"],
            type=str(r["type"]),
            actor=str(r["actor"]),
            from_status=None if r["from_status"] is None else str(r["from_status"]),
            to_status=None if r["to_status"] is None else str(r["to_status"]),
            message=str(r["message"]),
            data=json.loads(r["data"] or "{}"),
        )
        for r in conn.execute(query.order_by(ticket_events.c.id)).mappings()
    ]


def alerts_with(conn: Connection, fingerprint: str) -> list[AlertRecord]:
    query = sa.select(alerts).where(alerts.c.fingerprint == fingerprint)
    return [alert_of(r) for r in conn.execute(query).mappings()]


def find_alerts(
    conn: Connection, statuses: Sequence[str], equipment: str | None = None
) -> list[AlertRecord]:
    """Alerts in these statuses (all when empty), most recently changed first."""
    query = sa.select(alerts)
    if statuses:
        query = query.where(alerts.c.status.in_(list(statuses)))
    if equipment is not None:
        query = query.where(alerts.c.subject == equipment)
    return [
        alert_of(r) for r in conn.execute(query.order_by(alerts.c.updated_at.desc())).mappings()
    ]


def get_alert(conn: Connection, fingerprint: str) -> AlertRecord | None:
    query = sa.select(alerts).where(alerts.c.fingerprint == fingerprint)
    row = conn.execute(query).mappings().first()
    return None if row is None else alert_of(row)


def active_incidents(conn: Connection) -> list[IncidentRecord]:
    query = sa.select(incidents).where(incidents.c.ended_at.is_(None))
    return [
        IncidentRecord(
            id=int(r["id"]),
            fingerprint=str(r["fingerprint"]),
            episode=int(r["episode"]),
            rule_id=str(r["rule_id"]),
            equipment=str(r["equipment"]),
            title=str(r["title"]),
            severity=str(r["severity"]),
            started_at=aware(r["started_at"]) or r["started_at"],
            ended_at=aware(r["ended_at"]),
        )
        for r in conn.execute(query.order_by(incidents.c.started_at.desc())).mappings()
    ]


def tickets_touching(conn: Connection, start: datetime, end: datetime) -> list[Ticket]:
    """Tickets opened or closed within [start, end) (for the daily report)."""
    query = sa.select(tickets).where(
        sa.or_(
            sa.and_(tickets.c.opened_at >= start, tickets.c.opened_at < end),
            sa.and_(tickets.c.closed_at >= start, tickets.c.closed_at < end),
        )
    )
    return [ticket_of(r) for r in conn.execute(query.order_by(tickets.c.id)).mappings()]


def tickets_since(conn: Connection, since: datetime) -> list[Ticket]:
    """Tickets opened since ``since``, and every ticket still live (for KPIs and reports)."""
    query = sa.select(tickets).where(
        sa.or_(tickets.c.opened_at >= since, tickets.c.status.not_in(FINAL))
    )
    return [ticket_of(r) for r in conn.execute(query.order_by(tickets.c.id)).mappings()]


def tickets_live_at(conn: Connection, at: datetime) -> list[Ticket]:
    """Tickets opened before ``at`` and not closed by then, cancelled ones left out (for the
    shift handover's carried-over tickets)."""
    query = sa.select(tickets).where(
        tickets.c.opened_at < at,
        tickets.c.status != TicketStatus.CANCELLED,
        sa.or_(tickets.c.closed_at.is_(None), tickets.c.closed_at >= at),
    )
    return [ticket_of(r) for r in conn.execute(query.order_by(tickets.c.id)).mappings()]
