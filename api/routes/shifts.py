"""Shifts and handovers (交接班): who is on duty, the drafted handovers, the two signatures.

The actor of a signature is the API key's holder (keys name people: ``plantroom keys create
--role engineer --name 张工``). The outgoing engineer signs with remarks, then someone else
accepts; both are logbook entries in the hash chain. A handover not accepted by its shift's
end plus ``shifts.handover_grace`` is overdue (and flagged on the board).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.auth import RequireEngineer
from api.context import ApiContext, ContextDep
from api.errors import ApiError, not_found
from api.handover import ensure_drafts
from api.handover_page import document
from api.printable import html_response
from api.report_rows import site_zone
from api.schemas_reports import (
    HandoverContent,
    HandoverList,
    HandoverOut,
    OnDutyOut,
    ShiftOut,
    SignIn,
)
from core.shifts import previous, shift_at
from storage import handovers
from storage.handovers import STATUS_ZH, Handover, HandoverError, HandoverStatus

router = APIRouter(tags=["shifts"])

_HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "JSON, or the printable page"}
}


def handover_out(ctx: ApiContext, h: Handover, now: datetime) -> HandoverOut:
    tz = site_zone(ctx)
    with ctx.records.engine.connect() as conn:
        found = handovers.problems(conn, h)

    def local(ts: datetime | None) -> datetime | None:
        return None if ts is None else ts.astimezone(tz)

    return HandoverOut(
        id=h.id,
        status=h.status.value,
        status_name=STATUS_ZH[h.status],
        drafted_at=h.drafted_at.astimezone(tz),
        content_sha256=h.content_hash,
        outgoing_by=h.outgoing_by,
        outgoing_at=local(h.outgoing_at),
        remarks=h.remarks,
        incoming_by=h.incoming_by,
        incoming_at=local(h.incoming_at),
        overdue=is_overdue(ctx, h, now),
        intact=not found,
        problems=found,
        content=HandoverContent.model_validate(h.content),
    )


def is_overdue(ctx: ApiContext, h: Handover, now: datetime) -> bool:
    """Not accepted, and the shift ended more than the grace period ago."""
    rota = ctx.site.shifts
    grace = rota.handover_grace if rota is not None else None
    return (
        grace is not None and h.status is not HandoverStatus.ACCEPTED and now > h.shift_end + grace
    )


def _no_rota(ctx: ApiContext) -> ApiError:
    return not_found(f"site {ctx.site.site.id} has no shifts in its site file")


@router.get("/shifts/current", response_model=OnDutyOut)
def current_shift(ctx: ContextDep) -> OnDutyOut:
    """The shift now, and who is on duty: who accepted the handover at its start."""
    rota = ctx.site.shifts
    if rota is None:
        raise _no_rota(ctx)
    ensure_drafts(ctx)
    now = ctx.clock.now()
    tz = site_zone(ctx)
    window = shift_at(rota, tz, now)
    before = previous(rota, tz, window)
    with ctx.records.engine.connect() as conn:
        last = handovers.ending_at(conn, ctx.site.site.id, before.end)
    return OnDutyOut(
        site=ctx.site.site.id,
        timezone=tz.key,
        shift=ShiftOut(
            name=window.name, start=window.start.astimezone(tz), end=window.end.astimezone(tz)
        ),
        on_duty=handovers.person(last.incoming_by) if last is not None else None,
        previous_handover=handover_out(ctx, last, now) if last is not None else None,
    )


@router.get("/handovers", response_model=HandoverList)
def list_handovers(
    ctx: ContextDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> HandoverList:
    """The newest handovers first (drafting any shift that has ended meanwhile)."""
    if ctx.site.shifts is None:
        raise _no_rota(ctx)
    ensure_drafts(ctx)
    now = ctx.clock.now()
    with ctx.records.engine.connect() as conn:
        found = handovers.recent(conn, ctx.site.site.id, limit)
    return HandoverList(handovers=[handover_out(ctx, h, now) for h in found])


def _one(ctx: ApiContext, handover_id: int) -> Handover:
    with ctx.records.engine.connect() as conn:
        found = handovers.find(conn, handover_id) if 0 < handover_id < 2**62 else None
    if found is None or found.site != ctx.site.site.id:
        raise not_found(f"no handover {handover_id}")
    return found


@router.get("/handovers/{handover_id}", response_model=HandoverOut, responses=_HTML)
def get_handover(
    handover_id: int, ctx: ContextDep, format: Literal["json", "html"] = "json"
) -> HandoverOut | Response:
    """One handover; ``format=html`` is the sheet to print and file."""
    out = handover_out(ctx, _one(ctx, handover_id), ctx.clock.now())
    if format == "html":
        page: Response = html_response(document(out))
        return page
    return out


@router.post("/handovers/{handover_id}/sign", response_model=HandoverOut)
def sign_handover(
    handover_id: int, ctx: ContextDep, user: RequireEngineer, body: SignIn | None = None
) -> HandoverOut:
    """The outgoing engineer signs off (交班签字), adding remarks; once only."""
    _one(ctx, handover_id)
    now = ctx.clock.now()
    try:
        with ctx.records.engine.begin() as conn:
            signed = handovers.sign(
                conn, handover_id, user.actor, body.remarks if body else "", now
            )
    except HandoverError as err:
        raise ApiError(409, str(err)) from None
    _publish(ctx, signed, "signed")
    return handover_out(ctx, signed, now)


@router.post("/handovers/{handover_id}/accept", response_model=HandoverOut)
def accept_handover(handover_id: int, ctx: ContextDep, user: RequireEngineer) -> HandoverOut:
    """The incoming engineer accepts (接班确认): after the sign-off, and someone else."""
    _one(ctx, handover_id)
    now = ctx.clock.now()
    try:
        with ctx.records.engine.begin() as conn:
            accepted = handovers.accept(conn, handover_id, user.actor, now)
    except HandoverError as err:
        raise ApiError(409, str(err)) from None
    _publish(ctx, accepted, "accepted")
    return handover_out(ctx, accepted, now)


def _publish(ctx: ApiContext, h: Handover, what: str) -> None:
    """Tell live screens (the board) that a handover changed."""
    ctx.events.publish(
        {
            "type": "handover",
            "event": what,
            "handover_id": h.id,
            "shift": h.shift_name,
            "status": h.status.value,
        }
    )
