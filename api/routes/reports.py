"""The daily operation report (设备运行日报), JSON or CSV; days in the site's time zone."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.context import ApiContext, ContextDep
from api.csvout import CSV_TYPE, csv_response
from api.errors import bad_request
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
from api.schemas import DailyReportOut, MachineDayOut, SignalStats
from api.ticket_views import facts
from core.readings import Reading
from core.site import Equipment
from storage.ticket_queries import tickets_touching
from storage.timeseries import Bucket

router = APIRouter(tags=["reports"])


def hold_for(eq: Equipment) -> timedelta:
    """How long a sample of ``eq`` stays current: its stale timeout."""
    if eq.source.mqtt is not None:
        return eq.source.mqtt.stale_after
    assert eq.source.modbus is not None
    return eq.source.modbus.poll_interval * 3 + eq.source.modbus.timeout


def daily_report(ctx: ApiContext, day: date, tickets: list[TicketDates]) -> DailyReportOut:
    tz = ZoneInfo(ctx.site.site.timezone)
    start, midnight = day_bounds(day, tz)
    now = ctx.clock.now()
    if start >= now:
        raise bad_request(f"date: {day.isoformat()} has not begun yet in {tz.key}")
    end = min(midnight, now)
    machines: list[MachineDayOut] = []
    for eq in ctx.site.equipment:
        hold = hold_for(eq)
        samples: dict[str, list[Reading]] = {}
        for signal in raw_signals(eq.kind):
            rows = ctx.store.history(eq.id, signal, start - hold, end)
            samples[signal] = [r for r in rows if isinstance(r, Reading)]
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
                min=stats.min,
                max=stats.max,
                mean=stats.mean,
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
        signals=signals,
        tickets_opened=day.tickets_opened,
        tickets_closed=day.tickets_closed,
    )


CSV_HEADER = (
    "date",
    "equipment",
    "name",
    "kind",
    "building",
    "run_hours",
    "starts",
    "faults",
    "availability_pct",
    *(f"{s}_{stat}" for s in ANALOG_COLUMNS for stat in ("min", "max", "mean")),
    "tickets_opened",
    "tickets_closed",
)


def csv_rows(report: DailyReportOut) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for m in report.machines:
        analog: list[object] = []
        for s in ANALOG_COLUMNS:
            stats = m.signals.get(s)
            analog += (
                ["", "", ""]
                if stats is None
                else [
                    round(stats.min, 3),
                    round(stats.max, 3),
                    round(stats.mean, 3),
                ]
            )
        rows.append(
            (
                report.date.isoformat(),
                m.equipment,
                m.name,
                m.kind_name,
                m.building_name,
                "" if m.run_hours is None else round(m.run_hours, 3),
                "" if m.starts is None else m.starts,
                "" if m.faults is None else m.faults,
                round(m.availability * 100, 2),
                *analog,
                m.tickets_opened,
                m.tickets_closed,
            )
        )
    return rows


@router.get(
    "/reports/daily",
    response_model=DailyReportOut,
    responses={200: {"content": {CSV_TYPE: {}}, "description": "JSON, or CSV export"}},
)
def get_daily(
    ctx: ContextDep,
    day: Annotated[
        date | None,
        Query(alias="date", description="local date at the site (default: yesterday)"),
    ] = None,
    format: Literal["json", "csv"] = "json",
) -> DailyReportOut | Response:
    """Run hours, starts, faults, availability, key signals and tickets, per machine."""
    tz = ZoneInfo(ctx.site.site.timezone)
    day = day or (ctx.clock.now().astimezone(tz).date() - timedelta(days=1))
    if not 1970 < day.year < 2200:
        raise bad_request(f"date: {day.isoformat()} is out of range")
    start, end = day_bounds(day, tz)
    with ctx.records.engine.connect() as conn:
        rows = tickets_touching(conn, start.astimezone(UTC), end.astimezone(UTC))
    tickets = [TicketDates(t.equipment, t.opened_at, t.closed_at) for t in map(facts, rows)]
    report = daily_report(ctx, day, tickets)
    if format == "csv":
        name = f"daily-{report.site}-{day.isoformat()}.csv"
        return csv_response(name, CSV_HEADER, csv_rows(report))
    return report
