"""Response models of the reports (日报, 月报) and of the shift handover (交接班记录).

Keys stay machine-readable English; every time is given in the site's time zone (with its
offset), and Chinese names ride along as ``*_name`` fields.
"""

from __future__ import annotations

from datetime import date as date_
from datetime import datetime

from pydantic import BaseModel, Field


class SignalStats(BaseModel):
    name_zh: str | None
    unit: str | None
    count: int
    min: float
    max: float
    mean: float


class MachineDayOut(BaseModel):
    equipment: str
    name: str
    kind: str
    kind_name: str
    building: str
    building_name: str
    run_hours: float | None = Field(description="time the run signal was known true")
    starts: int | None
    faults: int | None
    availability: float | None = Field(
        description="of the time with data, the fraction not faulted; null: no data at all"
    )
    data_coverage: float = Field(description="fraction of the period with data")
    signals: dict[str, SignalStats | None]
    tickets_opened: int
    tickets_closed: int


class EnergyLine(BaseModel):
    equipment: str
    equipment_name: str
    signal: str = Field(description="the meter's counter: energy_kwh or volume_m3")
    signal_name: str
    unit: str
    used: float = Field(description="the counter's increase over the period")


class AlarmLine(BaseModel):
    equipment: str
    equipment_name: str
    rule_id: str
    title: str
    severity: str
    started_at: datetime
    ended_at: datetime | None = Field(description="null: still firing at the period's end")
    duration_minutes: float = Field(description="to its end, or to the period's end")


class TicketLine(BaseModel):
    id: int
    equipment: str
    equipment_name: str
    building_name: str | None
    ticket_class: str
    title: str
    status: str
    opened_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None


class DailyReportOut(BaseModel):
    site: str
    site_name: str
    date: date_
    timezone: str
    start: datetime
    end: datetime = Field(description="end of the period covered: midnight, or now for today")
    complete: bool
    machines: list[MachineDayOut]
    alarms: list[AlarmLine] = Field(description="alarm episodes overlapping the day")
    tickets: list[TicketLine] = Field(description="tickets opened or closed on the day")
    energy: list[EnergyLine] = Field(description="energy and water used, per meter with data")


class DeadlineLeft(BaseModel):
    kind: str = Field(description="respond, on_site or resolve")
    due_at: datetime
    minutes_left: float = Field(description="at handover; negative: overdue by that")


class PlannedLine(BaseModel):
    """A planned work order (巡检 or 保养) as it stood at the period's end."""

    id: int
    equipment: str
    equipment_name: str
    plan: str
    name: str
    category: str = Field(description="inspection or maintenance")
    category_name: str
    status: str
    status_name: str
    due_start: datetime
    due_by: datetime
    finished_at: datetime | None
    finished_by: str | None
    skip_reason: str | None


class CarriedTicket(TicketLine):
    next_deadline: str | None = Field(description="respond, on_site or resolve; null: none")
    due_at: datetime | None
    minutes_left: float | None = Field(description="at handover; negative: overdue by that")
    deadlines: list[DeadlineLeft] = Field(description="every deadline still to meet at handover")


class MachineAttention(BaseModel):
    equipment: str
    equipment_name: str
    building_name: str | None
    state: str = Field(description="silent (no fresh data) or out_of_service")
    detail: str = Field(description="what is wrong, in Chinese")


class KeyReading(BaseModel):
    equipment: str
    equipment_name: str
    signal: str
    signal_name: str
    unit: str | None
    value: float | None = Field(description="the last good value at handover; null: none")
    at: datetime | None


class ShiftOut(BaseModel):
    name: str
    start: datetime
    end: datetime


class HandoverContent(BaseModel):
    """What the shift left behind, drafted at its end and frozen then."""

    site: str
    site_name: str
    timezone: str
    shift: ShiftOut
    alarms: list[AlarmLine]
    tickets_opened: list[TicketLine]
    tickets_closed: list[TicketLine]
    tickets_carried: list[CarriedTicket]
    machines_attention: list[MachineAttention]
    key_readings: list[KeyReading]
    # drafts made before meters or planned work were read have none
    energy: list[EnergyLine] = Field(default_factory=list)
    planned_done: list[PlannedLine] = Field(
        default_factory=list, description="rounds and maintenance done or skipped in the shift"
    )
    planned_missed: list[PlannedLine] = Field(
        default_factory=list, description="fell due in the shift and not done by then"
    )


class HandoverOut(BaseModel):
    id: int
    status: str = Field(description="drafted, signed (by the outgoing), accepted (incoming)")
    status_name: str
    drafted_at: datetime
    content_sha256: str = Field(description="as in the logbook entries of the handover")
    outgoing_by: str | None
    outgoing_at: datetime | None
    remarks: str | None
    incoming_by: str | None
    incoming_at: datetime | None
    overdue: bool = Field(description="not accepted and past the shift end + handover grace")
    intact: bool = Field(
        description="content and remarks match the hashes kept in the logbook's chain"
    )
    problems: list[str] = Field(description="what does not match, when not intact")
    content: HandoverContent


class HandoverList(BaseModel):
    handovers: list[HandoverOut]


class SignIn(BaseModel):
    remarks: str = Field(default="", max_length=4000)


class OnDutyOut(BaseModel):
    site: str
    timezone: str
    shift: ShiftOut
    on_duty: str | None = Field(
        description="who accepted the handover at this shift's start; null: nobody yet"
    )
    previous_handover: HandoverOut | None


class LedgerLine(TicketLine):
    """One repair of the month's ledger (维修台账)."""

    cycle: int
    acknowledged_at: datetime | None
    on_site_at: datetime | None
    repair_hours: float | None = Field(description="resolved − start of its cycle")
    on_time: bool | None = Field(
        description="met every deadline that has fallen due; null: none due yet"
    )
    repeat: bool = Field(description="a repeat repair (reopened, or same fault within 30 days)")


class KpiLine(BaseModel):
    key: str
    name: str = Field(description="the KPI's Chinese name")
    value: float | None = Field(description="ratio 0..1 or hours; null: nothing to count")
    unit: str = Field(description="ratio or hours")
    numerator: int | None
    denominator: int | None
    target: float | None
    at_least: bool | None = Field(description="true: value should be ≥ target; false: ≤")
    on_target: bool | None
    definition: str


class CallbackLine(BaseModel):
    ticket_id: int
    equipment: str
    equipment_name: str
    resolved_at: datetime
    callback_at: datetime | None
    callback_by: str | None
    satisfied: bool | None = Field(description="what the caller was told; null: no callback")
    remarks: str | None
    within_one_working_day: bool | None


class FailingMachine(BaseModel):
    equipment: str
    equipment_name: str
    building_name: str | None
    kind: str
    failures: int
    repairs: int
    mttr_hours: float | None


class BuildingLine(BaseModel):
    building: str
    building_name: str
    machines: int
    tickets: int
    failures: int
    timeliness: float | None
    mttr_hours: float | None


class PlannedCompliance(BaseModel):
    inspections_due: int
    inspections_done: int
    maintenance_due: int
    maintenance_done: int


class MonthlyReportOut(BaseModel):
    site: str
    site_name: str
    month: str = Field(description="YYYY-MM, the site's local month")
    timezone: str
    start: datetime
    end: datetime
    complete: bool = Field(description="false while the month is still running")
    ledger: list[LedgerLine]
    kpis: list[KpiLine]
    callbacks: list[CallbackLine]
    planned: PlannedCompliance | None = Field(
        description="rounds and maintenance compliance; null: no planned work is recorded"
    )
    top_failing: list[FailingMachine]
    buildings: list[BuildingLine]
    energy: list[EnergyLine] = Field(description="energy and water used, per meter with data")
