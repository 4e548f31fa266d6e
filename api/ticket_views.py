"""Alert, ticket and incident rows as the API shows them (names, deadlines, allowed moves)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.engine import RowMapping

from api.context import ApiContext
from api.kpis import TicketFacts, overdue
from api.lookup import display_name
from api.schemas_tickets import AlertOut, Deadline, IncidentOut, TicketEventOut, TicketOut
from core.tickets import ACTIONS, TicketStatus
from storage.ticket_desk import MANUAL_RULE, acked_by
from storage.tickets import aware


def _at(value: Any) -> datetime | None:
    return aware(value) if isinstance(value, datetime) else None


def facts(row: RowMapping) -> TicketFacts:
    opened = _at(row["opened_at"])
    assert opened is not None
    return TicketFacts(
        id=int(row["id"]),
        equipment=str(row["equipment"]),
        ticket_class=str(row["ticket_class"]),
        status=str(row["status"]),
        opened_at=opened,
        cycle=int(row["cycle"]),
        cycle_start=_at(row["cycle_start"]),
        respond_by=_at(row["respond_by"]),
        on_site_by=_at(row["on_site_by"]),
        resolve_by=_at(row["resolve_by"]),
        acknowledged_at=_at(row["acknowledged_at"]),
        on_site_at=_at(row["on_site_at"]),
        resolved_at=_at(row["resolved_at"]),
        closed_at=_at(row["closed_at"]),
    )


def next_deadline(t: TicketFacts) -> Deadline | None:
    """The first deadline still to meet: respond, then on site, then resolve."""
    if t.status in ("closed", "cancelled", "resolved"):
        return None
    steps = (
        ("respond", t.respond_by, t.responded_at),
        ("on_site", t.on_site_by, t.arrived_at),
        ("resolve", t.resolve_by, t.resolved_at),
    )
    for kind, due, done in steps:
        if due is not None and done is None:
            return Deadline(kind=kind, at=due)
    return None


def allowed(status: str) -> list[str]:
    try:
        current = TicketStatus(status)
    except ValueError:
        return []
    return [name for name, action in ACTIONS.items() if current in action.allowed_from]


def _building(ctx: ApiContext, equipment: str) -> tuple[str | None, str | None]:
    try:
        eq = ctx.site.machine(equipment)
    except KeyError:
        return None, None
    return eq.building, ctx.site.building(eq.building).name


def ticket_out(ctx: ApiContext, row: RowMapping, now: datetime) -> TicketOut:
    t = facts(row)
    building, building_name = _building(ctx, t.equipment)
    return TicketOut(
        id=t.id,
        equipment=t.equipment,
        equipment_name=display_name(ctx, t.equipment),
        building=building,
        building_name=building_name,
        ticket_class=t.ticket_class,
        title=str(row["title"]),
        severity=str(row["severity"]),
        status=t.status,
        manual=row["rule_id"] == MANUAL_RULE,
        fault_active=bool(row["fault_active"]),
        opened_at=t.opened_at,
        cycle=t.cycle,
        respond_by=t.respond_by,
        on_site_by=t.on_site_by,
        resolve_by=t.resolve_by,
        acknowledged_at=t.acknowledged_at,
        on_site_at=t.on_site_at,
        resolved_at=t.resolved_at,
        closed_at=t.closed_at,
        recovered_at=_at(row["recovered_at"]),
        escalation_level=int(row["escalation_level"]),
        overdue=overdue(t, now),
        deadline=next_deadline(t),
        allowed=allowed(t.status),
    )


def event_out(row: RowMapping) -> TicketEventOut:
    ts = _at(row["ts"])
    assert ts is not None
    return TicketEventOut(
        id=int(row["id"]),
        ts=ts,
        type=str(row["type"]),
        actor=str(row["actor"]),
        from_status=row["from_status"],
        to_status=row["to_status"],
        message=str(row["message"]),
        data=json.loads(row["data"] or "{}"),
    )


def alert_out(ctx: ApiContext, row: RowMapping) -> AlertOut:
    _building_id, building_name = _building(ctx, str(row["subject"]))
    return AlertOut(
        id=str(row["fingerprint"]),
        rule_id=str(row["rule_id"]),
        equipment=str(row["subject"]),
        equipment_name=display_name(ctx, str(row["subject"])),
        building_name=building_name,
        title=str(row["title"]),
        severity=str(row["severity"]),
        ticket_class=str(row["ticket_class"]),
        status=str(row["status"]),
        episode=int(row["episode"]),
        since=_at(row["firing_since"]) or _at(row["pending_since"]),
        resolved_at=_at(row["resolved_at"]),
        flapping=bool(row["flapping"]),
        suppressed=bool(row["suppressed"]),
        acknowledged_by=acked_by(row),
    )


def incident_out(ctx: ApiContext, row: RowMapping) -> IncidentOut:
    _building_id, building_name = _building(ctx, str(row["equipment"]))
    started = _at(row["started_at"])
    assert started is not None
    return IncidentOut(
        id=int(row["id"]),
        equipment=str(row["equipment"]),
        equipment_name=display_name(ctx, str(row["equipment"])),
        building_name=building_name,
        title=str(row["title"]),
        severity=str(row["severity"]),
        started_at=started,
    )
