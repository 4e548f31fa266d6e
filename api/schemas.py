"""Response models: what the API promises, separate from storage rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from storage.api_keys import Role


class ComponentOut(BaseModel):
    ok: bool
    detail: str | None = Field(description="why it is failing; null when it is fine")
    last_ok: datetime | None = Field(description="when it was last seen fine by this process")


class Health(BaseModel):
    status: str = Field(description="ok, or failing (answered with 503)")
    site: str
    equipment: int
    components: dict[str, ComponentOut]
    failing: dict[str, str] = Field(description="the failing components and why")


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
    truncated: bool = Field(
        False, description="raw readings only: more readings remain in [start, end) than returned"
    )
    next: str | None = Field(
        None, description="when truncated: the URL of the next page (same query, later start)"
    )
    next_start: datetime | None = Field(
        None, description="when truncated: the start of the next page (time of its first reading)"
    )
    hint: str | None = Field(
        None, description="when truncated: an `every=` that summarises the whole range in one page"
    )


class LogEntryOut(BaseModel):
    seq: int
    ts: datetime | None = Field(description="null only for a corrupt entry whose time is lost")
    equipment: str
    equipment_name: str
    type: str
    message: str
    actor: str
    data: dict[str, Any]
    hash: str
    problem: str | None = Field(
        None, description="set when the stored row is corrupt: what is wrong with it"
    )


class LogPage(BaseModel):
    equipment: str
    entries: list[LogEntryOut]
    next_cursor: int | None = Field(
        None, description="pass as `cursor` for the next page; null on the last page"
    )


class NoteIn(BaseModel):
    message: str = Field(min_length=1, max_length=4000, description="what the engineer did")


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    problems: list[str]
    keyed: bool = Field(description="checked under PLANTROOM_LOGBOOK_KEY (an HMAC chain)")
    unkeyed: int = Field(description="with a key: entries written before it was set")


class KeyIn(BaseModel):
    role: Role
    name: str = Field(min_length=1, max_length=128)


class KeyOut(BaseModel):
    id: str
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="the API key in clear: shown once, store it now")
