"""Energy and water use per day, week or month (用能统计): ``GET /reports/energy``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.context import ContextDep
from api.energy_use import Period, energy_use
from api.errors import bad_request
from api.lookup import display_name

router = APIRouter(tags=["reports"])


class MeterUseOut(BaseModel):
    equipment: str
    equipment_name: str
    signal: str
    unit: str
    period_start: date
    used: float | None  # None: no reading in the period


class EnergyUseOut(BaseModel):
    period: Period
    start: date
    end: date
    rows: list[MeterUseOut]


@router.get("/reports/energy", response_model=EnergyUseOut)
def get_energy_use(
    ctx: ContextDep,
    start: Annotated[
        date | None, Query(description="first local date (default: 7 days ago)")
    ] = None,
    end: Annotated[date | None, Query(description="last local date (default: today)")] = None,
    period: Period = "day",
) -> EnergyUseOut:
    """Each meter's use (kWh, m³) per local day, ISO week or month of the range."""
    today = ctx.clock.now().astimezone(ZoneInfo(ctx.site.site.timezone)).date()
    end = end or today
    start = start or end - timedelta(days=6)
    if start > end:
        raise bad_request(f"start ({start}) must not be after end ({end})")
    try:
        rows = energy_use(
            ctx.store, ctx.site, ctx.catalogue, start, end, period, now=ctx.clock.now()
        )
    except ValueError as err:
        raise bad_request(str(err)) from None
    return EnergyUseOut(
        period=period,
        start=start,
        end=end,
        rows=[
            MeterUseOut(
                equipment=r.equipment,
                equipment_name=display_name(ctx, r.equipment),
                signal=r.signal,
                unit=r.unit,
                period_start=r.period_start,
                used=None if r.used is None else round(r.used, 3),
            )
            for r in rows
        ],
    )
