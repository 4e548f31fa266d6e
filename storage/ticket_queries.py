"""Reading alerts, tickets and incidents for the API: filters, pages, and related rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from core.tickets import FINAL
from storage.tickets import alerts, incidents, ticket_events, tickets

_FINAL = [s.value for s in FINAL]


@dataclass(frozen=True, slots=True)
class TicketFilter:
    statuses: Sequence[str] = ()
    ticket_class: str | None = None
    equipment: Sequence[str] | None = None  # None: any machine
    live_only: bool = False


def _where(query: sa.Select[tuple[object, ...]], f: TicketFilter) -> sa.Select[tuple[object, ...]]:
    if f.statuses:
        query = query.where(tickets.c.status.in_(list(f.statuses)))
    if f.ticket_class is not None:
        query = query.where(tickets.c.ticket_class == f.ticket_class)
    if f.equipment is not None:
        query = query.where(tickets.c.equipment.in_(list(f.equipment)))
    if f.live_only:
        query = query.where(tickets.c.status.not_in(_FINAL))
    return query


def find_tickets(conn: Connection, f: TicketFilter) -> list[RowMapping]:
    """Every ticket matching ``f``, newest first."""
    query = _where(sa.select(tickets), f).order_by(tickets.c.id.desc())
    return list(conn.execute(query).mappings())


def get_ticket(conn: Connection, ticket_id: int) -> RowMapping | None:
    return conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id)).mappings().first()


def events_of(conn: Connection, ticket_id: int) -> list[RowMapping]:
    query = sa.select(ticket_events).where(ticket_events.c.ticket_id == ticket_id)
    return list(conn.execute(query.order_by(ticket_events.c.id)).mappings())


def alerts_with(conn: Connection, fingerprint: str) -> list[RowMapping]:
    query = sa.select(alerts).where(alerts.c.fingerprint == fingerprint)
    return list(conn.execute(query).mappings())


def find_alerts(
    conn: Connection, statuses: Sequence[str], equipment: str | None = None
) -> list[RowMapping]:
    """Alerts in these statuses (all when empty), most recently changed first."""
    query = sa.select(alerts)
    if statuses:
        query = query.where(alerts.c.status.in_(list(statuses)))
    if equipment is not None:
        query = query.where(alerts.c.subject == equipment)
    return list(conn.execute(query.order_by(alerts.c.updated_at.desc())).mappings())


def get_alert(conn: Connection, fingerprint: str) -> RowMapping | None:
    query = sa.select(alerts).where(alerts.c.fingerprint == fingerprint)
    return conn.execute(query).mappings().first()


def active_incidents(conn: Connection) -> list[RowMapping]:
    query = sa.select(incidents).where(incidents.c.ended_at.is_(None))
    return list(conn.execute(query.order_by(incidents.c.started_at.desc())).mappings())


def tickets_since(conn: Connection, since: datetime) -> list[RowMapping]:
    """Tickets opened since ``since``, and every ticket still live (for KPIs and reports)."""
    query = sa.select(tickets).where(
        sa.or_(tickets.c.opened_at >= since, tickets.c.status.not_in(_FINAL))
    )
    return list(conn.execute(query.order_by(tickets.c.id)).mappings())


def tickets_touching(conn: Connection, start: datetime, end: datetime) -> list[RowMapping]:
    """Tickets opened or closed within [start, end) (for the daily report)."""
    query = sa.select(tickets).where(
        sa.or_(
            sa.and_(tickets.c.opened_at >= start, tickets.c.opened_at < end),
            sa.and_(tickets.c.closed_at >= start, tickets.c.closed_at < end),
        )
    )
    return list(conn.execute(query.order_by(tickets.c.id)).mappings())


def tickets_live_at(conn: Connection, at: datetime) -> list[RowMapping]:
    """Tickets opened before ``at`` and not closed by then, cancelled ones left out (for the
    shift handover's carried-over tickets)."""
    query = sa.select(tickets).where(
        tickets.c.opened_at < at,
        tickets.c.status != "cancelled",
        sa.or_(tickets.c.closed_at.is_(None), tickets.c.closed_at >= at),
    )
    return list(conn.execute(query.order_by(tickets.c.id)).mappings())
