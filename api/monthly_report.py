"""The monthly report (月报) of one local month: repair ledger, KPIs against targets, callbacks,
planned-work compliance, the most-failing machines, and the figures per building.

Every number comes from the records (tickets, their events) and the KPI definitions of
``api/kpis.py``, reached through ``period_kpis`` only: the report writes no KPI formula of
its own. A ticket belongs to the month in which it was opened (its cycle start), in the
site's time zone; cancelled tickets (false alarms) are left out of the ledger and every
figure. Recomputing a past month from the same records gives the same report.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from api import kpis as kpi_module
from api.context import ApiContext
from api.errors import bad_request
from api.lookup import display_name
from api.report_energy import period_energy
from api.report_planned import month_compliance
from api.report_rows import building_name, site_zone, ticket_line
from api.schemas_reports import (
    BuildingLine,
    CallbackLine,
    FailingMachine,
    KpiLine,
    LedgerLine,
    MonthlyReportOut,
)
from api.ticket_views import facts
from core.tickets import Ticket, TicketStatus
from storage.ticket_queries import callbacks_of, tickets_since

TOP_FAILING = 10


def month_bounds(year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight of the 1st to local midnight of the next month's 1st."""
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    return start, end


def period_kpis(
    ctx: ApiContext,
    tickets: Sequence[kpi_module.TicketFacts],
    start: datetime,
    end: datetime,
    now: datetime,
    kinds: dict[str, str] | None = None,
) -> kpi_module.Kpis:
    """The one door to the KPI definitions (DESIGN §8): swap the module here, nowhere else."""
    groups = kinds if kinds is not None else {eq.id: eq.kind for eq in ctx.site.equipment}
    return kpi_module.compute_kpis(tickets, groups, start, end, now, site_zone(ctx))


def _ratio_line(key: str, name: str, r: kpi_module.Ratio, definition: str) -> KpiLine:
    return KpiLine(
        key=key,
        name=name,
        value=r.value,
        unit="ratio",
        numerator=r.met,
        denominator=r.total,
        target=r.target,
        at_least=r.at_least,
        on_target=r.on_target,
        definition=definition,
    )


def _hours_line(key: str, name: str, value: float | None, definition: str) -> KpiLine:
    return KpiLine(
        key=key,
        name=name,
        value=value,
        unit="hours",
        numerator=None,
        denominator=None,
        target=None,
        at_least=None,
        on_target=None,
        definition=definition,
    )


def _kpi_lines(k: kpi_module.Kpis, overall: kpi_module.Reliability | None) -> list[KpiLine]:
    lines = [
        _ratio_line(
            "timeliness",
            "维修及时率",
            k.timeliness,
            "按时响应、按时到场的时限数 ÷ 已到期或已完成的时限数",
        ),
        _ratio_line("respond_on_time", "响应及时率", k.respond_on_time, "按时接单 ÷ 应接单"),
        _ratio_line("on_site_on_time", "到场及时率", k.on_site_on_time, "按时到场 ÷ 应到场"),
        _ratio_line(
            "repeat_repairs",
            "返修率",
            k.repeat_repairs,
            "返修（重开，或30天内同一设备同类故障再报）÷ 维修工单",
        ),
        _ratio_line(
            "callback_on_time",
            "回访及时率",
            k.callback_on_time,
            "完工后一个工作日内回访关闭 ÷ 已完工",
        ),
        _hours_line(
            "mttr_hours",
            "平均修复时间 MTTR",
            overall.mttr_hours if overall else None,
            "完工时间 − 本次维修开始时间 的平均（小时）",
        ),
        _hours_line(
            "mtbf_hours",
            "平均故障间隔 MTBF",
            overall.mtbf_hours if overall else None,
            "运行时间 ÷ 故障次数（小时；通讯中断不计）",
        ),
    ]
    return lines


def _ledger_line(
    ctx: ApiContext,
    ticket: Ticket,
    every: Sequence[kpi_module.TicketFacts],
    now: datetime,
) -> LedgerLine:
    t = facts(ticket)
    tz = site_zone(ctx)
    line = ticket_line(ctx, ticket)
    repair = (
        None
        if t.resolved_at is None
        else round((t.resolved_at - t.started).total_seconds() / 3600, 3)
    )
    return LedgerLine(
        **line.model_dump(),
        cycle=t.cycle,
        acknowledged_at=None if t.acknowledged_at is None else t.acknowledged_at.astimezone(tz),
        on_site_at=None if t.on_site_at is None else t.on_site_at.astimezone(tz),
        repair_hours=repair,
        on_time=kpi_module.deadlines_met(t, now),
        repeat=kpi_module.is_repeat(t, every, kpi_module.REPEAT_WINDOW),
    )


def _callbacks(ctx: ApiContext, tickets: Sequence[Ticket], now: datetime) -> list[CallbackLine]:
    tz = site_zone(ctx)
    out: list[CallbackLine] = []
    with ctx.records.engine.connect() as conn:
        for ticket in tickets:
            t = facts(ticket)
            if t.resolved_at is None:
                continue
            mine = [c for c in callbacks_of(conn, t.id) if c.cycle == ticket.cycle.number]
            last = mine[-1] if mine else None
            out.append(
                CallbackLine(
                    ticket_id=t.id,
                    equipment=t.equipment,
                    equipment_name=display_name(ctx, t.equipment),
                    resolved_at=t.resolved_at.astimezone(tz),
                    callback_at=None if last is None else last.at.astimezone(tz),
                    callback_by=None if last is None else last.by,
                    satisfied=None if last is None else last.satisfied,
                    remarks=None if last is None else last.remarks,
                    within_one_working_day=kpi_module.callback_met(t, now, tz),
                )
            )
    return out


def monthly_report(ctx: ApiContext, year: int, month: int) -> MonthlyReportOut:
    """The report of the site's local month ``year-month`` (up to now, for this month)."""
    tz = site_zone(ctx)
    start, end = month_bounds(year, month, tz)
    now = ctx.clock.now()
    if start >= now:
        raise bad_request(f"month: {year:04d}-{month:02d} has not begun yet in {tz.key}")
    with ctx.records.engine.connect() as conn:
        rows = tickets_since(conn, (start - kpi_module.REPEAT_WINDOW).astimezone(UTC))
    every = [facts(r) for r in rows]
    mine = [r for r, t in zip(rows, every, strict=True) if start <= t.opened_at < end]
    counted = [r for r in mine if r.status is not TicketStatus.CANCELLED]
    k = period_kpis(ctx, every, start, end, now)
    overall = period_kpis(ctx, every, start, end, now, {eq.id: "all" for eq in ctx.site.equipment})
    kinds = {eq.id: eq.kind for eq in ctx.site.equipment}
    failing = sorted(
        ((eq_id, r) for eq_id, r in k.by_equipment.items() if r.failures > 0 and eq_id in kinds),
        key=lambda item: (-item[1].failures, -(item[1].mttr_hours or 0.0), item[0]),
    )[:TOP_FAILING]
    buildings: list[BuildingLine] = []
    for b in ctx.site.buildings:
        machines = {eq.id: eq.kind for eq in ctx.site.equipment if eq.building == b.id}
        theirs = [t for t in every if t.equipment in machines]
        bk = period_kpis(ctx, theirs, start, end, now, {eq_id: "all" for eq_id in machines})
        whole = bk.by_kind.get("all")
        buildings.append(
            BuildingLine(
                building=b.id,
                building_name=b.name,
                machines=len(machines),
                tickets=bk.tickets,
                failures=whole.failures if whole else 0,
                timeliness=bk.timeliness.value,
                mttr_hours=whole.mttr_hours if whole else None,
            )
        )
    return MonthlyReportOut(
        site=ctx.site.site.id,
        site_name=ctx.site.site.name,
        month=f"{year:04d}-{month:02d}",
        timezone=tz.key,
        start=start,
        end=min(end, now.astimezone(tz)),
        complete=end <= now,
        ledger=[_ledger_line(ctx, r, every, now) for r in counted],
        kpis=_kpi_lines(k, overall.by_kind.get("all")),
        callbacks=_callbacks(ctx, counted, now),
        planned=month_compliance(ctx, start, end, now),
        top_failing=[
            FailingMachine(
                equipment=eq_id,
                equipment_name=display_name(ctx, eq_id),
                building_name=building_name(ctx, eq_id),
                kind=kinds[eq_id],
                failures=r.failures,
                repairs=r.repairs,
                mttr_hours=r.mttr_hours,
            )
            for eq_id, r in failing
        ],
        buildings=buildings,
        energy=period_energy(ctx, start.date(), "month"),
    )


def parse_month(raw: str | None, ctx: ApiContext) -> tuple[int, int]:
    """``YYYY-MM`` (default: last month, in the site's zone), or 422."""
    if raw is None:
        today = ctx.clock.now().astimezone(site_zone(ctx)).date()
        last = date(today.year, today.month, 1).toordinal() - 1
        previous = date.fromordinal(last)
        return previous.year, previous.month
    parts = raw.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        raise bad_request(f"month: expected YYYY-MM, got {raw[:20]!r}")
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12 or not 1970 < year < 2200:
        raise bad_request(f"month: {raw} is out of range")
    return year, month
