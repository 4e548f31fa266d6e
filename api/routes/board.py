"""The alarm board's snapshot: fire incidents, firing alarms, live tickets with deadlines."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter

from api.context import ApiContext, ContextDep
from api.deps import AlertsDep, TicketsDep
from api.handover import ensure_drafts
from api.schemas_tickets import BoardOut, HandoverFlag
from api.ticket_views import alert_out, incident_out, ticket_out
from storage import handovers
from storage.handovers import STATUS_ZH

router = APIRouter(tags=["board"])

_FAR = datetime.max.replace(tzinfo=UTC)


@router.get("/board", response_model=BoardOut)
def board(ctx: ContextDep, tickets: TicketsDep, alerts: AlertsDep) -> BoardOut:
    """What the monitoring room's screen shows; it reloads this on every stream event."""
    now = ctx.clock.now()
    incidents = [incident_out(ctx, i) for i in alerts.active_incidents()]
    alarms = [alert_out(ctx, a) for a in alerts.find(["firing"])]
    live = [ticket_out(ctx, t, now) for t in tickets.live(now)]
    live.sort(key=lambda t: t.deadline.at if t.deadline else _FAR)
    overdue = overdue_handovers(ctx)
    return BoardOut(
        now=now,
        site=ctx.site.site.id,
        site_name=ctx.site.site.name,
        timezone=ctx.site.site.timezone,
        machines={eq.id: eq.name for eq in ctx.site.equipment},
        incidents=incidents,
        alarms=alarms,
        tickets=live,
        handovers_overdue=overdue,
    )


def overdue_handovers(ctx: ApiContext) -> list[HandoverFlag]:
    """Handovers still unsigned or unaccepted past the grace after their shift's end."""
    rota = ctx.site.shifts
    if rota is None:
        return []
    ensure_drafts(ctx)
    now = ctx.clock.now()
    tz = ZoneInfo(ctx.site.site.timezone)
    with ctx.records.engine.connect() as conn:
        late = handovers.not_accepted(conn, ctx.site.site.id, now - rota.handover_grace)
    return [
        HandoverFlag(
            id=h.id,
            shift_name=h.shift_name,
            shift_end=h.shift_end.astimezone(tz),
            status=h.status.value,
            status_name=STATUS_ZH[h.status],
        )
        for h in late
    ]
