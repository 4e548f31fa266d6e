"""Energy and water used (用能) for the reports and the handover, from ``api/energy_use``.

The daily and monthly reports take a whole local day or month from ``energy_use``; the
handover takes its shift window, hour by hour, with the same ``hourly_use`` rule. Only
meters with readings in the period are listed: a meter first heard of later would otherwise
add a "no data" line to a past report, which must recompute to the same answer.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from api.context import ApiContext
from api.energy_use import HOUR, Period, energy_use, hourly_use, metered_signals
from api.lookup import display_name
from api.schemas_reports import EnergyLine
from storage.timeseries import Bucket


def _line(ctx: ApiContext, equipment: str, signal: str, unit: str, used: float) -> EnergyLine:
    kind = ctx.catalogue.kind(ctx.site.machine(equipment).kind)
    spec = kind.signals.get(signal)
    return EnergyLine(
        equipment=equipment,
        equipment_name=display_name(ctx, equipment),
        signal=signal,
        signal_name=spec.name_zh if spec else signal,
        unit=unit,
        used=round(used, 3),
    )


def period_energy(ctx: ApiContext, first: date, period: Period) -> list[EnergyLine]:
    """Use per meter over the local day or month that begins on ``first``."""
    used = energy_use(ctx.store, ctx.site, ctx.catalogue, first, first, period, now=ctx.clock.now())
    return [_line(ctx, m.equipment, m.signal, m.unit, m.used) for m in used if m.used is not None]


def span_energy(ctx: ApiContext, start: datetime, end: datetime) -> list[EnergyLine]:
    """Use per meter over [start, end) on whole hours (a shift)."""
    out: list[EnergyLine] = []
    for equipment, signal, unit in metered_signals(ctx.store, ctx.site, ctx.catalogue):
        rows = ctx.store.history(equipment, signal, start - timedelta(days=1), end, every=HOUR)
        hours = hourly_use([b for b in rows if isinstance(b, Bucket)], start)
        gained = [used for hour, used in hours if hour < end]
        if gained:
            out.append(_line(ctx, equipment, signal, unit, sum(gained)))
    return out
