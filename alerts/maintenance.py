"""Recurring weekly maintenance windows from the site file, in the site's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.rules import WEEKDAYS, MaintenanceWindow
from core.site import Equipment


def covers(window: MaintenanceWindow, eq: Equipment) -> bool:
    if window.equipment is not None and eq.id not in window.equipment:
        return False
    return window.buildings is None or eq.building in window.buildings


def in_window(window: MaintenanceWindow, now: datetime, tz: ZoneInfo) -> bool:
    local = now.astimezone(tz)
    clock = local.strftime("%H:%M")
    today = WEEKDAYS[local.weekday()]
    if window.start < window.end:
        return today in window.days and window.start <= clock < window.end
    # crosses midnight: the evening of a listed day, or the morning after it
    yesterday = WEEKDAYS[(local - timedelta(days=1)).weekday()]
    return (today in window.days and clock >= window.start) or (
        yesterday in window.days and clock < window.end
    )


def in_maintenance(
    windows: list[MaintenanceWindow], eq: Equipment, now: datetime, tz: ZoneInfo
) -> bool:
    return any(covers(w, eq) and in_window(w, now, tz) for w in windows)
