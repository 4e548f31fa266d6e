"""Alert rules as data (DESIGN §8): default rules per kind in ``rules.yaml``, overridable per
site and per machine in the site file.

A rule is a condition over a machine's signals, an optional ``for`` duration, a severity and
the class of ticket it opens. Conditions are a small closed set of types; the alert engine
evaluates them, this module only describes and validates them.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)


def _duration(raw: object) -> object:
    # the site file's duration syntax; imported late because core.site imports this module
    if isinstance(raw, timedelta):
        return raw
    from core.site import parse_duration

    return parse_duration(raw)


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TicketClass(StrEnum):
    """What a firing rule opens; the deadline table (DESIGN §8) is keyed by it."""

    ENTRAPMENT = "entrapment"
    ELEVATOR_FAULT = "elevator_fault"
    URGENT = "urgent"
    GENERAL = "general"
    COMMS = "comms"
    EMERGENCY = "emergency"  # an incident for the monitoring room, not a repair ticket
    NONE = "none"  # recorded alert only


class Severity(StrEnum):
    EMERGENCY = "emergency"
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    INFO = "info"


class Threshold(_Model):
    """``above``/``below`` starts the condition; it ends only past ``clear`` (hysteresis)."""

    type: Literal["threshold"]
    signal: str
    above: float | None = None
    below: float | None = None
    clear: float | None = None

    @model_validator(mode="after")
    def _one_side(self) -> Threshold:
        if (self.above is None) == (self.below is None):
            raise ValueError("threshold needs exactly one of above or below")
        if self.clear is not None:
            if self.above is not None and self.clear > self.above:
                raise ValueError("clear must not be above the 'above' threshold")
            if self.below is not None and self.clear < self.below:
                raise ValueError("clear must not be below the 'below' threshold")
        return self


class State(_Model):
    type: Literal["state"]
    signal: str
    is_: bool = Field(alias="is")


class Code(_Model):
    """A numeric status equal to one of ``in`` (drive fault codes, controller states)."""

    type: Literal["code"]
    signal: str
    in_: list[float] = Field(alias="in", min_length=1)


class Rate(_Model):
    """Change of ``signal`` per ``per`` over the last ``window`` (first to last good value)."""

    type: Literal["rate"]
    signal: str
    per: Duration = timedelta(minutes=1)
    window: Duration = timedelta(minutes=5)
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one_side(self) -> Rate:
        if (self.above is None) == (self.below is None):
            raise ValueError("rate needs exactly one of above or below")
        return self


class Stale(_Model):
    """No good value within ``after``: of ``signal``, or of any signal of the machine."""

    type: Literal["stale"]
    signal: str | None = None
    after: Duration = timedelta(seconds=60)


class Count(_Model):
    """Increase of a counter (or rising edges of a boolean) within ``window`` above a number."""

    type: Literal["count"]
    signal: str
    window: Duration = timedelta(hours=1)
    above: float


class Clock(_Model):
    """The site's local time of day is in [``start``, ``end``); ``end`` before ``start``
    crosses midnight (``23:00``–``05:00``). For what is normal by day and not by night."""

    type: Literal["clock"]
    start: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    end: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class Peers(_Model):
    """Over the other machines of this machine's ``group`` (a duty/standby pump set): true
    when ``any``, ``all`` or ``none`` of them satisfy ``where`` (on their latest values)."""

    type: Literal["peers"]
    match: Literal["any", "all", "none"]
    where: Condition

    @model_validator(mode="after")
    def _latest_only(self) -> Peers:
        if history_window(self.where) > timedelta(0):
            raise ValueError("peers: 'where' reads latest values only (no rate or count)")
        if any(isinstance(c, Peers | Stale) for c in _parts(self.where)):
            raise ValueError("peers: 'where' may not hold peers or stale conditions")
        return self


class AllOf(_Model):
    type: Literal["all"]
    of: list[Condition] = Field(min_length=1)


class AnyOf(_Model):
    type: Literal["any"]
    of: list[Condition] = Field(min_length=1)


Condition = Annotated[
    Threshold | State | Code | Rate | Stale | Count | Clock | Peers | AllOf | AnyOf,
    Field(discriminator="type"),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()
Peers.model_rebuild()


def _parts(condition: Condition) -> list[Condition]:
    """The condition and every condition nested in it."""
    if isinstance(condition, AllOf | AnyOf):
        return [condition, *(p for part in condition.of for p in _parts(part))]
    if isinstance(condition, Peers):
        return [condition, *_parts(condition.where)]
    return [condition]


def signals_of(condition: Condition) -> set[str]:
    """Every signal a condition reads."""
    if isinstance(condition, AllOf | AnyOf):
        out: set[str] = set()
        for part in condition.of:
            out |= signals_of(part)
        return out
    if isinstance(condition, Peers):
        return signals_of(condition.where)  # the peers' signals: a group is of one kind
    if isinstance(condition, Stale):
        return {condition.signal} if condition.signal else set()
    if isinstance(condition, Clock):
        return set()
    return {condition.signal}


def history_window(condition: Condition) -> timedelta:
    """How much history the condition needs (zero for conditions on the latest value)."""
    if isinstance(condition, AllOf | AnyOf):
        return max((history_window(part) for part in condition.of), default=timedelta(0))
    if isinstance(condition, Rate | Count):
        return condition.window
    return timedelta(0)


class Rule(_Model):
    id: str
    kind: str
    name: str
    when: Condition
    for_: Duration = Field(default=timedelta(0), alias="for")
    severity: Severity = Severity.MAJOR
    ticket: TicketClass = TicketClass.GENERAL
    enabled: bool = True
    never_suppress: bool = False  # people at risk: page even during maintenance
    # while this rule is pending or firing on a machine, these rules of the same machine are
    # recorded but page nobody (an entrapment is one ticket, not also a fault and an outage)
    inhibits: list[str] = Field(default_factory=list)
    roles: list[str] | None = None  # only machines with one of these roles
    roles_except: list[str] = Field(default_factory=list)

    @property
    def is_comms(self) -> bool:
        return self.ticket is TicketClass.COMMS

    def applies_to(self, kind: str, role: str | None) -> bool:
        if not self.enabled or kind != self.kind:
            return False
        if self.roles is not None and role not in self.roles:
            return False
        return role not in self.roles_except


class RuleOverride(_Model):
    """Any subset of a rule's fields; a new rule id needs kind, name and when."""

    kind: str | None = None
    name: str | None = None
    when: Condition | None = None
    for_: Duration | None = Field(default=None, alias="for")
    severity: Severity | None = None
    ticket: TicketClass | None = None
    enabled: bool | None = None
    never_suppress: bool | None = None
    inhibits: list[str] | None = None
    roles: list[str] | None = None
    roles_except: list[str] | None = None

    def apply(self, rule: Rule) -> Rule:
        fields = self.model_dump(exclude_unset=True, by_alias=False)
        return rule.model_copy(update={k: getattr(self, k) for k in fields})

    def as_rule(self, rule_id: str) -> Rule:
        if self.kind is None or self.name is None or self.when is None:
            raise ValueError(f"new rule '{rule_id}' needs kind, name and when")
        raw: dict[str, Any] = {"id": rule_id}
        raw.update(self.model_dump(exclude_unset=True, by_alias=True))
        return Rule.model_validate(raw)


@cache
def default_rules() -> tuple[Rule, ...]:
    """The rules shipped in ``core/rules.yaml``."""
    text = resources.files("core").joinpath("rules.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    rules: list[Rule] = []
    for kind, entries in raw.items():
        for rule_id, body in entries.items():
            try:
                rules.append(Rule.model_validate({"id": rule_id, "kind": kind, **body}))
            except ValidationError as err:
                raise ValueError(f"core/rules.yaml {kind}.{rule_id}: {err}") from err
    return tuple(rules)


# ---------------------------------------------------------------- the site file's alerts block


class Deadlines(_Model):
    """Time from opening to acknowledge, to arrive on site, to resolve (None: no deadline)."""

    respond: Duration | None = None
    on_site: Duration | None = None
    resolve: Duration | None = None


# DESIGN §8. "Same shift" for urgent repairs is taken as 12 hours from opening (two-shift
# operation); a site working other shifts overrides ``urgent.resolve``.
DEFAULT_DEADLINES: dict[TicketClass, Deadlines] = {
    TicketClass.ENTRAPMENT: Deadlines(respond=timedelta(minutes=5), on_site=timedelta(minutes=30)),
    TicketClass.ELEVATOR_FAULT: Deadlines(
        respond=timedelta(minutes=30), on_site=timedelta(hours=2)
    ),
    TicketClass.URGENT: Deadlines(
        respond=timedelta(minutes=10), on_site=timedelta(minutes=30), resolve=timedelta(hours=12)
    ),
    TicketClass.GENERAL: Deadlines(
        respond=timedelta(minutes=30), on_site=timedelta(hours=24), resolve=timedelta(hours=48)
    ),
    TicketClass.COMMS: Deadlines(respond=timedelta(minutes=30), on_site=timedelta(hours=2)),
}

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"


class MaintenanceWindow(_Model):
    """A weekly window in the site's time zone; ``end`` before ``start`` crosses midnight."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS))
    start: Annotated[str, Field(pattern=_CLOCK_TIME)]
    end: Annotated[str, Field(pattern=_CLOCK_TIME)]
    equipment: list[str] | None = None  # None: every machine (of ``buildings`` if given)
    buildings: list[str] | None = None
    note: str | None = None


class Flapping(_Model):
    """More than ``changes`` condition changes within ``window`` make one flapping alert."""

    changes: int = Field(default=6, ge=2, le=1000)
    window: Duration = timedelta(minutes=10)


class AlertsConfig(_Model):
    rules: dict[str, RuleOverride] = Field(default_factory=dict)
    deadlines: dict[TicketClass, Deadlines] = Field(default_factory=dict)
    reopen_window: Duration = timedelta(hours=24)
    flapping: Flapping = Field(default_factory=Flapping)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    # a reading older than this is not fresh, whatever its quality says
    max_age: Duration = timedelta(minutes=2)
    # the webhook URL is a secret-bearing endpoint: it comes from this environment variable
    webhook_env: str = "PLANTROOM_WEBHOOK_URL"

    def deadlines_for(self, ticket: TicketClass) -> Deadlines:
        base = DEFAULT_DEADLINES.get(ticket, Deadlines())
        override = self.deadlines.get(ticket)
        if override is None:
            return base
        return base.model_copy(update=override.model_dump(exclude_unset=True))


class RuleError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def effective_rules(
    kind: str,
    role: str | None,
    site_rules: dict[str, RuleOverride],
    machine_rules: dict[str, RuleOverride],
    known_signals: set[str],
) -> list[Rule]:
    """The rules that apply to one machine: defaults, then site, then machine overrides."""
    errors: list[str] = []
    rules = {r.id: r for r in default_rules() if r.kind == kind}
    all_ids = {r.id for r in default_rules()}
    for where, overrides in (("alerts.rules", site_rules), ("rules", machine_rules)):
        for rule_id, override in overrides.items():
            if rule_id in rules:
                rules[rule_id] = override.apply(rules[rule_id])
            elif override.kind not in (None, kind) or (
                override.kind is None and rule_id in all_ids
            ):
                continue  # a rule of another kind
            else:
                try:
                    rules[rule_id] = override.as_rule(rule_id).model_copy(update={"kind": kind})
                except (ValueError, ValidationError) as err:
                    errors.append(f"{where}.{rule_id}: {err}")
    out = [r for r in rules.values() if r.applies_to(kind, role)]
    for rule in out:
        for signal in sorted(signals_of(rule.when) - known_signals):
            errors.append(f"rule {rule.id}: kind {kind} has no signal '{signal}'")
    if errors:
        raise RuleError(errors)
    return out


__all__ = [
    "DEFAULT_DEADLINES",
    "AlertsConfig",
    "AllOf",
    "AnyOf",
    "Clock",
    "Code",
    "Condition",
    "Count",
    "Deadlines",
    "Flapping",
    "MaintenanceWindow",
    "Peers",
    "Rate",
    "Rule",
    "RuleError",
    "RuleOverride",
    "Severity",
    "Stale",
    "State",
    "Threshold",
    "TicketClass",
    "default_rules",
    "effective_rules",
    "history_window",
    "signals_of",
]
