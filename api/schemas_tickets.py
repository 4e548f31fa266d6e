"""Response models for alerts, tickets, the alarm board and KPIs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas_planned import PlannedOut

ManualClass = Literal["entrapment", "elevator_fault", "urgent", "general", "comms"]


class Deadline(BaseModel):
    kind: Literal["respond", "on_site", "resolve"]
    at: datetime
    text: str = Field(description="what is due, in Chinese (接单, 到场, 物业人员到场 …)")


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
    held_back_by: str | None = Field(
        default=None,
        description="the board only: the alarm (id) that inhibits this one on the same machine",
    )
    silenced_by: str | None = Field(
        default=None, description="the board only: who silenced this episode's sound"
    )
    silenced_at: datetime | None = None


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
    status_text: str = Field(description="the status in Chinese")
    manual: bool
    category: str | None = Field(description="a manual ticket's fault category")
    fault_active: bool
    opened_at: datetime
    cycle: int = Field(description="1, and one more for every reopening")
    cycle_start: datetime = Field(description="when this cycle began; its deadlines run from it")
    respond_by: datetime | None
    on_site_by: datetime | None
    resolve_by: datetime | None
    acknowledged_at: datetime | None
    staff_on_site_at: datetime | None = Field(description="entrapment: property staff on site")
    on_site_at: datetime | None = Field(description="the technician on site")
    released_at: datetime | None = Field(description="entrapment: passengers released")
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
    text: str = Field(description="the event in Chinese (接单, 到场, 完工 …)")
    actor: str
    from_status: str | None
    to_status: str | None
    message: str
    data: dict[str, Any]


class CycleOut(BaseModel):
    """A finished cycle of a reopened ticket, as it was."""

    cycle: int
    status: str = Field(description="how it ended: resolved or closed")
    cycle_start: datetime
    respond_by: datetime | None
    on_site_by: datetime | None
    resolve_by: datetime | None
    acknowledged_at: datetime | None
    staff_on_site_at: datetime | None
    on_site_at: datetime | None
    released_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    escalation_level: int


class CallbackOut(BaseModel):
    cycle: int
    by: str
    at: datetime
    satisfied: bool
    remarks: str


class TicketDetail(TicketOut):
    earlier_cycles: list[CycleOut]
    callbacks: list[CallbackOut]
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
    category: str | None = Field(
        default=None,
        max_length=64,
        description="the fault, e.g. 门机故障: a later ticket of the same category on the same "
        "machine within 30 days counts as a repeat repair",
    )


class CallbackIn(BaseModel):
    by: str | None = Field(
        default=None, max_length=128, description="who made the call (default: the key's user)"
    )
    at: datetime | None = Field(default=None, description="when (default: now)")
    satisfied: bool
    remarks: str = Field(default="", max_length=2000)
    reopen: bool = Field(
        default=False, description="an unsatisfied callback: reopen the ticket at once"
    )


class TransitionIn(BaseModel):
    comment: str | None = Field(
        default=None, max_length=2000, description="optional; the reason, required to cancel"
    )


class PointOut(BaseModel):
    """One active entry of a machine's point list (a fire panel's alarm point)."""

    point_list: str = Field(description="the catalogue's point list, e.g. alarm_point")
    fields: dict[str, int] = Field(description="zone, loop, address, device_type")
    text: str = Field(description="the entry in words: 分区3 回路1 地址17 感烟探测器")


class IncidentOut(BaseModel):
    id: int
    equipment: str
    equipment_name: str
    building_name: str | None
    title: str
    severity: str
    started_at: datetime
    zone: int | None = Field(default=None, description="the panel's alarm zone, as last read")
    isolated_points: int | None = Field(default=None, description="points isolated on the panel")
    points: list[PointOut] = Field(
        default_factory=list,
        description="the machine's active points now (every zone in alarm, not only the first)",
    )


class MachineTileOut(BaseModel):
    """One machine on the monitoring room's overview."""

    id: str
    name: str
    kind: str
    kind_name: str
    building: str
    state: str = Field(
        description="fault, alarm, offline, stale, maintenance, normal or no_data "
        "(api/board_view.py)"
    )
    state_name: str
    key_signal: str | None
    key_name: str | None
    key_value: bool | int | float | None = Field(
        description="the key signal's good value; null when it is not good"
    )
    key_unit: str | None
    last_reading_at: datetime | None
    age_seconds: float | None
    alarms: int


class BuildingOut(BaseModel):
    id: str
    name: str
    machines: list[MachineTileOut]


class SilenceOut(BaseModel):
    at: datetime
    by: str
    silenced: int


class BoardOut(BaseModel):
    now: datetime
    site: str
    site_name: str
    timezone: str = Field(description="the site's time zone: the board shows times in it")
    machines: dict[str, str] = Field(description="every machine's id and name")
    buildings: list[BuildingOut] = Field(
        default_factory=list, description="every machine by building with its state"
    )
    incidents: list[IncidentOut]
    alarms: list[AlertOut]
    tickets: list[TicketOut]
    handovers_overdue: list[HandoverFlag] = Field(
        default_factory=list,
        description="handovers not accepted within the grace period after their shift ended",
    )
    planned: list[PlannedOut] = Field(
        default_factory=list,
        description="planned work to see to: overdue orders, certificate renewals, and "
        "rounds of the last day whose answers the telemetry contradicted",
    )


class HandoverFlag(BaseModel):
    id: int
    shift_name: str
    shift_end: datetime
    status: str = Field(description="drafted (outgoing not signed) or signed (not accepted)")
    status_name: str


class RatioOut(BaseModel):
    numerator: int
    denominator: int
    value: float | None = Field(description="numerator ÷ denominator; null when nothing counts")
    target: float | None
    on_target: bool | None


class KpiGroupOut(BaseModel):
    """The KPIs of one machine kind, or of the whole site (``*``); definitions in
    ``core/kpis.py``."""

    repair_cycles: int
    cancelled: int
    timeliness: RatioOut = Field(description="维修及时率")
    repeat_repairs: RatioOut = Field(description="返修率 (target: at most)")
    callback: RatioOut = Field(description="回访率: called back within one working day")
    satisfaction: RatioOut = Field(description="满意率")
    good_order: float | None = Field(
        description="完好率: (machine_hours − down_hours) ÷ machine_hours (target ≥ 0.98)"
    )
    good_order_on_target: bool | None
    mttr_hours: float | None
    mtbf_hours: float | None
    failures: int
    machine_hours: float
    down_hours: float
    comms_cycles: int = Field(description="comms-loss cycles, reported apart from repairs")
    comms_mttr_hours: float | None


class KpisOut(BaseModel):
    start: datetime
    end: datetime
    open_now: int
    overdue_now: int
    inspection_completion: RatioOut = Field(
        description="巡检完成率: inspection orders done within their window ÷ those whose "
        "window closed in the period"
    )
    maintenance_completion: RatioOut = Field(
        description="保养完成率: maintenance orders done within their window ÷ those due"
    )
    site: KpiGroupOut = Field(description="all machines")
    by_kind: dict[str, KpiGroupOut]
