"""Drafting the shift handover (交接班记录) from the records, at each shift end.

The draft of a shift window [start, end) holds: the alarm episodes overlapping it (with
durations up to the end), tickets opened and closed in it, tickets carried over (live at the
end) with the next deadline and the time left to it, machines out of service or silent at
the end, and key readings at the end (tank levels, pump pressures). Everything is read as of
``end`` — readings before it, logbook entries before it, ticket times compared with it — so
drafting late, or twice, gives the same document.

``ensure_drafts`` drafts every shift that has ended since the last draft (at most a week
back; on a new installation only the shift that ended last); the API process runs it every
half minute and before it answers about handovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from api.alarm_history import read_episodes
from api.context import ApiContext
from api.daily_report import hold_for
from api.lookup import display_name
from api.report_energy import span_energy
from api.report_planned import shift_planned
from api.report_rows import alarm_line, building_name, site_zone, ticket_line
from api.schemas_reports import (
    CarriedTicket,
    DeadlineLeft,
    HandoverContent,
    KeyReading,
    MachineAttention,
    ShiftOut,
)
from core.logs import FailureTracker, event
from core.readings import Quality, Reading
from core.shifts import ShiftWindow, ended_between
from core.site import Equipment
from core.tickets import DeadlineKind, Ticket, met_at
from storage import StoreError, handovers
from storage.ticket_queries import tickets_live_at, tickets_touching

log = logging.getLogger("plantroom.handover")

CATCH_UP = timedelta(days=7)  # a drafter down longer than this drafts only the last week

# Out of service at handover: (signal, value meaning "out", what to write). Data per kind.
OUT_OF_SERVICE: dict[str, tuple[tuple[str, bool, str], ...]] = {
    "pump": (("fault", True, "故障"),),
    "elevator": (
        ("in_service", False, "停止服务"),
        ("inspection_mode", True, "检修状态"),
        ("fault", True, "故障"),
    ),
    "water_tank": (),
    "fire_panel": (("fault", True, "故障"), ("mains_fail", True, "主电故障")),
}
# Read at handover (DESIGN §12: tank levels, pump pressures).
KEY_READINGS: dict[str, tuple[str, ...]] = {
    "water_tank": ("level_pct", "level_m"),
    "pump": ("outlet_pressure_mpa",),
}


def _last_good(readings: list[Reading]) -> Reading | None:
    good = [r for r in readings if r.quality is Quality.GOOD and r.value is not None]
    return max(good, key=lambda r: r.ts) if good else None


def _machine_state(
    ctx: ApiContext, eq: Equipment, end: datetime
) -> tuple[MachineAttention | None, list[KeyReading]]:
    hold = hold_for(eq)
    checks = OUT_OF_SERVICE.get(eq.kind, ())
    wanted = [*dict.fromkeys([*(c[0] for c in checks), *KEY_READINGS.get(eq.kind, ())])]
    kind = ctx.catalogue.kind(eq.kind)
    wanted = [s for s in wanted if s in kind.signals]
    last: dict[str, Reading | None] = {}
    for signal in wanted:
        rows = ctx.store.history(eq.id, signal, end - hold, end)
        readings = [r for r in rows if isinstance(r, Reading)]
        newest = max(readings, key=lambda r: r.ts) if readings else None
        # a newer stale or unreachable marking means the last good value is no longer current
        good = _last_good(readings)
        last[signal] = good if newest is not None and newest is good else None
    name = display_name(ctx, eq.id)
    where = building_name(ctx, eq.id)
    attention = None
    if wanted and all(v is None for v in last.values()):
        attention = MachineAttention(
            equipment=eq.id,
            equipment_name=name,
            building_name=where,
            state="silent",
            detail=f"交班时无新数据（超过{int(hold.total_seconds())}秒未收到或通讯中断）",
        )
    else:
        out = [
            text
            for signal, value, text in checks
            if (r := last.get(signal)) is not None and (r.value != 0.0) == value
        ]
        if out:
            attention = MachineAttention(
                equipment=eq.id,
                equipment_name=name,
                building_name=where,
                state="out_of_service",
                detail="、".join(out),
            )
    tz = site_zone(ctx)
    readings_out = [
        KeyReading(
            equipment=eq.id,
            equipment_name=name,
            signal=signal,
            signal_name=kind.signals[signal].name_zh,
            unit=kind.signals[signal].unit,
            value=None if (r := last.get(signal)) is None else r.value,
            at=None if r is None else r.ts.astimezone(tz),
        )
        for signal in KEY_READINGS.get(eq.kind, ())
        if signal in kind.signals
    ]
    return attention, readings_out


def _carried(ctx: ApiContext, t: Ticket, end: datetime) -> CarriedTicket:
    steps = [
        (kind.value, t.cycle.due(kind), met_at(t.cycle, kind, t.ticket_class))
        for kind in DeadlineKind
    ]
    # as of the handover: a step done after it was still to do then
    pending = [(k, d) for k, d, done in steps if d is not None and (done is None or done > end)]
    tz = site_zone(ctx)
    left = [
        DeadlineLeft(
            kind=k,
            due_at=d.astimezone(tz),
            minutes_left=round((d - end).total_seconds() / 60, 1),
        )
        for k, d in pending
    ]
    line = ticket_line(ctx, t)
    return CarriedTicket(
        **line.model_dump(),
        next_deadline=left[0].kind if left else None,
        due_at=left[0].due_at if left else None,
        minutes_left=left[0].minutes_left if left else None,
        deadlines=left,
    )


def draft(ctx: ApiContext, window: ShiftWindow) -> HandoverContent:
    """The handover of ``window``, from what the records say up to its end."""
    start, end = window.start, window.end
    tz = site_zone(ctx)
    with ctx.records.engine.connect() as conn:
        alarms = read_episodes(conn, start, end)
        touching = tickets_touching(conn, start.astimezone(UTC), end.astimezone(UTC))
        carried = tickets_live_at(conn, end.astimezone(UTC))
    opened = [t for t in touching if start <= t.opened_at < end]
    closed = [t for t in touching if (c := t.cycle.closed_at) is not None and start <= c < end]
    planned_done, planned_missed = shift_planned(ctx, start, end)
    attention: list[MachineAttention] = []
    key_readings: list[KeyReading] = []
    for eq in ctx.site.equipment:
        state, readings = _machine_state(ctx, eq, end)
        if state is not None:
            attention.append(state)
        key_readings += readings
    return HandoverContent(
        site=ctx.site.site.id,
        site_name=ctx.site.site.name,
        timezone=tz.key,
        shift=ShiftOut(name=window.name, start=start.astimezone(tz), end=end.astimezone(tz)),
        alarms=[alarm_line(ctx, a, end) for a in alarms],
        tickets_opened=[ticket_line(ctx, r) for r in opened],
        tickets_closed=[ticket_line(ctx, r) for r in closed],
        tickets_carried=[_carried(ctx, r, end) for r in carried],
        machines_attention=attention,
        key_readings=key_readings,
        energy=span_energy(ctx, start, end),
        planned_done=planned_done,
        planned_missed=planned_missed,
    )


def ensure_drafts(ctx: ApiContext) -> list[handovers.Handover]:
    """Draft every shift that ended since the last draft (at most ``CATCH_UP`` back)."""
    rota = ctx.site.shifts
    if rota is None:
        return []
    now = ctx.clock.now()
    site = ctx.site.site.id
    with ctx.records.engine.connect() as conn:
        last = handovers.last_shift_end(conn, site)
    if last is None:  # a new installation: start with the shift that ended last
        due = ended_between(rota, site_zone(ctx), now - timedelta(days=1), now)[-1:]
    else:
        due = ended_between(rota, site_zone(ctx), max(last, now - CATCH_UP), now)
    made: list[handovers.Handover] = []
    for window in due:
        content = draft(ctx, window).model_dump(mode="json")
        with ctx.records.engine.begin() as conn:
            stored = handovers.insert_draft(
                conn,
                site=site,
                shift_name=window.name,
                shift_start=window.start,
                shift_end=window.end,
                content=content,
                now=now,
            )
        if stored is not None:
            made.append(stored)
            event(log, "handover drafted", shift=window.name, end=window.end.isoformat())
    return made


async def drafter(ctx: ApiContext, stop: asyncio.Event, every: float = 30.0) -> None:
    """Draft handovers as shifts end, until ``stop``; a failure is logged once and retried."""
    failures = FailureTracker(log)
    while not stop.is_set():
        try:
            await asyncio.to_thread(ensure_drafts, ctx)
            failures.recovered("handover drafting")
        except (SQLAlchemyError, StoreError) as err:
            failures.failed("handover drafting", str(err)[:200])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
