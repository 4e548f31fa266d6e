"""The daily operation report (设备运行日报) of one local day: JSON, CSV and printable page.

Per machine the figures of ``api/reports.py``; then the day's alarm episodes (from the
logbook) and the tickets opened or closed on the day. The day is the site's local day and
every time is given in the site's zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from api.alarm_history import read_episodes
from api.context import ApiContext
from api.errors import bad_request
from api.printable import Document, Table, energy_table, local_time, number, pct
from api.report_energy import period_energy
from api.report_rows import (
    CLASS_ZH,
    SEVERITY_ZH,
    STATUS_ZH,
    alarm_line,
    site_zone,
    ticket_line,
    zh,
)
from api.reports import (
    ANALOG_COLUMNS,
    REPORTED,
    KindReport,
    MachineDay,
    TicketDates,
    day_bounds,
    machine_day,
    raw_signals,
)
from api.schemas_reports import DailyReportOut, MachineDayOut, SignalStats
from core.readings import Reading
from core.site import Equipment
from storage.ticket_queries import tickets_touching
from storage.timeseries import Bucket


def hold_for(eq: Equipment) -> timedelta:
    """How long a sample of ``eq`` stays current: its stale timeout."""
    if eq.source.mqtt is not None:
        return eq.source.mqtt.stale_after
    assert eq.source.modbus is not None
    return eq.source.modbus.poll_interval * 3 + eq.source.modbus.timeout


def daily_report(ctx: ApiContext, day: date) -> DailyReportOut:
    """The report of local day ``day`` (up to now, for today); 422 for a day not begun."""
    tz = site_zone(ctx)
    start, midnight = day_bounds(day, tz)
    now = ctx.clock.now()
    if start >= now:
        raise bad_request(f"date: {day.isoformat()} has not begun yet in {tz.key}")
    end = min(midnight, now.astimezone(tz))
    with ctx.records.engine.connect() as conn:
        rows = tickets_touching(conn, start.astimezone(UTC), end.astimezone(UTC))
        alarms = read_episodes(conn, start, end)
    tickets = [TicketDates(t.equipment, t.opened_at, t.cycle.closed_at) for t in rows]
    machines: list[MachineDayOut] = []
    for eq in ctx.site.equipment:
        hold = hold_for(eq)
        samples: dict[str, list[Reading]] = {}
        for signal in raw_signals(eq.kind):
            got = ctx.store.history(eq.id, signal, start - hold, end)
            samples[signal] = [r for r in got if isinstance(r, Reading)]
        summaries: dict[str, Bucket | None] = {}
        for signal in REPORTED.get(eq.kind, KindReport()).analog:
            buckets = ctx.store.history(eq.id, signal, start, end, end - start)
            summaries[signal] = next((b for b in buckets if isinstance(b, Bucket)), None)
        mine = [t for t in tickets if t.equipment == eq.id]
        line = machine_day(eq.id, eq.kind, samples, summaries, start, end, hold, mine)
        machines.append(_line(ctx, eq, line))
    return DailyReportOut(
        site=ctx.site.site.id,
        site_name=ctx.site.site.name,
        date=day,
        timezone=tz.key,
        start=start,
        end=end,
        complete=end == midnight,
        machines=machines,
        alarms=[alarm_line(ctx, a, end) for a in alarms],
        tickets=[ticket_line(ctx, r) for r in rows],
        energy=period_energy(ctx, day, "day"),
    )


def _line(ctx: ApiContext, eq: Equipment, day: MachineDay) -> MachineDayOut:
    kind = ctx.catalogue.kind(eq.kind)
    signals: dict[str, SignalStats | None] = {}
    for name, stats in day.signals.items():
        spec = kind.signals.get(name)
        signals[name] = (
            None
            if stats is None
            else SignalStats(
                name_zh=spec.name_zh if spec else None,
                unit=spec.unit if spec else None,
                count=stats.count,
                # to the signal's precision (catalogue), as the report's reader needs it
                min=spec.rounded(stats.min) if spec else stats.min,
                max=spec.rounded(stats.max) if spec else stats.max,
                mean=spec.rounded(stats.mean) if spec else stats.mean,
            )
        )
    return MachineDayOut(
        equipment=eq.id,
        name=eq.name,
        kind=eq.kind,
        kind_name=kind.name_zh,
        building=eq.building,
        building_name=ctx.site.building(eq.building).name,
        run_hours=day.run_hours,
        starts=day.starts,
        faults=day.faults,
        availability=day.availability,
        data_coverage=day.data_coverage,
        signals=signals,
        tickets_opened=day.tickets_opened,
        tickets_closed=day.tickets_closed,
    )


NO_DATA = "无数据"


def document(ctx: ApiContext, report: DailyReportOut, made_at: datetime) -> Document:
    """The report as people read it: Chinese labels, local times, "无数据" said as such."""
    tz = site_zone(ctx)
    analog_heads: list[str] = []
    for signal in ANALOG_COLUMNS:
        label = _signal_label(ctx, signal)
        analog_heads += [f"{label}最小", f"{label}最大", f"{label}平均"]
    machines = Table(
        "设备运行",
        (
            "日期",
            "设备编号",
            "设备名称",
            "类型",
            "楼栋",
            "运行时长(小时)",
            "启动次数",
            "故障次数",
            "可用率",
            "数据覆盖率",
            *analog_heads,
            "新开工单",
            "关闭工单",
        ),
        [
            (
                report.date.isoformat(),
                m.equipment,
                m.name,
                m.kind_name,
                m.building_name,
                number(m.run_hours, 3),
                m.starts,
                m.faults,
                NO_DATA if m.availability is None else pct(m.availability, 2),
                pct(m.data_coverage, 2),
                *_analog(m),
                m.tickets_opened,
                m.tickets_closed,
            )
            for m in report.machines
        ],
        notes=(
            "可用率 = 有数据时段内无故障时间 ÷ 有数据时段；数据覆盖率 = 有数据时段 ÷ 统计时段。",
        ),
    )
    alarms = Table(
        "当日告警",
        ("设备", "告警", "级别", "开始", "结束", "持续"),
        [
            (
                a.equipment_name,
                a.title,
                zh(SEVERITY_ZH, a.severity),
                local_time(a.started_at, tz),
                local_time(a.ended_at, tz) if a.ended_at else "未恢复",
                f"{a.duration_minutes:g}分",
            )
            for a in report.alarms
        ],
        empty="当日无告警",
    )
    tickets = Table(
        "当日工单",
        ("工单号", "设备", "楼栋", "类别", "内容", "状态", "报修时间", "完工时间", "关闭时间"),
        [
            (
                t.id,
                t.equipment_name,
                t.building_name,
                zh(CLASS_ZH, t.ticket_class),
                t.title,
                zh(STATUS_ZH, t.status),
                local_time(t.opened_at, tz),
                local_time(t.resolved_at, tz),
                local_time(t.closed_at, tz),
            )
            for t in report.tickets
        ],
        empty="当日无新开或关闭的工单",
    )
    period = f"{local_time(report.start, tz)} 至 {local_time(report.end, tz)}"
    return Document(
        title=f"设备运行日报 {report.date.isoformat()}",
        lines=(
            f"{report.site_name}（{report.site}）  统计时段：{period}（{tz.key}）"
            + ("" if report.complete else "  当日未结束，数据截至生成时"),
            f"生成时间：{local_time(made_at, tz)}",
        ),
        tables=(machines, alarms, tickets, energy_table(report.energy, "当日用能")),
        signatures=("值班工程师：__________", "工程主管：__________"),
    )


def _signal_label(ctx: ApiContext, signal: str) -> str:
    for kind in ctx.catalogue.kinds.values():
        spec = kind.signals.get(signal)
        if spec is not None:
            unit = f"({spec.unit})" if spec.unit else ""
            return f"{spec.name_zh}{unit}"
    return signal


def _analog(m: MachineDayOut) -> list[str]:
    out: list[str] = []
    for signal in ANALOG_COLUMNS:
        stats = m.signals.get(signal)
        out += (
            ["", "", ""]
            if stats is None
            else [number(stats.min, 3), number(stats.max, 3), number(stats.mean, 3)]
        )
    return out
