"""Maintenance tickets (维修工单): list, detail, manual creation, lifecycle transitions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import RequireEngineer
from api.context import ContextDep
from api.errors import ApiError, bad_request, conflict, not_found
from api.lookup import machine_or_404
from api.schemas_tickets import TicketDetail, TicketIn, TicketOut, TicketPage, TransitionIn
from api.ticket_views import alert_out, allowed, event_out, ticket_out
from core.rules import TicketClass
from core.tickets import ACTIONS, TicketStatus, due_times
from storage.ticket_desk import open_manual_ticket
from storage.ticket_queries import (
    TicketFilter,
    alerts_with,
    events_of,
    find_tickets,
    get_ticket,
)
from storage.tickets import TicketError, transition

router = APIRouter(tags=["tickets"])

StatusParam = Annotated[
    list[TicketStatus] | None, Query(description="repeat to combine; default: all")
]


@router.get("/tickets", response_model=TicketPage)
def list_tickets(
    ctx: ContextDep,
    status: StatusParam = None,
    ticket_class: Annotated[TicketClass | None, Query(alias="class")] = None,
    building: Annotated[str | None, Query(max_length=64)] = None,
    equipment: Annotated[str | None, Query(max_length=64)] = None,
    live: Annotated[bool, Query(description="only tickets not closed or cancelled")] = False,
    overdue: Annotated[bool | None, Query(description="only (not) overdue tickets")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TicketPage:
    """Tickets, newest first, with their next deadline and whether one has passed."""
    machines = None if equipment is None else [equipment]
    if building is not None:
        in_building = [eq.id for eq in ctx.site.equipment if eq.building == building]
        machines = [m for m in (machines or in_building) if m in in_building]
    f = TicketFilter(
        [s.value for s in status or []],
        ticket_class.value if ticket_class else None,
        machines,
        live,
    )
    now = ctx.clock.now()
    with ctx.records.engine.connect() as conn:
        rows = [ticket_out(ctx, row, now) for row in find_tickets(conn, f)]
    if overdue is not None:
        rows = [t for t in rows if t.overdue == overdue]
    return TicketPage(
        tickets=rows[offset : offset + limit], total=len(rows), offset=offset, limit=limit
    )


@router.get("/tickets/{ticket_id}", response_model=TicketDetail)
def get_ticket_detail(ticket_id: int, ctx: ContextDep) -> TicketDetail:
    """One ticket with its whole event history (who did what, when) and its alerts."""
    with ctx.records.engine.connect() as conn:
        row = get_ticket(conn, ticket_id) if 0 < ticket_id < 2**62 else None
        if row is None:
            raise not_found(f"no ticket {ticket_id}")
        events = [event_out(e) for e in events_of(conn, ticket_id)]
        linked = [alert_out(ctx, a) for a in alerts_with(conn, str(row["fingerprint"]))]
    out = ticket_out(ctx, row, ctx.clock.now())
    return TicketDetail(**out.model_dump(), events=events, alerts=linked)


@router.post("/tickets", response_model=TicketOut, status_code=201)
def create_ticket(body: TicketIn, ctx: ContextDep, user: RequireEngineer) -> TicketOut:
    """A repair reported by phone or at the front desk; deadlines run from now."""
    eq = machine_or_404(ctx, body.equipment)
    now = ctx.clock.now()
    due = due_times(now, ctx.site.alerts.deadlines_for(TicketClass(body.ticket_class)))
    with ctx.records.engine.begin() as conn:
        row, notice = open_manual_ticket(
            conn,
            eq.id,
            body.ticket_class,
            body.title,
            body.severity,
            due,
            user.actor,
            now,
            body.description,
        )
    ctx.events.publish(notice.as_event())
    return ticket_out(ctx, row, now)


@router.post("/tickets/{ticket_id}/{action}", response_model=TicketOut)
def move_ticket(
    ticket_id: int,
    action: str,
    ctx: ContextDep,
    user: RequireEngineer,
    body: TransitionIn | None = None,
) -> TicketOut:
    """``ack`` (接单), ``on_site`` (到场), ``resolve`` (完工), ``close`` (回访确认),
    ``reopen``, ``cancel`` (false alarm; needs a comment). 409 lists the allowed ones."""
    if action not in ACTIONS:
        raise not_found(f"unknown transition '{action}' (known: {', '.join(ACTIONS)})")
    comment = body.comment.strip() if body and body.comment else None
    if ACTIONS[action].needs_reason and not comment:
        raise bad_request(f"{action} needs a comment saying why")
    with ctx.records.engine.connect() as conn:
        row = get_ticket(conn, ticket_id) if 0 < ticket_id < 2**62 else None
    if row is None:
        raise not_found(f"no ticket {ticket_id}")
    moves = allowed(str(row["status"]))
    if action not in moves:
        raise conflict(
            f"ticket {ticket_id} is {row['status']}; cannot {action}",
            status=row["status"],
            allowed=moves,
        )
    now = ctx.clock.now()
    try:
        _view, notice = transition(ctx.records.engine, ticket_id, action, user.actor, now, comment)
    except TicketError as err:  # someone else moved it in between
        raise ApiError(409, str(err), allowed=moves) from None
    ctx.events.publish(notice.as_event())
    with ctx.records.engine.connect() as conn:
        fresh = get_ticket(conn, ticket_id)
    assert fresh is not None
    return ticket_out(ctx, fresh, now)
