"""Planned work orders (计划工单, DESIGN §11): the list, one order, and its steps — start,
done (checklist answers, parts, notes; the machine's readings at that moment attached by the
server) and skip (reason required)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query

from api.auth import RequireEngineer
from api.context import ApiContext, ContextDep
from api.errors import ApiError, not_found
from api.schemas_planned import DoneIn, PlannedOut, RunOut, SkipIn
from core.checklists import checklist, contradictions
from core.plans import CATEGORY_ZH
from core.readings import Quality, Reading
from core.workorders import (
    STATUS_TEXT,
    Completion,
    OrderAction,
    OrderError,
    OrderStatus,
    PartUsed,
    PlannedOrder,
    RunSeen,
    escalation_level,
    runs_seen,
)
from storage.planned import PlannedRepository

# an id past what the database's integers hold is a 422, not an overflow and a 500
OrderId = Annotated[int, Path(ge=1, le=2**62, description="the planned order's id")]

router = APIRouter(tags=["planned work"])


def planned_repository(ctx: ContextDep) -> PlannedRepository:
    return PlannedRepository(ctx.records.engine)


PlannedDep = Annotated[PlannedRepository, Depends(planned_repository)]


MAX_RUN_SAMPLES = 100_000  # a quarter of 1 s samples of one signal would be more: a bound


def seen_runs(ctx: ApiContext, order: PlannedOrder, now: datetime) -> list[RunSeen]:
    """The runs in the telemetry within an open test-run order's window (none for others)."""
    if not order.open:
        return []
    try:
        eq = ctx.site.machine(order.equipment)
    except KeyError:
        return []
    if not any(p.plan == order.plan and p.test_run for p in ctx.site.plans(eq)):
        return []
    history = ctx.store.history(
        eq.id, "running", order.due_start, min(now, order.due_by), limit=MAX_RUN_SAMPLES
    )
    samples = [
        (r.ts, bool(r.value))
        for r in history
        if isinstance(r, Reading) and r.quality is Quality.GOOD and r.value is not None
    ]
    return runs_seen(samples, now)


def planned_out(ctx: ApiContext, order: PlannedOrder, now: datetime) -> PlannedOut:
    tz = ZoneInfo(ctx.site.site.timezone)
    try:
        name = ctx.site.machine(order.equipment).name
    except KeyError:  # a machine since removed from the site file keeps its records
        name = order.equipment
    return PlannedOut(
        id=order.id,
        equipment=order.equipment,
        equipment_name=name,
        plan=order.plan,
        name_zh=order.name_zh,
        category=order.category.value,
        category_text=CATEGORY_ZH[order.category],
        source=order.source.value,
        due_start=order.due_start.astimezone(tz),
        due_by=order.due_by.astimezone(tz),
        status=order.status,
        status_text=STATUS_TEXT[order.status],
        overdue=order.overdue(now),
        escalation=escalation_level(order, now),
        allowed=order.allowed(),
        started_at=order.started_at.astimezone(tz) if order.started_at else None,
        started_by=order.started_by,
        finished_at=order.finished_at.astimezone(tz) if order.finished_at else None,
        finished_by=order.finished_by,
        on_time=order.on_time,
        skip_reason=order.skip_reason,
        result=order.result,
        test_runs=[
            RunOut(
                start=r.start.astimezone(tz), end=r.end.astimezone(tz), minutes=round(r.minutes, 1)
            )
            for r in seen_runs(ctx, order, now)
        ],
    )


@router.get("/planned", response_model=list[PlannedOut])
def list_planned(
    ctx: ContextDep,
    repo: PlannedDep,
    equipment: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[list[OrderStatus] | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="only (not) overdue orders")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PlannedOut]:
    """Planned work orders, newest due first."""
    now = ctx.clock.now()
    found = repo.find(equipment=equipment, statuses=status or (), limit=limit)
    if overdue is not None:
        found = [o for o in found if o.overdue(now) == overdue]
    return [planned_out(ctx, o, now) for o in found]


@router.get("/planned/{order_id}", response_model=PlannedOut)
def get_planned(order_id: OrderId, ctx: ContextDep, repo: PlannedDep) -> PlannedOut:
    order = repo.get(order_id)
    if order is None:
        raise not_found(f"no planned order {order_id}")
    return planned_out(ctx, order, ctx.clock.now())


def _act(
    ctx: ApiContext,
    repo: PlannedRepository,
    order_id: OrderId,
    action: OrderAction,
    actor: str,
    **kw: Any,
) -> PlannedOut:
    now = ctx.clock.now()
    order = repo.get(order_id)
    if order is None:
        raise not_found(f"no planned order {order_id}")
    try:
        updated = repo.act(order_id, action, actor, now, **kw)
    except OrderError as err:
        raise ApiError(409, str(err), allowed=order.allowed()) from None
    return planned_out(ctx, updated, now)


@router.post("/planned/{order_id}/start", response_model=PlannedOut)
def start_planned(
    order_id: OrderId, ctx: ContextDep, repo: PlannedDep, user: RequireEngineer
) -> PlannedOut:
    """Work begins: the machine's alerts page nobody until it is done or skipped."""
    return _act(ctx, repo, order_id, OrderAction.START, user.actor)


@router.post("/planned/{order_id}/done", response_model=PlannedOut)
def done_planned(
    order_id: OrderId, body: DoneIn, ctx: ContextDep, repo: PlannedDep, user: RequireEngineer
) -> PlannedOut:
    """Done: the answers, parts and notes, with the machine's latest readings attached."""
    order = repo.get(order_id)
    if order is None:
        raise not_found(f"no planned order {order_id}")
    completion = Completion(
        dict(body.checklist), tuple(PartUsed(p.name, p.quantity) for p in body.parts), body.notes
    )
    readings = readings_now(ctx, order.equipment)
    telemetry = {
        signal: r["raw"] for signal, r in readings.items() if r["quality"] == Quality.GOOD.value
    }
    try:
        kind = ctx.site.machine(order.equipment).kind
    except KeyError:
        kind = ""
    flags = contradictions(kind, completion.checklist, telemetry)
    test_run: dict[str, Any] | None = None
    if body.test_run_start is not None:
        run = next(
            (r for r in seen_runs(ctx, order, ctx.clock.now()) if r.start == body.test_run_start),
            None,
        )
        if run is None:
            raise ApiError(
                409, "no test run seen in the telemetry starts then", allowed=order.allowed()
            )
        test_run = {
            "start": run.start.isoformat(),
            "end": run.end.isoformat(),
            "minutes": round(run.minutes, 1),
        }
    for r in readings.values():
        del r["raw"]
    return _act(
        ctx,
        repo,
        order_id,
        OrderAction.DONE,
        user.actor,
        completion=completion,
        readings=readings,
        contradictions=flags,
        test_run=test_run,
    )


@router.post("/planned/{order_id}/skip", response_model=PlannedOut)
def skip_planned(
    order_id: OrderId, body: SkipIn, ctx: ContextDep, repo: PlannedDep, user: RequireEngineer
) -> PlannedOut:
    """Skipped, with the reason (required)."""
    return _act(ctx, repo, order_id, OrderAction.SKIP, user.actor, reason=body.reason)


def readings_now(ctx: ApiContext, equipment: str) -> dict[str, Any]:
    """The machine's latest value of each signal, as shown (catalogue type and precision),
    with its time and quality: what the record keeps of the machine at completion."""
    try:
        eq = ctx.site.machine(equipment)
    except KeyError:
        return {}
    kind = ctx.catalogue.kind(eq.kind)
    latest = ctx.store.latest([equipment])
    out: dict[str, Any] = {}
    for (_eq, signal), reading in sorted(latest.items()):
        spec = kind.signals.get(signal)
        value = spec.present(reading.value) if spec is not None else reading.value
        out[signal] = {
            "raw": reading.value,
            "value": value,
            "ts": reading.ts.isoformat(),
            "quality": str(reading.quality),
        }
    return out


@router.get("/rounds/checklists")
def round_checklists(ctx: ContextDep) -> dict[str, list[dict[str, Any]]]:
    """The inspection checklist (巡检表) of each kind on the site: items and their answers."""
    kinds = sorted({eq.kind for eq in ctx.site.equipment})
    return {
        kind: [i.model_dump(include={"item", "name_zh", "answers"}) for i in checklist(kind)]
        for kind in kinds
    }
