"""Alert, ticket and incident records as the API shows them (names, deadlines, allowed moves)."""

from __future__ import annotations

from datetime import datetime

from api.context import ApiContext
from api.kpis import TicketFacts
from api.lookup import display_name
from api.schemas_tickets import (
    AlertOut,
    CallbackOut,
    CycleOut,
    Deadline,
    IncidentOut,
    TicketEventOut,
    TicketOut,
)
from core.subjects import subject_building_name
from core.tickets import (
    EVENT_TEXT,
    STATUS_TEXT,
    Callback,
    Cycle,
    Ticket,
    TicketEvent,
    TicketStatus,
    deadline_text,
    next_deadline,
)
from storage.ticket_queries import IncidentRecord, TicketEventRecord
from storage.tickets import AlertRecord


def facts(t: Ticket) -> TicketFacts:
    """The current cycle of a ticket as the KPI module's facts."""
    c = t.cycle
    return TicketFacts(
        id=t.id,
        equipment=t.equipment,
        ticket_class=t.ticket_class,
        status=t.status.value,
        opened_at=t.opened_at,
        cycle=c.number,
        cycle_start=c.start,
        respond_by=c.respond_by,
        on_site_by=c.on_site_by,
        resolve_by=c.resolve_by,
        acknowledged_at=c.acknowledged_at,
        on_site_at=c.on_site_at,
        resolved_at=c.resolved_at,
        closed_at=c.closed_at,
    )


def _building(ctx: ApiContext, subject: str) -> tuple[str | None, str | None]:
    """The building id (of a machine) and the building name(s) of what a subject covers."""
    try:
        building: str | None = ctx.site.machine(subject).building
    except KeyError:
        building = None
    return building, subject_building_name(ctx.site, subject)


def _deadline(t: Ticket) -> Deadline | None:
    if t.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.CANCELLED):
        return None
    upcoming = next_deadline(t.cycle, t.ticket_class)
    if upcoming is None:
        return None
    kind, at = upcoming
    return Deadline(kind=kind.value, at=at, text=deadline_text(kind, t.ticket_class))


def ticket_out(ctx: ApiContext, t: Ticket, now: datetime) -> TicketOut:
    building, building_name = _building(ctx, t.equipment)
    c = t.cycle
    return TicketOut(
        id=t.id,
        equipment=t.equipment,
        equipment_name=display_name(ctx, t.equipment),
        building=building,
        building_name=building_name,
        ticket_class=t.ticket_class,
        title=t.title,
        severity=t.severity,
        status=t.status.value,
        status_text=STATUS_TEXT[t.status],
        manual=t.manual,
        category=t.category,
        fault_active=t.fault_active,
        opened_at=t.opened_at,
        cycle=c.number,
        cycle_start=c.start,
        respond_by=c.respond_by,
        on_site_by=c.on_site_by,
        resolve_by=c.resolve_by,
        acknowledged_at=c.acknowledged_at,
        staff_on_site_at=c.staff_on_site_at,
        on_site_at=c.on_site_at,
        released_at=c.released_at,
        resolved_at=c.resolved_at,
        closed_at=c.closed_at,
        recovered_at=t.recovered_at,
        escalation_level=c.escalation_level,
        overdue=t.overdue(now),
        deadline=_deadline(t),
        allowed=t.allowed(),
    )


def cycle_out(c: Cycle, status: TicketStatus) -> CycleOut:
    return CycleOut(
        cycle=c.number,
        status=status.value,
        cycle_start=c.start,
        respond_by=c.respond_by,
        on_site_by=c.on_site_by,
        resolve_by=c.resolve_by,
        acknowledged_at=c.acknowledged_at,
        staff_on_site_at=c.staff_on_site_at,
        on_site_at=c.on_site_at,
        released_at=c.released_at,
        resolved_at=c.resolved_at,
        closed_at=c.closed_at,
        escalation_level=c.escalation_level,
    )


def callback_out(c: Callback) -> CallbackOut:
    return CallbackOut(cycle=c.cycle, by=c.by, at=c.at, satisfied=c.satisfied, remarks=c.remarks)


def event_out(e: TicketEventRecord) -> TicketEventOut:
    try:
        text = EVENT_TEXT[TicketEvent(e.type)]
    except ValueError:
        text = e.type
    return TicketEventOut(
        id=e.id,
        ts=e.ts,
        type=e.type,
        text=text,
        actor=e.actor,
        from_status=e.from_status,
        to_status=e.to_status,
        message=e.message,
        data=e.data,
    )


def alert_out(ctx: ApiContext, a: AlertRecord) -> AlertOut:
    _building_id, building_name = _building(ctx, a.subject)
    return AlertOut(
        id=a.fingerprint,
        rule_id=a.rule_id,
        equipment=a.subject,
        equipment_name=display_name(ctx, a.subject),
        building_name=building_name,
        title=a.title,
        severity=a.severity,
        ticket_class=a.ticket_class,
        status=a.status,
        episode=a.episode,
        since=a.firing_since or a.pending_since,
        resolved_at=a.resolved_at,
        flapping=a.flapping,
        suppressed=a.suppressed,
        acknowledged_by=a.acked_by,
    )


def incident_out(ctx: ApiContext, i: IncidentRecord) -> IncidentOut:
    _building_id, building_name = _building(ctx, i.equipment)
    return IncidentOut(
        id=i.id,
        equipment=i.equipment,
        equipment_name=display_name(ctx, i.equipment),
        building_name=building_name,
        title=i.title,
        severity=i.severity,
        started_at=i.started_at,
    )
