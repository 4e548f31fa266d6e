"""Shifts (班次, DESIGN §12): the site file's rota and which shift a moment belongs to.

A rota is a list of shifts, each ``HH:MM-HH:MM`` in the site's time zone, that together cover
the day once (``08:00-20:00`` and ``20:00-08:00``); a shift may run past midnight, and
``08:00-08:00`` is one 24-hour duty. A shift
*window* is one occurrence of a shift: its local start and end on a given day. Everything
here is pure: the moment to look at is always passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.rules import Duration

_HOURS = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*$")
DEFAULT_GRACE = timedelta(minutes=30)


class ShiftSpec(BaseModel):
    """One shift of the rota: ``{name: 白班, hours: "08:00-20:00"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    hours: str

    @field_validator("hours")
    @classmethod
    def _check_hours(cls, value: str) -> str:
        match = _HOURS.match(value)
        if match is None:
            raise ValueError(f"expected HH:MM-HH:MM (e.g. 08:00-20:00), got {value!r}")
        return value

    @property
    def start(self) -> time:
        match = _HOURS.match(self.hours)
        assert match is not None
        return time(int(match.group(1)), int(match.group(2)))

    @property
    def end(self) -> time:
        match = _HOURS.match(self.hours)
        assert match is not None
        return time(int(match.group(3)), int(match.group(4)))

    @property
    def minutes(self) -> int:
        """Length in minutes (wall clock; a DST change makes the real shift an hour off)."""
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        return (end - start) % (24 * 60) or 24 * 60  # 08:00-08:00 is a 24-hour duty


class ShiftsConfig(BaseModel):
    """The ``shifts`` section of the site file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rota: list[ShiftSpec] = Field(min_length=1, max_length=12)
    # how long after a shift ends its handover may stay unsigned before the board flags it
    handover_grace: Duration = DEFAULT_GRACE


def rota_errors(config: ShiftsConfig) -> list[str]:
    """Gaps and overlaps: the shifts must cover each minute of the day exactly once."""
    errors: list[str] = []
    minute_of = [0] * (24 * 60)
    for spec in config.rota:
        first = spec.start.hour * 60 + spec.start.minute
        for step in range(spec.minutes):
            minute_of[(first + step) % len(minute_of)] += 1
    for label, wanted in (("not covered by any shift", 0), ("covered by two shifts", 2)):
        runs = _runs([m == wanted if wanted == 0 else m >= wanted for m in minute_of])
        errors += [f"shifts.rota: {lo}-{hi} is {label}" for lo, hi in runs]
    names = [spec.name for spec in config.rota]
    for i, name in enumerate(names):
        if name in names[:i]:
            errors.append(f"shifts.rota[{i}].name: duplicate shift name {name!r}")
    if not timedelta(0) <= config.handover_grace <= timedelta(hours=12):
        errors.append("shifts.handover_grace: must be between 0s and 12h")
    return errors


def _runs(flags: list[bool]) -> list[tuple[str, str]]:
    """Contiguous runs of True minutes as ``HH:MM`` pairs (end exclusive)."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(flags):
        if not flags[i]:
            i += 1
            continue
        j = i
        while j < len(flags) and flags[j]:
            j += 1
        out.append((f"{i // 60:02d}:{i % 60:02d}", f"{j // 60:02d}:{j % 60:02d}"))
        i = j
    return out


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    """One occurrence of a shift: local start (inclusive) and end (exclusive), aware."""

    name: str
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """Stable identity of this occurrence: its start in UTC, to the minute."""
        return self.start.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%MZ")


def _window(spec: ShiftSpec, day: date, tz: ZoneInfo) -> ShiftWindow:
    start = datetime.combine(day, spec.start, tzinfo=tz)
    end_day = day if spec.end > spec.start else day + timedelta(days=1)  # past midnight
    return ShiftWindow(spec.name, start, datetime.combine(end_day, spec.end, tzinfo=tz))


def windows_between(
    config: ShiftsConfig, tz: ZoneInfo, start: datetime, end: datetime
) -> list[ShiftWindow]:
    """Every shift window overlapping [start, end), in time order."""
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    out: list[ShiftWindow] = []
    day = first
    while day <= last:
        for spec in config.rota:
            w = _window(spec, day, tz)
            if w.end > start and w.start < end:
                out.append(w)
        day += timedelta(days=1)
    return sorted(out, key=lambda w: w.start)


def shift_at(config: ShiftsConfig, tz: ZoneInfo, moment: datetime) -> ShiftWindow:
    """The shift window ``moment`` falls in."""
    found = [w for w in windows_between(config, tz, moment, moment) if w.start <= moment < w.end]
    if not found:  # a zero-length query window: look a minute around it
        found = [
            w
            for w in windows_between(config, tz, moment, moment + timedelta(minutes=1))
            if w.start <= moment < w.end
        ]
    return found[0]


def ended_between(
    config: ShiftsConfig, tz: ZoneInfo, after: datetime, until: datetime
) -> list[ShiftWindow]:
    """Shift windows whose end falls in (after, until], oldest first."""
    return [w for w in windows_between(config, tz, after, until) if after < w.end <= until]


def previous(config: ShiftsConfig, tz: ZoneInfo, window: ShiftWindow) -> ShiftWindow:
    """The shift window that ended when ``window`` began."""
    return shift_at(config, tz, window.start - timedelta(seconds=1))
