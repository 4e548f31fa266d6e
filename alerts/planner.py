"""The planner: turns due plan occurrences into planned work orders and escalates overdue
ones (DESIGN §11). Runs in the alert engine's loop; a restart or a second engine makes no
second order (the records' unique occurrence key) and escalates once (compare-and-set).

Calendar plans: the occurrence due now becomes an order (and those a stopped planner missed).
Usage plans: the store's counter is read from the hour the plan's previous order fell due (or
the site's maintenance start), and each multiple of the step passed since is an order.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from core.plans import Category, PlanSpec, calendar_occurrences, occurrence_at, usage_occurrences
from core.site import Equipment, Site
from core.workorders import OrderSource, PlannedOrder
from storage import planned
from storage.counters import counter_samples
from storage.ledger import ledgers
from storage.planned import DueOrder
from storage.timeseries import TimeSeriesStore

USAGE_LOOKBACK = timedelta(days=400)  # a usage plan never reads more than this of a counter
CATCH_UP = timedelta(days=7)  # occurrences a stopped planner makes up for, at most


def due_now(site: Site, store: TimeSeriesStore, engine: Engine, now: datetime) -> list[DueOrder]:
    """Every occurrence due at ``now`` across the site's machines."""
    tz = ZoneInfo(site.site.timezone)
    out: list[DueOrder] = []
    for eq in site.equipment:
        for plan in site.plans(eq):
            if plan.usage is None:
                out += _calendar_due(engine, eq, plan, tz, site, now)
            else:
                out += _usage_due(site, store, engine, eq, plan, tz, now)
    return out


def certificate_due(site: Site, engine: Engine, now: datetime) -> list[DueOrder]:
    """A renewal order for each ledger certificate expiring within the site's notice (due
    from ``notice`` before the expiry date until the end of that date)."""
    tz = ZoneInfo(site.site.timezone)
    notice = site.maintenance.certificate_notice
    today = now.astimezone(tz).date()
    with engine.connect() as conn:
        found = ledgers(conn, [eq.id for eq in site.equipment])
    out = []
    for eq_id, book in found.items():
        for cert in book.certificates:
            if cert.expires is None or not cert.expiring(today, notice):
                continue
            start = datetime.combine(cert.expires - notice, time(0)).replace(tzinfo=tz)
            by = datetime.combine(cert.expires + timedelta(days=1), time(0)).replace(tzinfo=tz)
            name = f"{cert.name_zh}换证（{cert.expires:%Y-%m-%d}到期）"
            out.append(
                DueOrder(
                    eq_id,
                    f"cert_{cert.kind}",
                    name[:100],
                    Category.MAINTENANCE,
                    OrderSource.CERTIFICATE,
                    start,
                    by,
                )
            )
    return out


def _due(eq: Equipment, plan: PlanSpec, start: datetime, by: datetime) -> DueOrder:
    return DueOrder(eq.id, plan.plan, plan.name_zh, plan.category, OrderSource.PLAN, start, by)


def _calendar_due(
    engine: Engine, eq: Equipment, plan: PlanSpec, tz: ZoneInfo, site: Site, now: datetime
) -> list[DueOrder]:
    """The occurrence due now, and those a stopped planner missed since the plan's last
    order (at most ``CATCH_UP``; a plan without orders yet starts with the current one)."""
    current = occurrence_at(plan, tz, site.maintenance.start, now)
    with engine.connect() as conn:
        previous = planned.latest_of_plan(conn, eq.id, plan.plan)
    missed = []
    if previous is not None and previous.due_start < current.start:
        since = max(previous.due_start, now - CATCH_UP)
        missed = calendar_occurrences(plan, tz, site.maintenance.start, since, current.start)
    return [_due(eq, plan, o.start, o.due) for o in [*missed, current]]


def _usage_due(
    site: Site,
    store: TimeSeriesStore,
    engine: Engine,
    eq: Equipment,
    plan: PlanSpec,
    tz: ZoneInfo,
    now: datetime,
) -> list[DueOrder]:
    usage = plan.usage
    assert usage is not None
    with engine.connect() as conn:
        previous = planned.latest_of_plan(conn, eq.id, plan.plan)
    if previous is not None:
        # the hour it fell due is the baseline: its counter value is where the step was
        # passed, so the use after it counts towards the next one
        since = previous.due_start
    else:
        since = datetime.combine(site.maintenance.start, time(0)).replace(tzinfo=tz)
    since = max(since, now - USAGE_LOOKBACK)
    samples = counter_samples(store, eq.id, usage[0].value, since.astimezone(UTC), now)
    return [_due(eq, plan, o.start, o.due) for o in usage_occurrences(plan, samples)]


def plan_and_escalate(
    site: Site, store: TimeSeriesStore, engine: Engine, now: datetime
) -> tuple[list[PlannedOrder], list[tuple[PlannedOrder, int]]]:
    """One planner step: the new orders, and the orders whose escalation rose."""
    due = due_now(site, store, engine, now) + certificate_due(site, engine, now)
    with engine.begin() as conn:
        made = planned.schedule(conn, due, now)
        raised = planned.escalate(conn, now)
    return made, raised
