"""Maintenance tickets (维修工单): list, detail, manual creation, lifecycle, callbacks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import RequireEngineer
from api.context import ContextDep
from api.deps import TicketsDep
from api.errors import ApiError, bad_request, conflict, not_found
from api.lookup import machine_or_404
from api.schemas_tickets import (
    CallbackIn,
    TicketDetail,
    TicketIn,
    TicketOut,
    TicketPage,
    TransitionIn,
)
from api.ticket_views import alert_out, callback_out, cycle_out, event_out, ticket_out
from core.rules import TicketClass
from core.tickets import ACTIONS, TicketStatus, due_times
from storage.ticket_queries import TicketFilter
from storage.tickets import TicketError

router = APIRouter(tags=["tickets"])

StatusParam = Annotated[
    list[TicketStatus] | None, Query(description="repeat to combine; default: all")
]


@router.get("/tickets", response_model=TicketPage)
def list_tickets(
    ctx: ContextDep,
    repo: TicketsDep,
    status: StatusParam = None,
    ticket_class: Annotated[TicketClass | None, Query(alias="class")] = None,
    building: Annotated[str | None, Query(max_length=64)] = None,
    equipment: Annotated[str | None, Query(max_length=64)] = None,
    live: Annotated[bool, Query(description="only tickets not closed or cancelled")] = False,
    overdue: Annotated[bool | None, Query(description="only (not) overdue tickets")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TicketPage:
    """Tickets, newest first, with their next deadline and whether one has passed (filtered
    and paged in the database)."""
    machines = None if equipment is None else [equipment]
    if building is not None:
        in_building = [eq.id for eq in ctx.site.equipment if eq.building == building]
        machines = [m for m in (machines or in_building) if m in in_building]
    f = TicketFilter(
        list(status or []),
        ticket_class.value if ticket_class else None,
        machines,
        live,
        overdue,
    )
    now = ctx.clock.now()
    page, total = repo.page(f, now, limit, offset)
    return TicketPage(
        tickets=[ticket_out(ctx, t, now) for t in page], total=total, offset=offset, limit=limit
    )


@router.get("/tickets/{ticket_id}", response_model=TicketDetail)
def get_ticket_detail(ticket_id: int, ctx: ContextDep, repo: TicketsDep) -> TicketDetail:
    """One ticket with its earlier cycles, callbacks, whole event history (who did what,
    when) and its alerts."""
    found = repo.history(ticket_id)
    if found is None:
        raise not_found(f"no ticket {ticket_id}")
    out = ticket_out(ctx, found.ticket, ctx.clock.now())
    return TicketDetail(
        **out.model_dump(),
        earlier_cycles=[cycle_out(c, status) for c, status in found.earlier_cycles],
        callbacks=[callback_out(c) for c in found.callbacks],
        events=[event_out(e) for e in found.events],
        alerts=[alert_out(ctx, a) for a in found.alerts],
    )


@router.post("/tickets", response_model=TicketOut, status_code=201)
def create_ticket(
    body: TicketIn, ctx: ContextDep, repo: TicketsDep, user: RequireEngineer
) -> TicketOut:
    """A repair reported by phone or at the front desk; deadlines run from now."""
    eq = machine_or_404(ctx, body.equipment)
    now = ctx.clock.now()
    due = due_times(now, ctx.site.alerts.deadlines_for(TicketClass(body.ticket_class)))
    ticket, notice = repo.open_manual(
        eq.id,
        body.ticket_class,
        body.title,
        body.severity,
        due,
        user.actor,
        now,
        body.description,
        body.category,
    )
    ctx.events.publish(notice.as_event())
    return ticket_out(ctx, ticket, now)


@router.post("/tickets/{ticket_id}/callback", response_model=TicketOut)
def callback(
    ticket_id: int, body: CallbackIn, ctx: ContextDep, repo: TicketsDep, user: RequireEngineer
) -> TicketOut:
    """Record the callback (回访) of a resolved ticket: who called, when, satisfied or not,
    remarks. Closing needs one; an unsatisfied one may reopen the ticket (``reopen``)."""
    ticket = repo.get(ticket_id)
    if ticket is None:
        raise not_found(f"no ticket {ticket_id}")
    now = ctx.clock.now()
    if ticket.status is not TicketStatus.RESOLVED:
        raise conflict(
            f"ticket {ticket_id} is {ticket.status}; a callback follows 完工 (resolved)",
            status=ticket.status.value,
            allowed=ticket.allowed(),
        )
    try:
        updated, notices = repo.callback(
            ticket_id,
            (body.by or "").strip() or user.actor,
            body.at or now,
            body.satisfied,
            body.remarks.strip(),
            user.actor,
            now,
            body.reopen,
        )
    except TicketError as err:
        raise ApiError(409, str(err), allowed=ticket.allowed()) from None
    for notice in notices:
        ctx.events.publish(notice.as_event())
    return ticket_out(ctx, updated, now)


@router.post("/tickets/{ticket_id}/{action}", response_model=TicketOut)
def move_ticket(
    ticket_id: int,
    action: str,
    ctx: ContextDep,
    repo: TicketsDep,
    user: RequireEngineer,
    body: TransitionIn | None = None,
) -> TicketOut:
    """``ack`` (接单), ``staff_on_site`` (entrapment: 物业人员到场), ``on_site`` (到场),
    ``release`` (entrapment: 解困), ``resolve`` (完工), ``close`` (回访确认; needs a callback),
    ``reopen``, ``cancel`` (false alarm; needs a comment). 409 lists the allowed ones."""
    if action not in ACTIONS:
        raise not_found(f"unknown transition '{action}' (known: {', '.join(ACTIONS)})")
    comment = body.comment.strip() if body and body.comment else None
    if ACTIONS[action].needs_reason and not comment:
        raise bad_request(f"{action} needs a comment saying why")
    ticket = repo.get(ticket_id)
    if ticket is None:
        raise not_found(f"no ticket {ticket_id}")
    moves = ticket.allowed()
    if action not in moves:
        raise conflict(
            f"ticket {ticket_id} ({ticket.ticket_class}) is {ticket.status}; cannot {action}",
            status=ticket.status.value,
            allowed=moves,
        )
    now = ctx.clock.now()
    try:
        updated, notice = repo.move(ticket_id, action, user.actor, now, comment)
    except TicketError as err:  # someone else moved it in between, or no callback yet
        raise ApiError(409, str(err), allowed=moves) from None
    ctx.events.publish(notice.as_event())
    return ticket_out(ctx, updated, now)
