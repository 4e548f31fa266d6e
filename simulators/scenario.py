"""Scenarios as data: timed fault injections and recoveries, read from YAML.

A scenario names machines by ``equipment`` id or by a ``select`` of kind/role/building/
transport, so one library works on any site that has such machines. ``expect`` lists what the
stored readings must show (used by the end-to-end tests and useful as documentation).
Like the site file, a scenario is validated once and every problem is reported with its path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.readings import Quality
from core.site import Duration, Equipment, Identifier, Site
from simulators.models import MODEL_FAULTS

# faults of the link, not of the machine: handled by the transports
TRANSPORT_FAULTS: dict[str, frozenset[str]] = {
    "comms_loss": frozenset({"drop_connection"}),
    "gateway_down": frozenset(),
}


class ScenarioError(Exception):
    """A scenario or command is wrong; ``errors`` holds one ``path: message`` line each."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: {len(errors)} error(s)\n" + "\n".join(errors))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selector(_Model):
    """Picks the ``index``-th machine (site-file order) that matches every given field."""

    kind: str | None = None
    role: str | None = None
    building: Identifier | None = None
    transport: Literal["mqtt", "modbus"] | None = None
    index: int = Field(default=0, ge=0)

    def matches(self, eq: Equipment) -> bool:
        transport = "mqtt" if eq.source.mqtt is not None else "modbus"
        return all(
            wanted is None or wanted == actual
            for wanted, actual in (
                (self.kind, eq.kind),
                (self.role, eq.role),
                (self.building, eq.building),
                (self.transport, transport),
            )
        )

    def describe(self) -> str:
        fields = self.model_dump(exclude_none=True, exclude_defaults=True)
        return ", ".join(f"{k}={v}" for k, v in fields.items()) or "any machine"


class _Target(_Model):
    equipment: Identifier | None = None
    select: Selector | None = None

    @model_validator(mode="after")
    def _one_target(self) -> _Target:
        if (self.equipment is None) == (self.select is None):
            raise ValueError("give exactly one of equipment or select")
        return self


class Action(_Target):
    """Inject or clear one fault on one machine; also the JSON body of a control command."""

    inject: str | None = None
    clear: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_action(self) -> Action:
        if (self.inject is None) == (self.clear is None):
            raise ValueError("give exactly one of inject or clear")
        return self

    @property
    def fault(self) -> str:
        return self.inject or self.clear or ""


class Step(Action):
    at: Duration


class Expectation(_Target):
    """What the stored readings of ``signal`` must show in the window [at, at + within].

    ``value``/``below``/``above``/``quality``: some reading in the window matches, and the
    last reading before ``at`` did not (so the change happened in the window).
    ``min_changes``: the value changes at least that often in the window, and less often in
    the window of the same length before it; ``max_changes``: at most that often, and more
    often in the window before (chatter that stopped). ``steady``: every reading in the window has
    that value (for a recovery after chatter, where "before" is not one value).
    """

    at: Duration
    within: Duration = timedelta(seconds=30)
    signal: str
    value: float | None = None
    below: float | None = None
    above: float | None = None
    quality: Quality | None = None
    min_changes: int | None = Field(default=None, ge=1)
    max_changes: int | None = Field(default=None, ge=0)
    steady: float | None = None

    @model_validator(mode="after")
    def _one_check(self) -> Expectation:
        given = (
            self.value,
            self.below,
            self.above,
            self.quality,
            self.min_changes,
            self.max_changes,
            self.steady,
        )
        if sum(x is not None for x in given) != 1:
            raise ValueError(
                "give exactly one of value, below, above, quality, min_changes, max_changes, steady"
            )
        return self


class Scenario(_Model):
    name: Identifier | str
    description: str
    duration: Duration
    tick: Duration = timedelta(seconds=5)
    # the site's local time of day the scenario starts at (a night-time leak needs a night);
    # without it, whenever the run starts
    start: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] | None = None
    steps: list[Step]
    expect: list[Expectation] = Field(default_factory=list)

    def starts_at(self, around: datetime, tz: tzinfo) -> datetime:
        """When to start a run due ``around``: ``around`` itself, or the scenario's
        ``start`` time of day on the same local date."""
        if self.start is None:
            return around
        local = around.astimezone(tz)
        clock = time.fromisoformat(self.start)
        return datetime.combine(local.date(), clock, tzinfo=tz).astimezone(around.tzinfo)


@dataclass(frozen=True, slots=True)
class Resolved:
    """An action or expectation bound to one machine of a site."""

    equipment: str
    at: timedelta
    source: Step | Expectation


def _loc(parts: tuple[int | str, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def parse_scenario(raw: Any, source: str = "<scenario>") -> Scenario:
    if not isinstance(raw, dict):
        raise ScenarioError(source, ["(root): expected a mapping with name, duration, steps"])
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as err:
        errors = [f"{_loc(e['loc'])}: {e['msg']}" for e in err.errors()]
        raise ScenarioError(source, errors) from None
    errors = [
        f"steps[{i}].at: {step.at} is after the scenario's duration {scenario.duration}"
        for i, step in enumerate(scenario.steps)
        if step.at > scenario.duration
    ]
    if scenario.tick <= timedelta(0):
        errors.append("tick: must be positive")
    if errors:
        raise ScenarioError(source, errors)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ScenarioError(str(path), [f"(file): cannot read: {err.strerror}"]) from err
    except yaml.YAMLError as err:
        raise ScenarioError(str(path), [f"(file): not valid YAML: {err}"]) from err
    return parse_scenario(raw, str(path))


def library() -> dict[str, Path]:
    """The scenarios shipped with plantroom, by name."""
    folder = resources.files("simulators.scenarios")
    return {
        Path(str(entry)).stem: Path(str(entry))
        for entry in folder.iterdir()
        if str(entry).endswith(".yaml")
    }


def find_scenario(name_or_path: str) -> Scenario:
    """A library scenario by name, or a scenario file by path."""
    shipped = library()
    if name_or_path in shipped:
        return load_scenario(shipped[name_or_path])
    if Path(name_or_path).exists():
        return load_scenario(name_or_path)
    known = ", ".join(sorted(shipped))
    raise ScenarioError(name_or_path, [f"(name): no such scenario file or name (known: {known})"])


def resolve_target(site: Site, target: _Target) -> Equipment:
    """The machine an action or expectation means; KeyError says why none matches."""
    if target.equipment is not None:
        return site.machine(target.equipment)
    assert target.select is not None
    found = [eq for eq in site.equipment if target.select.matches(eq)]
    if len(found) <= target.select.index:
        raise KeyError(f"no machine with {target.select.describe()} in site {site.site.id}")
    return found[target.select.index]


def check_action(site: Site, action: Action, path: str) -> tuple[str, list[str]]:
    """The machine id an action applies to, and any problems with it."""
    try:
        eq = resolve_target(site, action)
    except KeyError as err:
        return "", [f"{path}: {err.args[0]}"]
    known = {**MODEL_FAULTS.get(eq.kind, {}), **TRANSPORT_FAULTS}
    if action.fault not in known:
        names = ", ".join(sorted(known))
        return eq.id, [f"{path}: {eq.kind} {eq.id} has no fault '{action.fault}' ({names})"]
    unknown = sorted(set(action.params) - known[action.fault])
    if unknown and action.inject is not None:
        takes = ", ".join(sorted(known[action.fault])) or "none"
        return eq.id, [
            f"{path}.params: fault '{action.fault}' has no parameter "
            f"{', '.join(unknown)} (takes: {takes})"
        ]
    if action.fault == "gateway_down" and eq.source.modbus is None:
        return eq.id, [f"{path}: gateway_down needs a Modbus machine, {eq.id} uses MQTT"]
    return eq.id, []


def bind(scenario: Scenario, site: Site, source: str = "<scenario>") -> list[Resolved]:
    """Bind every step and expectation to a machine of ``site``, sorted by time."""
    errors: list[str] = []
    bound: list[Resolved] = []
    for i, step in enumerate(scenario.steps):
        eq_id, problems = check_action(site, step, f"steps[{i}]")
        errors += problems
        bound.append(Resolved(eq_id, step.at, step))
    for i, expectation in enumerate(scenario.expect):
        try:
            eq = resolve_target(site, expectation)
        except KeyError as err:
            errors.append(f"expect[{i}]: {err.args[0]}")
            continue
        bound.append(Resolved(eq.id, expectation.at, expectation))
    if errors:
        raise ScenarioError(source, errors)
    return sorted(bound, key=lambda r: r.at)
