"""Report lines shared by the daily and monthly reports and the handover: alarms, tickets."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from api.alarm_history import AlarmEpisode
from api.context import ApiContext
from api.lookup import display_name
from api.schemas_reports import AlarmLine, TicketLine
from core.rules import Severity
from core.tickets import CLASS_TEXT, STATUS_TEXT, Ticket

# ticket classes and statuses as the department writes them (the JSON keeps the ids)
CLASS_ZH: dict[str, str] = {k.value: v for k, v in CLASS_TEXT.items()}
STATUS_ZH: dict[str, str] = {k.value: v for k, v in STATUS_TEXT.items()}
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


def ticket_line(ctx: ApiContext, t: Ticket) -> TicketLine:
    tz = site_zone(ctx)
    return TicketLine(
        id=t.id,
        equipment=t.equipment,
        equipment_name=display_name(ctx, t.equipment),
        building_name=building_name(ctx, t.equipment),
        ticket_class=t.ticket_class,
        title=t.title,
        status=t.status.value,
        opened_at=t.opened_at.astimezone(tz),
        resolved_at=_local(t.cycle.resolved_at, tz),
        closed_at=_local(t.cycle.closed_at, tz),
    )
