"""The site calendar (``calendar`` in the site file): which days are working days, for the
"one working day" a callback (回访) is due in.

Monday to Friday are working days, except the listed public ``holidays``; the listed
``workdays`` are working days whatever the weekday (China's make-up days, 调休上班).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field


class Calendar(BaseModel):
    """The ``calendar`` section of the site file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    holidays: frozenset[date] = Field(default_factory=frozenset)
    workdays: frozenset[date] = Field(default_factory=frozenset)  # make-up working days

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


def one_working_day_after(ts: datetime, tz: ZoneInfo, calendar: Calendar) -> datetime:
    """The same local time on the next working day after ``ts``'s local day: a repair
    resolved on Friday evening before a holiday Monday is due a callback on Tuesday."""
    local = ts.astimezone(tz)
    day = local.date() + timedelta(days=1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    naive = datetime.combine(day, local.time().replace(tzinfo=None))
    return naive.replace(tzinfo=tz)
