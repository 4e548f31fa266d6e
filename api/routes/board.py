"""The alarm board's snapshot: fire incidents, firing alarms, live tickets with deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from api.auth import CurrentUser
from api.board_view import fire_details, fold_held_back, machine_tiles
from api.context import ApiContext, ContextDep
from api.deps import AlertsDep, TicketsDep
from api.handover import ensure_drafts
from api.routes.planned import planned_out
from api.schemas_planned import PlannedOut
from api.schemas_tickets import AlertOut, BoardOut, HandoverFlag, SilenceOut
from api.ticket_views import alert_out, incident_out, ticket_out
from core.catalogue import KindSpec
from core.rules import Rule, effective_rules
from core.workorders import OPEN, OrderSource, OrderStatus
from storage import handovers, logbook, planned
from storage.handovers import STATUS_ZH
from storage.logbook_query import LogQuery, log_event, read_all, read_entry

router = APIRouter(tags=["board"])

_FAR = datetime.max.replace(tzinfo=UTC)
FLAG_RECENT = timedelta(days=1)  # a contradicted round stays on the board this long


@router.get("/board", response_model=BoardOut)
def board(ctx: ContextDep, tickets: TicketsDep, alerts: AlertsDep) -> BoardOut:
    """What the monitoring room's screen shows; it reloads this on every stream event."""
    now = ctx.clock.now()
    latest = ctx.store.latest(eq.id for eq in ctx.site.equipment)
    incidents = [incident_out(ctx, i) for i in alerts.active_incidents()]
    firing = [alert_out(ctx, a) for a in alerts.find(["firing"])]
    live = [ticket_out(ctx, t, now) for t in tickets.live(now)]
    live.sort(key=lambda t: t.deadline.at if t.deadline else _FAR)
    rules = site_rules(ctx)
    silenced = _silences(ctx, firing)
    alarms = [
        a.model_copy(update=silenced.get((a.id, a.episode), {}))
        for a in fold_held_back(firing, rules)
    ]
    on_site = {t.equipment for t in live if t.status == "on_site"}
    comms = {rule_id for rule_id, rule in rules.items() if rule.is_comms}
    overdue = overdue_handovers(ctx)
    return BoardOut(
        now=now,
        site=ctx.site.site.id,
        site_name=ctx.site.site.name,
        timezone=ctx.site.site.timezone,
        machines={eq.id: eq.name for eq in ctx.site.equipment},
        buildings=machine_tiles(ctx.site, ctx.catalogue, latest, alarms, comms, on_site, now),
        incidents=[fire_details(i, latest, _kind(ctx, i.equipment)) for i in incidents],
        alarms=alarms,
        tickets=live,
        handovers_overdue=overdue,
        planned=planned_flags(ctx, now),
    )


def site_rules(ctx: ApiContext) -> dict[str, Rule]:
    """Every rule of the site by id (for what inhibits what, and which are about comms)."""
    rules: dict[str, Rule] = {}
    for eq in ctx.site.equipment:
        signals = set(ctx.catalogue.kind(eq.kind).signals)
        for rule in effective_rules(eq.kind, eq.role, ctx.site.alerts.rules, eq.rules, signals):
            rules.setdefault(rule.id, rule)
    for kind in ("gateway", "site"):
        for rule in effective_rules(kind, None, ctx.site.alerts.rules, {}, set()):
            rules.setdefault(rule.id, rule)
    return rules


SILENCED = "silenced"  # the logbook entry type of a silenced alarm sound


def _silences(ctx: ApiContext, alarms: list[AlertOut]) -> dict[tuple[str, int], dict[str, object]]:
    """Who silenced each firing alarm's episode, and when (from the logbook)."""
    since = min((a.since for a in alarms if a.since is not None), default=None)
    if since is None:
        return {}
    found: dict[tuple[str, int], dict[str, object]] = {}
    with ctx.records.engine.connect() as conn:
        entries = list(read_all(conn, LogQuery(types=[SILENCED], start=since), cap=10_000))
    for stored in entries:
        if stored.problem is not None:  # a corrupt row names no silence (verify reports it)
            continue
        data = stored.entry.data
        key = (str(data.get("alarm")), int(data.get("episode", -1)))
        found[key] = {"silenced_by": stored.entry.actor, "silenced_at": stored.entry.ts}
    return found


@router.post("/board/silence", response_model=SilenceOut)
def silence(
    ctx: ContextDep,
    user: CurrentUser,
    alerts: AlertsDep,
    alarm: Annotated[
        list[str], Query(max_length=500, description="ids of the alarms whose sound stops")
    ],
) -> SilenceOut:
    """Stop the board's sound for these firing alarms (a new alarm sounds again). Each is
    recorded in its machine's logbook with who and when; nothing is acknowledged by it.
    The ids go in the query (``?alarm=…&alarm=…``): no body, so the monitoring room's
    screen can do it with the key it reads with (a viewer's, or none on the demo)."""
    now = ctx.clock.now()
    wanted = set(alarm)
    firing = [alert_out(ctx, a) for a in alerts.find(["firing"]) if a.fingerprint in wanted]
    with ctx.records.engine.begin() as conn:
        stored = [
            read_entry(
                conn,
                logbook.append(
                    conn,
                    logbook.LogEntry(
                        now,
                        sounding.equipment,
                        SILENCED,
                        f"报警声已消音：{sounding.title}",
                        user.actor,
                        {"alarm": sounding.id, "episode": sounding.episode},
                    ),
                ),
            )
            for sounding in firing
        ]
    for entry, sounding in zip(stored, firing, strict=True):
        ctx.events.publish(log_event(entry, sounding.equipment_name))
    return SilenceOut(at=now, by=user.actor, silenced=len(firing))


def planned_flags(ctx: ApiContext, now: datetime) -> list[PlannedOut]:
    """Planned work the room should see: open orders overdue, certificate renewals, and
    rounds of the last day whose answers the telemetry contradicted."""
    with ctx.records.engine.connect() as conn:
        found = planned.find(conn, statuses=OPEN)
        recent = planned.find(conn, statuses=[OrderStatus.DONE], due_from=now - FLAG_RECENT)
    flagged = [o for o in found if o.overdue(now) or o.source is OrderSource.CERTIFICATE]
    flagged += [
        o
        for o in recent
        if o.result
        and o.result.get("contradictions")
        and o.finished_at is not None
        and now - o.finished_at <= FLAG_RECENT
    ]
    return [planned_out(ctx, o, now) for o in sorted(flagged, key=lambda o: o.due_by)]


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


def _kind(ctx: ApiContext, equipment: str) -> KindSpec | None:
    try:
        return ctx.catalogue.kind(ctx.site.machine(equipment).kind)
    except KeyError:
        return None
