"""Response models for alerts, tickets, the alarm board and KPIs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

ManualClass = Literal["entrapment", "elevator_fault", "urgent", "general", "comms"]


class Deadline(BaseModel):
    kind: Literal["respond", "on_site", "resolve"]
    at: datetime


class AlertOut(BaseModel):
    id: str = Field(description="the alert's fingerprint (rule + machine)")
    rule_id: str
    equipment: str
    equipment_name: str
    building_name: str | None
    title: str
    severity: str
    ticket_class: str
    status: str
    episode: int
    since: datetime | None = Field(description="firing since, or pending since")
    resolved_at: datetime | None
    flapping: bool
    suppressed: bool
    acknowledged_by: str | None = Field(description="who acknowledged this episode")


class TicketOut(BaseModel):
    id: int
    equipment: str
    equipment_name: str
    building: str | None
    building_name: str | None
    ticket_class: str
    title: str
    severity: str
    status: str
    manual: bool
    fault_active: bool
    opened_at: datetime
    cycle: int
    respond_by: datetime | None
    on_site_by: datetime | None
    resolve_by: datetime | None
    acknowledged_at: datetime | None
    on_site_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    recovered_at: datetime | None
    escalation_level: int
    overdue: bool
    deadline: Deadline | None = Field(description="the next deadline not yet met")
    allowed: list[str] = Field(description="transitions allowed from this status")


class TicketEventOut(BaseModel):
    id: int
    ts: datetime
    type: str
    actor: str
    from_status: str | None
    to_status: str | None
    message: str
    data: dict[str, Any]


class TicketDetail(TicketOut):
    events: list[TicketEventOut]
    alerts: list[AlertOut]


class TicketPage(BaseModel):
    tickets: list[TicketOut]
    total: int
    offset: int
    limit: int


class TicketIn(BaseModel):
    equipment: str = Field(min_length=1, max_length=64)
    ticket_class: ManualClass = "general"
    title: str = Field(min_length=1, max_length=200, description="e.g. 2号楼电梯异响")
    description: str | None = Field(default=None, max_length=4000)
    severity: Literal["critical", "major", "minor"] = "major"


class TransitionIn(BaseModel):
    comment: str | None = Field(
        default=None, max_length=2000, description="optional; the reason, required to cancel"
    )


class IncidentOut(BaseModel):
    id: int
    equipment: str
    equipment_name: str
    building_name: str | None
    title: str
    severity: str
    started_at: datetime


class BoardOut(BaseModel):
    now: datetime
    site: str
    site_name: str
    timezone: str = Field(description="the site's time zone: the board shows times in it")
    machines: dict[str, str] = Field(description="every machine's id and name")
    incidents: list[IncidentOut]
    alarms: list[AlertOut]
    tickets: list[TicketOut]
    handovers_overdue: list[HandoverFlag] = Field(
        default_factory=list,
        description="handovers not accepted within the grace period after their shift ended",
    )


class HandoverFlag(BaseModel):
    id: int
    shift_name: str
    shift_end: datetime
    status: str = Field(description="drafted (outgoing not signed) or signed (not accepted)")
    status_name: str


class RatioOut(BaseModel):
    met: int
    total: int
    value: float | None
    target: float
    on_target: bool | None


class ReliabilityOut(BaseModel):
    tickets: int
    failures: int
    repairs: int
    mttr_hours: float | None
    mtbf_hours: float | None


class KpisOut(BaseModel):
    start: datetime
    end: datetime
    tickets: int
    cancelled: int
    respond_on_time: RatioOut
    on_site_on_time: RatioOut
    timeliness: RatioOut
    repeat_repairs: RatioOut
    callback_on_time: RatioOut
    open_now: int
    overdue_now: int
    by_kind: dict[str, ReliabilityOut]
    by_equipment: dict[str, ReliabilityOut]
