"""Planned work (rounds 巡检, maintenance 保养) in the handover and the monthly report.

Read as of the period's end from the planned work orders (``storage.planned``): what was
done or skipped in a shift, what fell due in it undone, and the month's compliance — orders
whose window closed in the month and were done within it (``PlannedOrder.on_time``, the
definition the completion rates count), per category.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from api.context import ApiContext
from api.kpis import planned_completion
from api.lookup import display_name
from api.report_rows import site_zone
from api.schemas_reports import PlannedCompliance, PlannedLine
from core.plans import Category
from core.workorders import STATUS_TEXT, OrderStatus, PlannedOrder
from storage import planned

LOOKBACK = timedelta(days=31)
MAX_ORDERS = 100_000  # a month of every plan of a large site, with room to spare

CATEGORY_ZH = {Category.INSPECTION: "巡检", Category.MAINTENANCE: "保养"}


def _orders(ctx: ApiContext, start: datetime, end: datetime) -> list[PlannedOrder]:
    """Orders whose window overlaps [start, end)."""
    with ctx.records.engine.connect() as conn:
        return planned.find(conn, due_from=start, due_to=end, limit=MAX_ORDERS)


def _line(ctx: ApiContext, o: PlannedOrder, end: datetime) -> PlannedLine:
    tz = site_zone(ctx)
    finished = o.finished_at if o.finished_at is not None and o.finished_at < end else None
    status = o.status if finished is not None else OrderStatus.SCHEDULED
    if finished is None and o.started_at is not None and o.started_at < end:
        status = OrderStatus.IN_PROGRESS
    return PlannedLine(
        id=o.id,
        equipment=o.equipment,
        equipment_name=display_name(ctx, o.equipment),
        plan=o.plan,
        name=o.name_zh,
        category=o.category.value,
        category_name=CATEGORY_ZH.get(o.category, o.category.value),
        status=status.value,
        status_name=STATUS_TEXT[status],
        due_start=o.due_start.astimezone(tz),
        due_by=o.due_by.astimezone(tz),
        finished_at=None if finished is None else finished.astimezone(tz),
        finished_by=o.finished_by if finished is not None else None,
        skip_reason=o.skip_reason if status is OrderStatus.SKIPPED else None,
    )


def shift_planned(
    ctx: ApiContext, start: datetime, end: datetime
) -> tuple[list[PlannedLine], list[PlannedLine]]:
    """(done or skipped in [start, end), fell due in it and not done by its due time)."""
    done: list[PlannedLine] = []
    missed: list[PlannedLine] = []
    # an order due earlier may be done or skipped in this shift: look back for those too
    for o in sorted(_orders(ctx, start - LOOKBACK, end), key=lambda o: (o.due_by, o.id)):
        if o.finished_at is not None and start <= o.finished_at < end:
            done.append(_line(ctx, o, end))
        elif start <= o.due_by < end and (o.finished_at is None or o.finished_at >= o.due_by):
            missed.append(_line(ctx, o, end))
    return done, missed


def month_compliance(
    ctx: ApiContext, start: datetime, end: datetime, now: datetime
) -> PlannedCompliance | None:
    """Due (window closed in the month, by now) and done within the window, per category;
    None when no planned work is recorded for the month."""
    orders = _orders(ctx, start, end)
    rates = planned_completion(orders, start, end, now)
    if not any(r.total for r in rates.values()):
        return None
    inspections_due, inspections_done = (
        rates[Category.INSPECTION].total,
        rates[Category.INSPECTION].met,
    )
    maintenance_due, maintenance_done = (
        rates[Category.MAINTENANCE].total,
        rates[Category.MAINTENANCE].met,
    )
    return PlannedCompliance(
        inspections_due=inspections_due,
        inspections_done=inspections_done,
        maintenance_due=maintenance_due,
        maintenance_done=maintenance_done,
    )
