"""Energy and water use (用能统计) per day, week or month, from the meters' counters.

A metered counter is a ``counter`` signal whose unit is kWh or m³ (the catalogue's
``energy_meter``: ``energy_kwh``, ``volume_m3``). Use in a period is the counter's increase
over it, read from hourly buckets of the store: each hour adds its last value minus the
previous hour's last value; an hour whose last value is below the previous one had a reset
(a meter replaced) and adds only what it counted since (its last minus its minimum). The
baseline of the first period is the last hour with data in the day before it. Periods are
the site's local days, ISO weeks (Monday first) and calendar months; an hour belongs to the
period its start falls in. A period with no reading is ``None`` (not known), never 0.

Pure over a ``TimeSeriesStore``: the daily and monthly reports call ``energy_use``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from core.catalogue import Catalogue, SignalType
from core.site import Site
from storage.timeseries import Bucket, TimeSeriesStore

Period = Literal["day", "week", "month"]
METERED_UNITS = ("kWh", "m³")
HOUR = timedelta(hours=1)
MAX_PERIODS = 400  # a bound on one request: more than a year of days


@dataclass(frozen=True, slots=True)
class MeterUse:
    """What one meter counted in one period."""

    equipment: str
    signal: str
    unit: str
    period_start: date  # local date the period begins
    used: float | None  # None: no reading in the period


def metered_signals(
    store: TimeSeriesStore, site: Site, catalogue: Catalogue
) -> list[tuple[str, str, str]]:
    """(equipment, signal, unit) of every metered counter the site's machines have ever
    reported (a water meter has no kWh to show)."""
    reported = set(store.latest(eq.id for eq in site.equipment))
    out = []
    for eq in site.equipment:
        for name, spec in catalogue.kind(eq.kind).signals.items():
            metered = spec.type is SignalType.COUNTER and spec.unit in METERED_UNITS
            if metered and spec.unit is not None and (eq.id, name) in reported:
                out.append((eq.id, name, spec.unit))
    return out


def period_start(day: date, period: Period) -> date:
    """The first local date of the period that holds ``day``."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def next_period(start: date, period: Period) -> date:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def periods(first: date, last: date, period: Period) -> list[date]:
    """Starts of the periods from the one holding ``first`` to the one holding ``last``."""
    out = []
    at = period_start(first, period)
    while at <= last:
        out.append(at)
        at = next_period(at, period)
        if len(out) > MAX_PERIODS:
            raise ValueError(f"more than {MAX_PERIODS} periods: ask for a shorter range")
    return out


def hourly_use(buckets: list[Bucket], since: datetime) -> list[tuple[datetime, float]]:
    """(hour start, use in that hour) for the hours from ``since``; earlier hours are the
    baseline only."""
    out = []
    previous: float | None = None
    for bucket in sorted(buckets, key=lambda b: b.start):
        if bucket.count == 0:
            continue
        if previous is not None and bucket.start >= since:
            gained = bucket.last - previous
            out.append((bucket.start, gained if gained >= 0 else bucket.last - bucket.min))
        elif previous is None and bucket.start >= since:
            out.append((bucket.start, bucket.last - bucket.min))  # no baseline: from within
        previous = bucket.last
    return out


def energy_use(
    store: TimeSeriesStore,
    site: Site,
    catalogue: Catalogue,
    first: date,
    last: date,
    period: Period = "day",
    now: datetime | None = None,
) -> list[MeterUse]:
    """Use per meter and period for the local dates ``first`` … ``last`` (whole periods)."""
    tz = ZoneInfo(site.site.timezone)
    starts = periods(first, last, period)
    begin = datetime.combine(starts[0], time(0), tzinfo=tz)
    end = datetime.combine(next_period(starts[-1], period), time(0), tzinfo=tz)
    if now is not None:
        end = min(end, now)
    out: list[MeterUse] = []
    for equipment, signal, unit in metered_signals(store, site, catalogue):
        buckets = store.history(equipment, signal, begin - timedelta(days=1), end, every=HOUR)
        used: dict[date, float] = {}
        for hour, gained in hourly_use([b for b in buckets if isinstance(b, Bucket)], begin):
            key = period_start(hour.astimezone(tz).date(), period)
            used[key] = used.get(key, 0.0) + gained
        for start in starts:
            out.append(MeterUse(equipment, signal, unit, start, used.get(start)))
    return out


__all__ = ["MeterUse", "Period", "energy_use", "metered_signals", "periods"]
