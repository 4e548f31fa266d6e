"""Maintenance and inspection plans (保养计划, DESIGN §11): data, and when each falls due.

The defaults per kind and role are data (``plans.yaml``); the site file's ``maintenance``
section overrides them per kind, role or machine. A plan is due by the calendar (every N
hours, days, weeks or months from the site's start date; on given weekdays; at given times of
day) or by use (every N run hours or starts, read from the counters in the time-series store).

Each *occurrence* of a plan is due from its ``start`` until its ``due``: a calendar plan's
next occurrence starts when the previous one is due, so the work of "3×/week" is done some
time between Monday 00:00 and Wednesday 00:00. A usage plan's occurrence starts when the
counter passes the next multiple and is due ``grace`` later. Everything here is pure: the
moment, the time zone and the counter samples are passed in.
"""

from __future__ import annotations

import calendar as _calendar
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.rules import Duration

DEFAULT_START = date(2026, 1, 1)  # the anchor of every-N plans when the site gives none
DEFAULT_GRACE = timedelta(days=7)
DEFAULT_CERTIFICATE_NOTICE = timedelta(days=30)  # how long a usage-based occurrence is due for
ANY_ROLE = "*"

_EVERY = re.compile(r"^\s*(\d+)\s*(hours?|days?|weeks?|months?)\s*$")
_WINDOW = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]|24):([0-5]\d)\s*$")
_SCHEDULE_FIELDS = ("every", "weekdays", "times", "run_hours", "starts")


class Category(StrEnum):
    INSPECTION = "inspection"  # 点检/巡检: counts in 巡检完成率
    MAINTENANCE = "maintenance"  # 保养/试验: counts in 保养完成率


class Unit(StrEnum):
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        return list(Weekday).index(self)


class UsageCounter(StrEnum):
    RUN_HOURS = "run_hours"
    STARTS = "starts"


UNIT_ZH = {Unit.HOURS: "小时", Unit.DAYS: "天", Unit.WEEKS: "周", Unit.MONTHS: "个月"}
CATEGORY_ZH = {Category.INSPECTION: "巡检", Category.MAINTENANCE: "保养"}


class PlanSpec(BaseModel):
    """One plan of one machine (after defaults and overrides are merged)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plan: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64)
    name_zh: str = Field(min_length=1, max_length=100)
    category: Category
    every: str | None = None  # "15 days", "3 months", "2 hours"
    weekdays: tuple[Weekday, ...] | None = None
    times: tuple[time, ...] | None = None
    window: str | None = None  # "00:00-05:00": the hours of the day the work is done in
    run_hours: float | None = Field(default=None, gt=0)
    starts: int | None = Field(default=None, gt=0)
    grace: Duration = DEFAULT_GRACE
    test_run: bool = False  # a test run seen in the telemetry can be its record

    @field_validator("every")
    @classmethod
    def _check_every(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _EVERY.match(value)
        if match is None or int(match.group(1)) == 0:
            raise ValueError(f"expected 'N hours|days|weeks|months' (N ≥ 1), got {value!r}")
        return value

    @field_validator("window")
    @classmethod
    def _check_window(cls, value: str | None) -> str | None:
        if value is not None and _WINDOW.match(value) is None:
            raise ValueError(f"expected HH:MM-HH:MM (e.g. 00:00-05:00), got {value!r}")
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> PlanSpec:
        calendar_parts = [self.every is not None, bool(self.weekdays) or bool(self.times)]
        usage_parts = [self.run_hours is not None, self.starts is not None]
        if sum(calendar_parts) + sum(usage_parts) != 1:
            raise ValueError(
                "give exactly one schedule: every, weekdays/times, run_hours or starts"
            )
        if self.times is not None and len(set(self.times)) != len(self.times):
            raise ValueError("times: each time of day once")
        return self

    @property
    def step(self) -> tuple[int, Unit] | None:
        """``every`` as (N, unit), or None."""
        if self.every is None:
            return None
        match = _EVERY.match(self.every)
        assert match is not None
        unit = match.group(2) if match.group(2).endswith("s") else match.group(2) + "s"
        return int(match.group(1)), Unit(unit)

    @property
    def usage(self) -> tuple[UsageCounter, float] | None:
        """The counter and its step of a usage-based plan, or None."""
        if self.run_hours is not None:
            return UsageCounter.RUN_HOURS, self.run_hours
        if self.starts is not None:
            return UsageCounter.STARTS, float(self.starts)
        return None

    @property
    def hours_window(self) -> tuple[time, time] | None:
        if self.window is None:
            return None
        match = _WINDOW.match(self.window)
        assert match is not None
        end = (
            time(0, 0) if match.group(3) == "24" else time(int(match.group(3)), int(match.group(4)))
        )
        return time(int(match.group(1)), int(match.group(2))), end

    def describe(self) -> str:
        """The schedule in words, e.g. ``every 15 days, 00:00-05:00``."""
        if self.usage is not None:
            counter, step = self.usage
            text = f"every {step:g} {counter} (counter), within {self.grace.days} d"
        elif self.step is not None:
            n, unit = self.step
            text = f"every {n} {unit}"
        else:
            days = ",".join(d.value for d in self.weekdays) if self.weekdays else "daily"
            at = ",".join(t.strftime("%H:%M") for t in self.times) if self.times else "00:00"
            text = f"{days} at {at}"
        return f"{text}, {self.window}" if self.window else text

    def within_window(self, ts: datetime, tz: ZoneInfo) -> bool:
        """Whether ``ts`` falls in the plan's hours of the day (always, without a window)."""
        hours = self.hours_window
        if hours is None:
            return True
        local = ts.astimezone(tz).time()
        start, end = hours
        if start < end:
            return start <= local < end
        return local >= start or local < end  # across midnight, or the whole day


class PlanOverride(BaseModel):
    """One entry of the site file's ``maintenance.plans``: which machines (one ``equipment``,
    or a ``kind`` and optional ``role``), which plan, and the fields that change. A plan the
    defaults do not have needs ``name_zh`` and ``category``; ``off: true`` drops a plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    equipment: str | None = None
    kind: str | None = None
    role: str | None = None
    plan: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64)
    off: bool = False
    name_zh: str | None = None
    category: Category | None = None
    every: str | None = None
    weekdays: tuple[Weekday, ...] | None = None
    times: tuple[time, ...] | None = None
    window: str | None = None
    run_hours: float | None = None
    starts: int | None = None
    grace: Duration | None = None
    test_run: bool | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> PlanOverride:
        if (self.equipment is None) == (self.kind is None):
            raise ValueError("give either equipment or kind (with an optional role)")
        if self.equipment is not None and self.role is not None:
            raise ValueError("role goes with kind, not with equipment")
        return self

    def applies_to(self, equipment_id: str, kind: str, role: str | None) -> bool:
        if self.equipment is not None:
            return self.equipment == equipment_id
        return self.kind == kind and (self.role is None or self.role == role)

    @property
    def specificity(self) -> int:
        """Later, more specific overrides win: kind < kind+role < machine."""
        return 2 if self.equipment else (1 if self.role else 0)


class MaintenanceConfig(BaseModel):
    """The site file's ``maintenance`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: date = DEFAULT_START  # every-N plans count from this local date
    # a ledger certificate expiring within this becomes a planned order (and shows on the board)
    certificate_notice: Duration = DEFAULT_CERTIFICATE_NOTICE
    plans: list[PlanOverride] = Field(default_factory=list)


@cache
def default_plans() -> dict[str, dict[str, tuple[PlanSpec, ...]]]:
    """The catalogue's plans: kind → role (or ``*``) → plans."""
    text = resources.files("core").joinpath("plans.yaml").read_text(encoding="utf-8")
    raw: dict[str, dict[str, list[dict[str, Any]]]] = yaml.safe_load(text)
    return {
        kind: {
            role: tuple(PlanSpec.model_validate(p) for p in plans) for role, plans in roles.items()
        }
        for kind, roles in raw.items()
    }


class PlanError(ValueError):
    """An override that does not make a valid plan; ``errors`` are ``path: message`` lines."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def plans_for(
    equipment_id: str, kind: str, role: str | None, config: MaintenanceConfig
) -> tuple[PlanSpec, ...]:
    """The plans of one machine: the defaults of its kind and role, then the site's
    overrides in order of specificity (kind, kind+role, machine). Raises PlanError."""
    roles = default_plans().get(kind, {})
    chosen = roles.get(role or ANY_ROLE, roles.get(ANY_ROLE, ()))
    plans: dict[str, PlanSpec] = {p.plan: p for p in chosen}
    errors: list[str] = []
    indexed = [(i, o) for i, o in enumerate(config.plans) if o.applies_to(equipment_id, kind, role)]
    for i, override in sorted(indexed, key=lambda pair: pair[1].specificity):
        if override.off:
            plans.pop(override.plan, None)
            continue
        given = override.model_dump(exclude_none=True, exclude={"equipment", "kind", "role", "off"})
        base = plans.get(override.plan)
        merged: dict[str, Any] = {}
        if base is not None:
            merged = base.model_dump(exclude_none=True)
            if any(f in given for f in _SCHEDULE_FIELDS):  # a new schedule replaces the old
                for f in _SCHEDULE_FIELDS:
                    merged.pop(f, None)
        merged.update(given)
        try:
            plans[override.plan] = PlanSpec.model_validate(merged)
        except ValidationError as err:
            for e in err.errors():
                where = ".".join(str(p) for p in e["loc"])
                path = f"maintenance.plans[{i}]" + (f".{where}" if where else "")
                errors.append(f"{path}: {e['msg']}")
    if errors:
        raise PlanError(errors)
    return tuple(plans.values())


# ---------------------------------------------------------------- when occurrences fall due


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One due occurrence of a plan: the work is due from ``start`` until ``due``."""

    start: datetime
    due: datetime


def calendar_occurrences(
    plan: PlanSpec, tz: ZoneInfo, anchor: date, start: datetime, end: datetime
) -> list[Occurrence]:
    """The occurrences of a calendar plan that start in ``[start, end)``."""
    if plan.usage is not None:
        raise ValueError(f"plan {plan.plan} is usage-based")
    out: list[Occurrence] = []
    instants = _instants(plan, tz, anchor, start)
    current = next(instants)
    for following in instants:
        if current >= end:
            break
        if current >= start:
            out.append(Occurrence(current, following))
        current = following
    return out


def occurrence_at(plan: PlanSpec, tz: ZoneInfo, anchor: date, now: datetime) -> Occurrence:
    """The calendar occurrence due at ``now`` (start ≤ now < due)."""
    instants = _instants(plan, tz, anchor, now)
    current = next(instants)
    for following in instants:
        if current <= now < following:
            return Occurrence(current, following)
        current = following
    raise AssertionError("instants never pass now")  # pragma: no cover - infinite generator


def _instants(plan: PlanSpec, tz: ZoneInfo, anchor: date, since: datetime) -> Iterator[datetime]:
    """The plan's occurrence starts in order, from one at or before ``since``."""
    since_day = since.astimezone(tz).date()
    step = plan.step
    if step is not None:
        n, unit = step
        if unit is Unit.HOURS:
            origin = _local(anchor, time(0), tz)
            width = timedelta(hours=n)
            k = (since - origin) // width
            while True:
                yield origin + k * width  # hours are real hours, whatever the clocks do
                k += 1
        elif unit is Unit.MONTHS:
            months = (since_day.year - anchor.year) * 12 + since_day.month - anchor.month
            k = months // n - 1
            while True:
                yield _local(_add_months(anchor, k * n), time(0), tz)
                k += 1
        else:
            days = n * (7 if unit is Unit.WEEKS else 1)
            k = (since_day - anchor).days // days - 1
            while True:
                yield _local(anchor + timedelta(days=k * days), time(0), tz)
                k += 1
    weekdays = {d.number for d in plan.weekdays} if plan.weekdays else set(range(7))
    times = sorted(plan.times) if plan.times else [time(0)]
    day = since_day - timedelta(days=8)  # a full week back holds one instant at or before
    while True:
        if day.weekday() in weekdays:
            for at in times:
                yield _local(day, at, tz)
        day += timedelta(days=1)


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at).replace(tzinfo=tz)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def usage_occurrences(
    plan: PlanSpec, samples: Sequence[tuple[datetime, float]], used_before: float = 0.0
) -> list[Occurrence]:
    """The occurrences of a usage plan from a counter's samples (time order): one each time
    the use counted from the first sample passes a multiple of the plan's step. ``used_before``
    is the use already counted towards the first step (since the last time it was done).
    A counter that goes down was reset or replaced: use goes on from its new value."""
    usage = plan.usage
    if usage is None:
        raise ValueError(f"plan {plan.plan} is calendar-based")
    _counter, step = usage
    out: list[Occurrence] = []
    used = used_before
    threshold = step
    previous: float | None = None
    for ts, value in samples:
        if previous is not None and value > previous:
            used += value - previous
        previous = value
        while used >= threshold:
            out.append(Occurrence(ts, ts + plan.grace))
            threshold += step
    return out


def usage_left(plan: PlanSpec, used_since_done: float) -> float:
    """How much use is left before the next occurrence (hours or starts)."""
    usage = plan.usage
    if usage is None:
        raise ValueError(f"plan {plan.plan} is calendar-based")
    return usage[1] - used_since_done % usage[1]


class RouteSpec(BaseModel):
    """One inspection route (巡检路线) of the site file's ``inspections.routes``: the machines
    walked together, how often, and optionally the shift it is walked in (its hours become
    the route's window). Each machine gets the route as an inspection plan ``route_<id>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=50)
    name: str = Field(min_length=1, max_length=100)
    machines: list[str] = Field(min_length=1, max_length=500)
    shift: str | None = None
    every: str | None = None
    weekdays: tuple[Weekday, ...] | None = None
    times: tuple[time, ...] | None = None
    window: str | None = None

    def plan(self, shift_hours: str | None = None) -> PlanSpec:
        """The route as one machine's plan (raises ValidationError for a bad schedule)."""
        return PlanSpec(
            plan=f"route_{self.id}",
            name_zh=self.name,
            category=Category.INSPECTION,
            every=self.every,
            weekdays=self.weekdays,
            times=self.times,
            window=self.window or shift_hours,
        )


class InspectionsConfig(BaseModel):
    """The site file's ``inspections`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: list[RouteSpec] = Field(default_factory=list)
