"""Response models: what the API promises, separate from storage rows."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class Health(BaseModel):
    status: str
    site: str
    equipment: int
    failing: dict[str, str]


class SignalValue(BaseModel):
    value: bool | int | float | None
    quality: str
    ts: datetime
    unit: str | None = None
    reason: str | None = None


class EquipmentSummary(BaseModel):
    id: str
    name: str
    kind: str
    kind_name: str
    building: str
    building_name: str
    role: str | None
    source: str
    status: str  # ok, stale, comm_fault, invalid, no_data


class EquipmentDetail(EquipmentSummary):
    signals: dict[str, SignalValue]


class Point(BaseModel):
    ts: datetime
    value: bool | int | float | None
    quality: str


class BucketOut(BaseModel):
    ts: datetime
    count: int
    mean: float
    min: float
    max: float
    last: float


class ReadingsOut(BaseModel):
    equipment: str
    signal: str
    unit: str | None
    start: datetime
    end: datetime
    every_seconds: float | None
    points: list[Point] | None = None
    buckets: list[BucketOut] | None = None
