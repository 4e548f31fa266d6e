"""Maintenance KPIs over a period (timeliness, repeat repairs, callback, MTTR, MTBF, and the
completion rates of rounds and planned maintenance)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter

from api.context import ContextDep
from api.errors import bad_request
from api.kpis import REPEAT_WINDOW, Ratio, Reliability, compute_kpis, planned_completion
from api.report_planned import MAX_ORDERS
from api.schemas_tickets import KpisOut, RatioOut, ReliabilityOut
from api.ticket_views import facts
from api.timeparams import window
from core.plans import Category
from storage import planned
from storage.ticket_queries import tickets_since

router = APIRouter(tags=["kpis"])


def _ratio(r: Ratio) -> RatioOut:
    return RatioOut(met=r.met, total=r.total, value=r.value, target=r.target, on_target=r.on_target)


def _reliability(r: Reliability) -> ReliabilityOut:
    return ReliabilityOut(
        tickets=r.tickets,
        failures=r.failures,
        repairs=r.repairs,
        mttr_hours=r.mttr_hours,
        mtbf_hours=r.mtbf_hours,
    )


@router.get("/kpis", response_model=KpisOut)
def get_kpis(
    ctx: ContextDep, start: datetime | None = None, end: datetime | None = None
) -> KpisOut:
    """KPIs of the tickets opened in [start, end) (default: the last 30 days up to now);
    the definitions are in ``api/kpis.py`` and the README."""
    now = ctx.clock.now()
    zone = ZoneInfo(ctx.site.site.timezone)
    lo, hi = window(start, end, zone)  # a time without offset is the site's local time
    hi = hi or now
    lo = lo or hi - timedelta(days=30)
    if lo >= hi:
        raise bad_request(f"start ({lo.isoformat()}) must be before end ({hi.isoformat()})")
    with ctx.records.engine.connect() as conn:
        rows = tickets_since(conn, lo - REPEAT_WINDOW)
        orders = planned.find(conn, due_from=lo, due_to=hi, limit=MAX_ORDERS)
    completion = planned_completion(orders, lo, hi, now)
    kinds = {eq.id: eq.kind for eq in ctx.site.equipment}
    k = compute_kpis([facts(r) for r in rows], kinds, lo, hi, now, zone)
    return KpisOut(
        start=k.start,
        end=k.end,
        tickets=k.tickets,
        cancelled=k.cancelled,
        respond_on_time=_ratio(k.respond_on_time),
        on_site_on_time=_ratio(k.on_site_on_time),
        timeliness=_ratio(k.timeliness),
        repeat_repairs=_ratio(k.repeat_repairs),
        callback_on_time=_ratio(k.callback_on_time),
        open_now=k.open_now,
        overdue_now=k.overdue_now,
        inspection_completion=_ratio(completion[Category.INSPECTION]),
        maintenance_completion=_ratio(completion[Category.MAINTENANCE]),
        by_kind={kind: _reliability(r) for kind, r in k.by_kind.items()},
        by_equipment={eq: _reliability(r) for eq, r in k.by_equipment.items()},
    )
