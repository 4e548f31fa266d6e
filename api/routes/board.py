"""The alarm board's snapshot: fire incidents, firing alarms, live tickets with deadlines."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from api.context import ContextDep
from api.schemas_tickets import BoardOut
from api.ticket_views import alert_out, incident_out, ticket_out
from storage.ticket_queries import TicketFilter, active_incidents, find_alerts, find_tickets

router = APIRouter(tags=["board"])

_FAR = datetime.max.replace(tzinfo=UTC)


@router.get("/board", response_model=BoardOut)
def board(ctx: ContextDep) -> BoardOut:
    """What the monitoring room's screen shows; it reloads this on every stream event."""
    now = ctx.clock.now()
    with ctx.records.engine.connect() as conn:
        incidents = [incident_out(ctx, r) for r in active_incidents(conn)]
        alarms = [alert_out(ctx, r) for r in find_alerts(conn, ["firing"])]
        live = [ticket_out(ctx, r, now) for r in find_tickets(conn, TicketFilter(live_only=True))]
    live.sort(key=lambda t: t.deadline.at if t.deadline else _FAR)
    return BoardOut(
        now=now,
        site=ctx.site.site.id,
        site_name=ctx.site.site.name,
        timezone=ctx.site.site.timezone,
        machines={eq.id: eq.name for eq in ctx.site.equipment},
        incidents=incidents,
        alarms=alarms,
        tickets=live,
    )
