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


class CarriedTicket(TicketLine):
    next_deadline: str | None = Field(description="respond, on_site or resolve; null: none")
    due_at: datetime | None
    minutes_left: float | None = Field(description="at handover; negative: overdue by that")


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
