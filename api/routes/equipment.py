"""Machines, their latest values with quality, and their history."""

from __future__ import annotations

from fastapi import APIRouter

from api.context import ApiContext, ContextDep
from api.errors import not_found
from api.schemas import (
    EquipmentDetail,
    EquipmentSummary,
    SignalValue,
)
from core.readings import Quality, Reading
from core.site import Equipment

router = APIRouter(tags=["equipment"])

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
