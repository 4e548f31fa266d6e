"""The daily operation report (设备运行日报): pure computation over one day of samples.

Per machine: run hours and starts (from the kind's run signal), faults (rising edges of
``fault``), availability, min/max/mean of its key analog signals, tickets opened and closed.

How values are read over time: a good sample holds its value until the next sample of the
same signal, but never longer than ``hold`` (the machine's stale timeout) — past that nothing
is known. A stale, unreachable or invalid sample holds "unknown". So run hours are the time
the run signal was known true. Availability (可用率) counts only the time with data: of the
time the fault signal (or, for kinds without one, any key signal) was known, the fraction it
was not faulted — a machine first heard of at noon is not "down" all morning, and one never
heard of has no availability at all ("no data", None); ``data_coverage`` says how much of the
period was known. Starts and faults count changes from a known false to a true within the
period (a machine that was off before a comms loss and on after it has started once).
Analog statistics are over the good samples in the period (sample-weighted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.readings import Quality, Reading
from storage.timeseries import Bucket


@dataclass(frozen=True, slots=True)
class KindReport:
    """Which signals of a kind the report reads."""

    run: str | None = None  # time true = run hours, rising edges = starts
    fault: str | None = None
    analog: tuple[str, ...] = ()


# Data, not code: a kind missing here still gets availability from its analog signals (none).
REPORTED: dict[str, KindReport] = {
    "pump": KindReport("running", "fault", ("outlet_pressure_mpa", "current_a")),
    "elevator": KindReport("moving", "fault", ("machine_room_temp_c",)),
    "water_tank": KindReport(None, None, ("level_m", "level_pct")),
    "fire_panel": KindReport(None, "fault", ()),
}
ANALOG_COLUMNS = tuple(dict.fromkeys(s for spec in REPORTED.values() for s in spec.analog))


@dataclass(frozen=True, slots=True)
class Stats:
    count: int
    min: float
    max: float
    mean: float


@dataclass(frozen=True, slots=True)
class MachineDay:
    equipment: str
    run_hours: float | None
    starts: int | None
    faults: int | None
    availability: float | None  # None: no data in the period
    data_coverage: float  # fraction of the period with the availability signal known
    signals: dict[str, Stats | None] = field(default_factory=dict)
    tickets_opened: int = 0
    tickets_closed: int = 0


@dataclass(frozen=True, slots=True)
class TicketDates:
    equipment: str
    opened_at: datetime
    closed_at: datetime | None


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight (23 or 25 hours on a DST change)."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start, end


Span = tuple[float, float, bool | None]  # epoch seconds from, to; the value known then


def _spans(
    samples: Sequence[Reading], start: datetime, end: datetime, hold: timedelta
) -> list[Span]:
    """Intervals within [start, end) with the value known then (None: unknown)."""
    ordered = sorted(samples, key=lambda r: r.ts)
    lo_limit, hi_limit, hold_s = start.timestamp(), end.timestamp(), hold.total_seconds()
    times = [r.ts.timestamp() for r in ordered]
    times.append(float("inf"))
    out: list[Span] = []
    for i, r in enumerate(ordered):
        t = times[i]
        until = t + hold_s
        if times[i + 1] < until:
            until = times[i + 1]
        lo = t if t > lo_limit else lo_limit
        hi = until if until < hi_limit else hi_limit
        if hi <= lo:
            continue
        known = r.quality is Quality.GOOD and r.value is not None
        out.append((lo, hi, (r.value != 0.0) if known else None))
    return out


def _seconds_true(spans: list[Span]) -> float:
    return sum(hi - lo for lo, hi, v in spans if v is True)


def _seconds_false(spans: list[Span]) -> float:
    return sum(hi - lo for lo, hi, v in spans if v is False)


def _seconds_known(spans: list[Span]) -> float:
    return sum(hi - lo for lo, hi, v in spans if v is not None)


def rising_edges(samples: Sequence[Reading], start: datetime, end: datetime) -> int:
    """Changes from a known false to true at a time within [start, end)."""
    last: bool | None = None
    count = 0
    for r in sorted(samples, key=lambda r: r.ts):
        if r.quality is not Quality.GOOD or r.value is None:
            continue
        value = r.value != 0.0
        if value and last is False and start <= r.ts < end:
            count += 1
        last = value
    return count


def machine_day(
    equipment: str,
    kind: str,
    samples: Mapping[str, Sequence[Reading]],
    summaries: Mapping[str, Bucket | None],
    start: datetime,
    end: datetime,
    hold: timedelta,
    tickets: Sequence[TicketDates] = (),
) -> MachineDay:
    """One machine's line of the report over [start, end).

    ``samples`` holds raw readings of the run and fault signals (and, for kinds without a
    fault signal, the analog ones) from ``start - hold`` on, so a value carries into the
    period; ``summaries`` the good-value summary of each analog signal within the period.
    """
    spec = REPORTED.get(kind, KindReport())
    period = (end - start).total_seconds()
    run_hours = starts = faults = None
    if spec.run is not None:
        run = samples.get(spec.run, [])
        run_hours = _seconds_true(_spans(run, start, end, hold)) / 3600.0
        starts = rising_edges(run, start, end)
    if spec.fault is not None:
        fault = samples.get(spec.fault, [])
        faults = rising_edges(fault, start, end)
        spans = _spans(fault, start, end, hold)
        up, known = _seconds_false(spans), _seconds_known(spans)
    else:
        up = known = max(
            (_seconds_known(_spans(samples.get(s, []), start, end, hold)) for s in spec.analog),
            default=0.0,
        )
    signals = {s: _stats(summaries.get(s)) for s in spec.analog}
    return MachineDay(
        equipment=equipment,
        run_hours=run_hours,
        starts=starts,
        faults=faults,
        availability=up / known if known > 0 else None,
        data_coverage=known / period if period > 0 else 0.0,
        signals=signals,
        tickets_opened=sum(1 for t in tickets if start <= t.opened_at < end),
        tickets_closed=sum(
            1 for t in tickets if t.closed_at is not None and start <= t.closed_at < end
        ),
    )


def raw_signals(kind: str) -> tuple[str, ...]:
    """The signals ``machine_day`` needs as raw samples for this kind."""
    spec = REPORTED.get(kind, KindReport())
    wanted = [s for s in (spec.run, spec.fault) if s is not None]
    if spec.fault is None:
        wanted += spec.analog
    return tuple(wanted)


def _stats(bucket: Bucket | None) -> Stats | None:
    if bucket is None or bucket.count == 0:
        return None
    return Stats(bucket.count, bucket.min, bucket.max, bucket.mean)
