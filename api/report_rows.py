"""Report lines shared by the daily and monthly reports and the handover: alarms, tickets."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import RowMapping

from api.alarm_history import AlarmEpisode
from api.context import ApiContext
from api.lookup import display_name
from api.schemas_reports import AlarmLine, TicketLine
from api.ticket_views import facts
from core.rules import Severity, TicketClass
from core.tickets import TicketStatus

# ticket classes and statuses as the department writes them (the JSON keeps the ids)
CLASS_ZH: dict[str, str] = {
    TicketClass.ENTRAPMENT: "困人",
    TicketClass.ELEVATOR_FAULT: "电梯故障",
    TicketClass.URGENT: "急修",
    TicketClass.GENERAL: "一般维修",
    TicketClass.COMMS: "通讯中断",
    TicketClass.EMERGENCY: "紧急事件",
}
STATUS_ZH: dict[str, str] = {
    TicketStatus.OPEN: "待接单",
    TicketStatus.ACKNOWLEDGED: "已接单",
    TicketStatus.ON_SITE: "已到场",
    TicketStatus.RESOLVED: "已完工",
    TicketStatus.CLOSED: "已回访关闭",
    TicketStatus.REOPENED: "返修中",
    TicketStatus.CANCELLED: "已取消",
}
SEVERITY_ZH: dict[str, str] = {
    Severity.EMERGENCY: "紧急",
    Severity.CRITICAL: "严重",
    Severity.MAJOR: "重要",
    Severity.MINOR: "一般",
    Severity.INFO: "提示",
}


def zh(table: dict[str, str], key: str) -> str:
    """The Chinese label of a machine-readable value, or the value itself when unlisted."""
    return table.get(key, key)


def site_zone(ctx: ApiContext) -> ZoneInfo:
    return ZoneInfo(ctx.site.site.timezone)


def _local(ts: datetime | None, tz: ZoneInfo) -> datetime | None:
    return None if ts is None else ts.astimezone(tz)


def building_name(ctx: ApiContext, equipment: str) -> str | None:
    try:
        return ctx.site.building(ctx.site.machine(equipment).building).name
    except KeyError:
        return None


def alarm_line(ctx: ApiContext, a: AlarmEpisode, until: datetime) -> AlarmLine:
    """An alarm episode for a report covering up to ``until``."""
    tz = site_zone(ctx)
    return AlarmLine(
        equipment=a.equipment,
        equipment_name=display_name(ctx, a.equipment),
        rule_id=a.rule_id,
        title=a.title,
        severity=a.severity,
        started_at=a.started_at.astimezone(tz),
        ended_at=_local(a.ended_at, tz),
        duration_minutes=round(a.duration(until).total_seconds() / 60, 1),
    )


def ticket_line(ctx: ApiContext, row: RowMapping) -> TicketLine:
    tz = site_zone(ctx)
    t = facts(row)
    return TicketLine(
        id=t.id,
        equipment=t.equipment,
        equipment_name=display_name(ctx, t.equipment),
        building_name=building_name(ctx, t.equipment),
        ticket_class=t.ticket_class,
        title=str(row["title"]),
        status=t.status,
        opened_at=t.opened_at.astimezone(tz),
        resolved_at=_local(t.resolved_at, tz),
        closed_at=_local(t.closed_at, tz),
    )
