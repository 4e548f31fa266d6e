"""Maintenance KPIs over a period (DESIGN §8): repairs defined once in ``core/kpis.py``, as
SQL the Grafana panels run too; the completion rates of rounds and planned maintenance."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter

from api.context import ContextDep
from api.deps import TicketsDep
from api.errors import bad_request
from api.kpis import planned_completion
from api.report_planned import MAX_ORDERS
from api.schemas_tickets import KpiGroupOut, KpisOut, RatioOut
from api.timeparams import window
from core.kpis import TARGETS, KpiRow
from core.plans import Category
from storage import planned

router = APIRouter(tags=["kpis"])


def _ratio(n: int, d: int, target: float | None, at_least: bool = True) -> RatioOut:
    value = n / d if d else None
    on_target = None
    if value is not None and target is not None:
        on_target = value >= target if at_least else value <= target
    return RatioOut(numerator=n, denominator=d, value=value, target=target, on_target=on_target)


def group_out(k: KpiRow) -> KpiGroupOut:
    """One group's KPIs with their targets."""
    return KpiGroupOut(
        repair_cycles=k.repair_cycles,
        cancelled=k.cancelled,
        timeliness=_ratio(k.timely, k.timely_due, TARGETS["timeliness"]),
        repeat_repairs=_ratio(k.repeats, k.resolved, TARGETS["repeat"], at_least=False),
        callback=_ratio(k.called_back, k.callback_due, TARGETS["callback"]),
        satisfaction=_ratio(k.satisfied, k.callbacks, None),
        good_order=k.good_order,
        good_order_on_target=None
        if k.good_order is None
        else k.good_order >= TARGETS["good_order"],
        mttr_hours=k.mttr_hours,
        mtbf_hours=k.mtbf_hours,
        failures=k.failures,
        machine_hours=k.machine_hours,
        down_hours=k.down_hours,
        comms_cycles=k.comms_cycles,
        comms_mttr_hours=k.comms_mttr_hours,
    )


@router.get("/kpis", response_model=KpisOut)
def get_kpis(
    ctx: ContextDep, repo: TicketsDep, start: datetime | None = None, end: datetime | None = None
) -> KpisOut:
    """KPIs of the repair cycles started in [start, end) (default: the last 30 days up to
    now), per machine kind and for the site; the definitions are in ``core/kpis.py`` and the
    README."""
    now = ctx.clock.now()
    zone = ZoneInfo(ctx.site.site.timezone)
    lo, hi = window(start, end, zone)  # a time without offset is the site's local time
    hi = hi or now
    lo = lo or hi - timedelta(days=30)
    if lo >= hi:
        raise bad_request(f"start ({lo.isoformat()}) must be before end ({hi.isoformat()})")
    machines = [(eq.id, eq.kind) for eq in ctx.site.equipment]
    rows = repo.kpis(machines, lo, hi, now)
    live, overdue = repo.counts_now(now)
    with ctx.records.engine.connect() as conn:
        orders = planned.find(conn, due_from=lo, due_to=hi, limit=MAX_ORDERS)
    completion = planned_completion(orders, lo, hi, now)
    inspection, maintenance = completion[Category.INSPECTION], completion[Category.MAINTENANCE]
    return KpisOut(
        start=lo,
        end=hi,
        open_now=live,
        overdue_now=overdue,
        inspection_completion=_ratio(inspection.met, inspection.total, inspection.target),
        maintenance_completion=_ratio(maintenance.met, maintenance.total, maintenance.target),
        site=group_out(rows["*"]),
        by_kind={k: group_out(v) for k, v in rows.items() if k != "*"},
    )
