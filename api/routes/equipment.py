"""Machines, their latest values with quality, and their history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.context import ApiContext, ContextDep
from api.errors import bad_request, not_found
from api.schemas import (
    BucketOut,
    EquipmentDetail,
    EquipmentSummary,
    Point,
    ReadingsOut,
    SignalValue,
)
from core.readings import Quality, Reading
from core.site import Equipment, parse_duration
from storage.timeseries import Bucket

router = APIRouter(tags=["equipment"])

MAX_POINTS = 10_000
_WORST_FIRST = (Quality.COMM_FAULT, Quality.STALE, Quality.INVALID)


def _machine(ctx: ApiContext, equipment_id: str) -> Equipment:
    try:
        return ctx.site.machine(equipment_id)
    except KeyError:
        raise not_found(f"unknown equipment '{equipment_id}'") from None


def _status(readings: list[Reading]) -> str:
    if not readings:
        return "no_data"
    qualities = {r.quality for r in readings}
    for quality in _WORST_FIRST:
        if quality in qualities:
            return quality.value
    return "ok"


def _summary(ctx: ApiContext, eq: Equipment, readings: list[Reading]) -> EquipmentSummary:
    return EquipmentSummary(
        id=eq.id,
        name=eq.name,
        kind=eq.kind,
        kind_name=ctx.catalogue.kind(eq.kind).name_zh,
        building=eq.building,
        building_name=ctx.site.building(eq.building).name,
        role=eq.role,
        source="mqtt" if eq.source.mqtt is not None else "modbus",
        status=_status(readings),
    )


@router.get("/equipment", response_model=list[EquipmentSummary])
def list_equipment(ctx: ContextDep) -> list[EquipmentSummary]:
    latest = ctx.store.latest(eq.id for eq in ctx.site.equipment)
    by_machine: dict[str, list[Reading]] = {}
    for (eq_id, _signal), reading in latest.items():
        by_machine.setdefault(eq_id, []).append(reading)
    return [_summary(ctx, eq, by_machine.get(eq.id, [])) for eq in ctx.site.equipment]


@router.get("/equipment/{equipment_id}", response_model=EquipmentDetail)
def get_equipment(equipment_id: str, ctx: ContextDep) -> EquipmentDetail:
    eq = _machine(ctx, equipment_id)
    latest = ctx.store.latest([eq.id])
    kind = ctx.catalogue.kind(eq.kind)
    signals: dict[str, SignalValue] = {}
    for (_eq, name), reading in sorted(latest.items()):
        spec = kind.signals.get(name)
        if spec is None:
            continue
        signals[name] = SignalValue(
            value=spec.present(reading.value),
            quality=reading.quality.value,
            ts=reading.ts,
            unit=spec.unit,
            reason=reading.reason,
        )
    summary = _summary(ctx, eq, list(latest.values()))
    return EquipmentDetail(**summary.model_dump(), signals=signals)


@router.get("/equipment/{equipment_id}/readings", response_model=ReadingsOut)
def get_readings(
    equipment_id: str,
    ctx: ContextDep,
    signal: Annotated[str, Query(min_length=1, max_length=64)],
    start: datetime | None = None,
    end: datetime | None = None,
    every: Annotated[
        str | None, Query(max_length=32, description="bucket width: 30s, 5m, 1h")
    ] = None,
) -> ReadingsOut:
    eq = _machine(ctx, equipment_id)
    spec = ctx.catalogue.kind(eq.kind).signals.get(signal)
    if spec is None:
        raise not_found(f"equipment '{eq.id}' ({eq.kind}) has no signal '{signal}'")
    end = _aware(end) if end is not None else ctx.clock.now()
    start = _aware(start) if start is not None else end - timedelta(hours=1)
    if start >= end:
        raise bad_request(f"start ({start.isoformat()}) must be before end ({end.isoformat()})")
    width: timedelta | None = None
    if every is not None:
        try:
            parsed = parse_duration(every)
        except ValueError as err:
            raise bad_request(f"every: {err}") from None
        if not isinstance(parsed, timedelta) or parsed.total_seconds() < 1:
            raise bad_request("every: must be at least 1s")
        width = parsed
        if (end - start) / width > MAX_POINTS:
            raise bad_request(f"every: {every} gives more than {MAX_POINTS} buckets; widen it")
    rows = ctx.store.history(eq.id, signal, start, end, width)
    out = ReadingsOut(
        equipment=eq.id,
        signal=signal,
        unit=spec.unit,
        start=start,
        end=end,
        every_seconds=width.total_seconds() if width else None,
    )
    if width is None:
        out.points = [
            Point(ts=r.ts, value=spec.present(r.value), quality=r.quality.value)
            for r in rows[-MAX_POINTS:]
            if isinstance(r, Reading)
        ]
    else:
        out.buckets = [
            BucketOut(ts=b.start, count=b.count, mean=b.mean, min=b.min, max=b.max, last=b.last)
            for b in rows
            if isinstance(b, Bucket)
        ]
    return out


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
