"""Request and response models of planned work orders (计划工单)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from core.workorders import MAX_TEXT, OrderStatus


class PlannedOut(BaseModel):
    id: int
    equipment: str
    equipment_name: str
    plan: str
    name_zh: str
    category: str
    category_text: str
    source: str
    due_start: datetime
    due_by: datetime
    status: OrderStatus
    status_text: str
    overdue: bool
    escalation: int = Field(description="0; 1 supervisor once overdue; 2 manager")
    allowed: list[str]
    started_at: datetime | None
    started_by: str | None
    finished_at: datetime | None
    finished_by: str | None
    on_time: bool
    skip_reason: str | None
    test_runs: list[RunOut] = Field(
        default_factory=list,
        description="an open test-run order: the runs seen in the telemetry in its window, "
        "any of which can be given as its record (done with test_run_start)",
    )
    result: dict[str, Any] | None = Field(
        description="checklist, parts, notes and the machine's readings at completion"
    )


class RunOut(BaseModel):
    start: datetime
    end: datetime
    minutes: float


class PartIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    quantity: float = Field(gt=0, le=1_000_000)


class DoneIn(BaseModel):
    checklist: dict[str, str] = Field(default_factory=dict, max_length=200)
    parts: list[PartIn] = Field(default_factory=list, max_length=100)
    notes: str = Field(default="", max_length=MAX_TEXT)
    test_run_start: datetime | None = Field(
        default=None, description="the start of a run seen in the telemetry: the test's record"
    )


class SkipIn(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_TEXT)
