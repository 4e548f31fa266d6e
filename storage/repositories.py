"""Repositories of the records DB: what the API asks of tickets and alerts, typed in and out.

Each method is one transaction; rows come back as ``core`` or ``storage`` dataclasses. The
API reaches the records only through these (``api.deps``), never through the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from core.kpis import KpiRow
from core.notices import AlertNotice, TicketNotice
from core.tickets import Callback, Cycle, Due, Ticket, TicketPolicy, TicketStatus
from storage.kpi_queries import kpis
from storage.ticket_desk import ack_alert, open_manual_ticket
from storage.ticket_queries import (
    IncidentRecord,
    TicketEventRecord,
    TicketFilter,
    active_incidents,
    alerts_with,
    callbacks_of,
    earlier_cycles,
    events_of,
    find_alerts,
    find_tickets,
    get_ticket,
)
from storage.tickets import AlertRecord, record_callback, transition


@dataclass(frozen=True, slots=True)
class TicketHistory:
    """A ticket with everything that happened to it."""

    ticket: Ticket
    earlier_cycles: list[tuple[Cycle, TicketStatus]]
    callbacks: list[Callback]
    events: list[TicketEventRecord]
    alerts: list[AlertRecord]


class TicketRepository:
    """Tickets: read a page or one with its history, open one, move one, record a callback."""

    def __init__(self, engine: Engine, policy: TicketPolicy) -> None:
        self._engine = engine
        self._policy = policy

    def page(
        self, f: TicketFilter, now: datetime, limit: int, offset: int
    ) -> tuple[list[Ticket], int]:
        """One page, newest first (paged in SQL), and how many match in all."""
        with self._engine.connect() as conn:
            return find_tickets(conn, f, now, limit, offset)

    def kpis(
        self, machines: list[tuple[str, str]], start: datetime, end: datetime, now: datetime
    ) -> dict[str, KpiRow]:
        """The KPIs (``core.kpis``) of the cycles started in [start, end), as of ``now``."""
        with self._engine.connect() as conn:
            return kpis(conn, machines, start, end, now)

    def counts_now(self, now: datetime) -> tuple[int, int]:
        """(live tickets, overdue ones) at ``now``, counted in SQL."""
        with self._engine.connect() as conn:
            live = find_tickets(conn, TicketFilter(live_only=True), now, limit=1)[1]
            overdue = find_tickets(conn, TicketFilter(overdue=True), now, limit=1)[1]
        return live, overdue

    def live(self, now: datetime) -> list[Ticket]:
        with self._engine.connect() as conn:
            return find_tickets(conn, TicketFilter(live_only=True), now)[0]

    def get(self, ticket_id: int) -> Ticket | None:
        if not 0 < ticket_id < 2**62:
            return None
        with self._engine.connect() as conn:
            return get_ticket(conn, ticket_id)

    def history(self, ticket_id: int) -> TicketHistory | None:
        if not 0 < ticket_id < 2**62:
            return None
        with self._engine.connect() as conn:
            ticket = get_ticket(conn, ticket_id)
            if ticket is None:
                return None
            return TicketHistory(
                ticket,
                earlier_cycles(conn, ticket_id),
                callbacks_of(conn, ticket_id),
                events_of(conn, ticket_id),
                alerts_with(conn, ticket.fingerprint),
            )

    def open_manual(
        self,
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
        with self._engine.begin() as conn:
            return open_manual_ticket(
                conn,
                equipment,
                ticket_class,
                title,
                severity,
                due,
                actor,
                now,
                description,
                category,
            )

    def move(
        self, ticket_id: int, action: str, actor: str, now: datetime, reason: str | None
    ) -> tuple[Ticket, TicketNotice]:
        """A person's transition; raises ``storage.tickets.TicketError`` saying why not."""
        return transition(self._engine, ticket_id, action, actor, now, self._policy, reason)

    def callback(
        self,
        ticket_id: int,
        by: str,
        at: datetime,
        satisfied: bool,
        remarks: str,
        actor: str,
        now: datetime,
        reopen: bool,
    ) -> tuple[Ticket, list[TicketNotice]]:
        """Record a callback (回访); raises ``TicketError`` saying why not."""
        return record_callback(
            self._engine, ticket_id, by, at, satisfied, remarks, actor, now, self._policy, reopen
        )


class AlertRepository:
    """Alerts and incidents: what is firing, acknowledging an alarm."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def find(self, statuses: list[str], equipment: str | None = None) -> list[AlertRecord]:
        with self._engine.connect() as conn:
            return find_alerts(conn, statuses, equipment)

    def acknowledge(
        self, fingerprint: str, actor: str, now: datetime
    ) -> tuple[AlertRecord, AlertNotice] | None:
        with self._engine.begin() as conn:
            return ack_alert(conn, fingerprint, actor, now)

    def active_incidents(self) -> list[IncidentRecord]:
        with self._engine.connect() as conn:
            return active_incidents(conn)
