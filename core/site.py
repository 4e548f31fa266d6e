"""The site file (DESIGN §4): one YAML file describes a property, its buildings and machines.

``load_site`` validates everything once and raises ``SiteError`` listing every problem with
its path; after that, code works with these typed models and never with raw dicts.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from core.calendar import Calendar
from core.catalogue import Catalogue, load_catalogue
from core.plans import InspectionsConfig, MaintenanceConfig, PlanError, PlanSpec, plans_for
from core.rules import AlertsConfig, RuleError, RuleOverride, effective_rules
from core.shifts import ShiftsConfig, rota_errors
from core.tickets import TicketPolicy

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(raw: object) -> object:
    """Accept ``30s``, ``5m``, ``2h``, ``250ms`` or a number of seconds."""
    try:
        return _parse_duration(raw)
    except OverflowError:
        raise ValueError(f"duration out of range: {raw!r}") from None


def _parse_duration(raw: object) -> object:
    if isinstance(raw, str):
        match = _DURATION.match(raw)
        if match is None:
            raise ValueError(f"not a duration: {raw!r} (use e.g. 500ms, 30s, 5m, 2h)")
        return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if isinstance(raw, bool):
        raise ValueError("a duration cannot be a boolean")
    if isinstance(raw, int | float):
        return timedelta(seconds=raw)
    return raw


def _between(low: timedelta, high: timedelta) -> AfterValidator:
    """A duration bound: an absurd poll interval or timeout is a typo, not a wish."""

    def check(value: timedelta) -> timedelta:
        if not low <= value <= high:
            raise ValueError(f"must be between {_human(low)} and {_human(high)}")
        return value

    return AfterValidator(check)


def _human(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit in ("d", "h", "m", "s"):
        if seconds >= _UNIT_SECONDS[unit] and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds / _UNIT_SECONDS[unit]:g}{unit}"
    return f"{seconds * 1000:g}ms"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=64)]
# A topic segment or host must never smuggle in wildcards, separators or credentials.
TopicName = Annotated[str, Field(pattern=r"^[^#+\x00]+$", min_length=1, max_length=512)]
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _check_host(host: str) -> str:
    """A bare host name or IP address; never a URL, credentials or a port (the error does
    not repeat the value, which may hold a password)."""
    if "://" in host:
        raise ValueError("give a bare host name or IP address, not a URL (drop the scheme)")
    if "@" in host:
        raise ValueError("credentials do not belong in the site file; give a bare host name")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if ":" in host or "[" in host:
        raise ValueError("give the port in 'port', not in 'host' (IPv6 without brackets)")
    if not all(_HOST_LABEL.match(label) for label in host.removesuffix(".").split(".")):
        raise ValueError("not a host name (letters, digits, '-' and '.') or IP address")
    return host


def _check_field_path(path: str) -> str:
    """A dotted path into a JSON payload: a few non-empty keys, no control characters."""
    parts = path.split(".")
    if len(parts) > 16 or not all(parts):
        raise ValueError("expected a dotted path of 1 to 16 non-empty keys, e.g. 'st.run'")
    if any(ord(c) < 32 or c == "\x7f" for c in path):
        raise ValueError("a field path has no control characters")
    return path


HostName = Annotated[str, Field(min_length=1, max_length=253), AfterValidator(_check_host)]
FieldPath = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_check_field_path)]
PollInterval = Annotated[Duration, _between(timedelta(milliseconds=50), timedelta(days=1))]
Timeout = Annotated[Duration, _between(timedelta(milliseconds=1), timedelta(seconds=60))]
StaleAfter = Annotated[Duration, _between(timedelta(seconds=1), timedelta(days=7))]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- Modbus register maps


class Table(StrEnum):
    COIL = "coil"
    DISCRETE_INPUT = "discrete_input"
    HOLDING = "holding"
    INPUT = "input"

    @property
    def is_bit_table(self) -> bool:
        return self in (Table.COIL, Table.DISCRETE_INPUT)


class RegisterType(StrEnum):
    BOOL = "bool"
    BIT = "bit"  # one bit of a 16-bit register, chosen by ``bit``
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"
    FLOAT64 = "float64"

    @property
    def register_count(self) -> int:
        return _REGISTER_COUNTS.get(self.value, 1)


_REGISTER_COUNTS = {"int32": 2, "uint32": 2, "float32": 2, "float64": 4}


class WordOrder(StrEnum):
    """Byte order of the value as the four letters of a big-endian float32, Telegraf-style."""

    ABCD = "ABCD"  # big-endian words, big-endian bytes
    DCBA = "DCBA"  # little-endian words, little-endian bytes
    BADC = "BADC"  # big-endian words, bytes swapped in each word
    CDAB = "CDAB"  # little-endian words (word swap), big-endian bytes


class RegisterSpec(_Model):
    table: Table
    address: int = Field(ge=0, le=65535)
    type: RegisterType = RegisterType.UINT16
    order: WordOrder = WordOrder.ABCD
    bit: int | None = Field(default=None, ge=0, le=15)
    # registers the value takes, as the device manual states it; checked against the type
    count: int | None = Field(default=None, ge=1, le=4)
    scale: float = 1.0
    offset: float = 0.0


class RegisterMap(_Model):
    description: str | None = None
    signals: dict[str, RegisterSpec]


# ---------------------------------------------------------------- sources


class MqttSource(_Model):
    topic: TopicName | None = None  # default: the plantroom convention (DESIGN §6)
    format: Literal["json", "value"] = "json"
    # signal -> dotted path of the field in a third-party JSON payload
    fields: dict[str, FieldPath] = Field(default_factory=dict)
    ts_field: FieldPath | None = None
    # format "value": signal -> topic carrying that one value
    topics: dict[str, TopicName] = Field(default_factory=dict)
    stale_after: StaleAfter = timedelta(seconds=60)


class SerialSettings(_Model):
    # a device, or a pyserial URL for a serial server on the network (socket://, rfc2217://)
    port: Annotated[
        str,
        Field(pattern=r"^/dev/[A-Za-z0-9_./-]+$|^COM\d+$|^(socket|rfc2217)://[A-Za-z0-9.\-]+:\d+$"),
    ]
    baudrate: int = Field(default=9600, ge=300, le=921600)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8


class ModbusSource(_Model):
    framing: Literal["tcp", "rtu_over_tcp", "rtu"] = "tcp"
    host: HostName | None = None
    port: int = Field(default=502, ge=1, le=65535)
    serial: SerialSettings | None = None
    unit_id: int = Field(default=1, ge=0, le=247)
    poll_interval: PollInterval = timedelta(seconds=1)
    timeout: Timeout = timedelta(seconds=1)
    retries: int = Field(default=1, ge=0, le=10)
    map: str
    max_gap: int = Field(default=8, ge=0, le=100)  # registers a coalesced read may skip over
    # only the collector process named this (PLANTROOM_COLLECTOR_NAME) polls this gateway
    collector: Identifier | None = None


class Source(_Model):
    mqtt: MqttSource | None = None
    modbus: ModbusSource | None = None


class SimulationSpec(_Model):
    """How the simulator models this machine; ignored by collectors."""

    enabled: bool = True
    fills: str | None = None  # a pump that fills this tank
    drains: str | None = None  # a pump that empties this tank (sump, booster)
    capacity_m3h: float = Field(default=20.0, gt=0)
    height_m: float = Field(default=3.0, gt=0)
    area_m2: float = Field(default=10.0, gt=0)
    demand_m3h: float = Field(default=8.0, ge=0)
    floors: int = Field(default=18, ge=2, le=200)
    zones: int = Field(default=8, ge=1, le=1000)
    supplies: str | None = None  # a generator backing up this power machine (its ATS)
    beside: str | None = None  # a flood sensor next to this tank or sump (wet if it spills)
    load_kw: float = Field(default=80.0, ge=0)  # electrical load (power, energy meter)
    changeover_s: float = Field(default=5.0, ge=0, le=600)  # pump set: duty trip to standby


class Equipment(_Model):
    id: Identifier
    kind: str
    name: str = Field(min_length=1, max_length=200)
    building: Identifier
    role: str | None = None
    # machines that stand in for each other (a duty/standby pump set): rules can read the
    # rest of the group (``peers`` conditions); members are of one kind
    group: Identifier | None = None
    source: Source
    simulation: SimulationSpec = Field(default_factory=SimulationSpec)
    rules: dict[str, RuleOverride] = Field(default_factory=dict)  # alert rule overrides


class Building(_Model):
    id: Identifier
    name: str = Field(min_length=1, max_length=200)


class SiteInfo(_Model):
    id: Identifier
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "Asia/Shanghai"


class Site(_Model):
    site: SiteInfo
    buildings: list[Building]
    equipment: list[Equipment]
    register_maps: dict[str, RegisterMap] = Field(default_factory=dict)
    include_maps: list[str] = Field(default_factory=list)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    shifts: ShiftsConfig | None = None  # the duty rota; no handovers without one
    calendar: Calendar = Field(default_factory=Calendar)  # holidays, make-up working days
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)  # plan overrides
    inspections: InspectionsConfig = Field(default_factory=InspectionsConfig)  # 巡检路线

    def machine(self, equipment_id: str) -> Equipment:
        for eq in self.equipment:
            if eq.id == equipment_id:
                return eq
        raise KeyError(f"unknown equipment {equipment_id!r}")

    def building(self, building_id: str) -> Building:
        for b in self.buildings:
            if b.id == building_id:
                return b
        raise KeyError(f"unknown building {building_id!r}")

    def plans(self, eq: Equipment) -> tuple[PlanSpec, ...]:
        """The machine's maintenance and inspection plans (catalogue defaults + overrides)."""
        own = plans_for(eq.id, eq.kind, eq.role, self.maintenance)
        return own + tuple(
            route.plan(self._shift_hours(route.shift))
            for route in self.inspections.routes
            if eq.id in route.machines
        )

    def _shift_hours(self, name: str | None) -> str | None:
        if name is None or self.shifts is None:
            return None
        return next((s.hours for s in self.shifts.rota if s.name == name), None)

    def telemetry_topic(self, eq: Equipment) -> str:
        """The plantroom-convention topic for ``eq`` (DESIGN §6)."""
        return f"plantroom/{self.site.id}/{eq.building}/{eq.kind}/{eq.id}/telemetry"

    def status_topic(self, eq: Equipment) -> str:
        return f"plantroom/{self.site.id}/{eq.building}/{eq.kind}/{eq.id}/status"


class SiteError(Exception):
    """The site file is wrong; ``errors`` holds one ``path: message`` line per problem."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: {len(errors)} error(s)\n" + "\n".join(errors))


def _loc(parts: tuple[int | str, ...]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


def _check_references(site: Site, catalogue: Catalogue) -> list[str]:
    """Everything pydantic cannot see alone: ids, kinds, buildings, maps, signal names."""
    errors: list[str] = []
    building_ids = {b.id for b in site.buildings}
    seen_buildings: set[str] = set()
    for i, b in enumerate(site.buildings):
        if b.id in seen_buildings:
            errors.append(f"buildings[{i}].id: duplicate building id '{b.id}'")
        seen_buildings.add(b.id)
    seen: set[str] = set()
    group_kinds: dict[str, tuple[str, int]] = {}
    equipment_ids = {eq.id for eq in site.equipment}
    for i, eq in enumerate(site.equipment):
        path = f"equipment[{i}]"
        if eq.id in seen:
            errors.append(f"{path}.id: duplicate equipment id '{eq.id}'")
        seen.add(eq.id)
        if eq.kind not in catalogue.kinds:
            known = ", ".join(sorted(catalogue.kinds))
            errors.append(f"{path}.kind: unknown kind '{eq.kind}' (known: {known})")
            continue
        if eq.building not in building_ids:
            errors.append(f"{path}.building: unknown building '{eq.building}'")
        signals = catalogue.kinds[eq.kind].signals
        sources = [name for name in ("mqtt", "modbus") if getattr(eq.source, name) is not None]
        if len(sources) != 1:
            errors.append(f"{path}.source: give exactly one of mqtt or modbus")
        if eq.source.mqtt is not None:
            mqtt = eq.source.mqtt
            for signal in [*mqtt.fields, *mqtt.topics]:
                if signal not in signals:
                    errors.append(f"{path}.source.mqtt: kind {eq.kind} has no signal '{signal}'")
            if mqtt.format == "value" and not mqtt.topics:
                errors.append(f"{path}.source.mqtt.topics: format 'value' needs signal topics")
        if eq.source.modbus is not None:
            errors += _check_modbus(site, eq, path, signals)
        if eq.group is not None:
            first = group_kinds.setdefault(eq.group, (eq.kind, i))
            if first[0] != eq.kind:
                errors.append(
                    f"{path}.group: group '{eq.group}' is of kind {first[0]} "
                    f"(equipment[{first[1]}]), this machine is a {eq.kind}"
                )
        for link in ("fills", "drains", "supplies", "beside"):
            target = getattr(eq.simulation, link)
            if target is not None and target not in equipment_ids:
                errors.append(f"{path}.simulation.{link}: unknown equipment '{target}'")
    return errors


def _check_modbus(site: Site, eq: Equipment, path: str, signals: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    modbus = eq.source.modbus
    assert modbus is not None
    if modbus.framing == "rtu" and modbus.serial is None:
        errors.append(f"{path}.source.modbus.serial: serial RTU needs port settings")
    if modbus.framing != "rtu" and modbus.host is None:
        errors.append(f"{path}.source.modbus.host: {modbus.framing} needs a host")
    register_map = site.register_maps.get(modbus.map)
    if register_map is None:
        errors.append(f"{path}.source.modbus.map: unknown map '{modbus.map}'")
        return errors
    for signal in register_map.signals:
        if signal not in signals:
            errors.append(
                f"{path}.source.modbus.map: map '{modbus.map}' has signal '{signal}' "
                f"that kind {eq.kind} does not have"
            )
    return errors


def _check_alerts(site: Site, catalogue: Catalogue) -> list[str]:
    errors: list[str] = []
    for i, eq in enumerate(site.equipment):
        if eq.kind not in catalogue.kinds:
            continue
        signals = set(catalogue.kinds[eq.kind].signals)
        try:
            effective_rules(eq.kind, eq.role, site.alerts.rules, eq.rules, signals)
        except RuleError as err:
            errors += [f"equipment[{i}] ({eq.id}) alert {e}" for e in err.errors]
    ids = {eq.id for eq in site.equipment}
    for i, window in enumerate(site.alerts.maintenance):
        for eq_id in window.equipment or []:
            if eq_id not in ids:
                errors.append(f"alerts.maintenance[{i}].equipment: unknown equipment '{eq_id}'")
    return sorted(set(errors), key=errors.index)


def _check_plans(site: Site, catalogue: Catalogue) -> list[str]:
    """Overrides name machines and kinds that exist, and every machine's plans are valid."""
    errors: list[str] = []
    ids = {eq.id for eq in site.equipment}
    for i, override in enumerate(site.maintenance.plans):
        path = f"maintenance.plans[{i}]"
        if override.equipment is not None and override.equipment not in ids:
            errors.append(f"{path}.equipment: unknown equipment '{override.equipment}'")
        if override.kind is not None and override.kind not in catalogue.kinds:
            errors.append(f"{path}.kind: unknown equipment kind '{override.kind}'")
    shifts = {s.name for s in site.shifts.rota} if site.shifts is not None else set()
    route_ids: set[str] = set()
    for i, route in enumerate(site.inspections.routes):
        path = f"inspections.routes[{i}]"
        if route.id in route_ids:
            errors.append(f"{path}.id: duplicate route id '{route.id}'")
        route_ids.add(route.id)
        for j, machine in enumerate(route.machines):
            if machine not in ids:
                errors.append(f"{path}.machines[{j}]: unknown equipment '{machine}'")
        if route.shift is not None and route.shift not in shifts:
            errors.append(f"{path}.shift: no shift '{route.shift}' in shifts.rota")
        try:
            route.plan()
        except ValidationError as err:
            errors += [f"{path}: {e['msg']}" for e in err.errors()]
    if any(e.startswith("inspections.") for e in errors):
        return errors  # the routes' plans cannot be built
    for eq in site.equipment:
        try:
            site.plans(eq)
        except PlanError as err:
            errors += [e for e in err.errors if e not in errors]
    return errors


def _check_collector_pins(site: Site) -> list[str]:
    """Machines behind one gateway share its connection, so they name one collector."""
    errors: list[str] = []
    pins: dict[tuple[str, str], tuple[str | None, int]] = {}
    for i, eq in enumerate(site.equipment):
        modbus = eq.source.modbus
        if modbus is None:
            continue
        where = modbus.serial.port if modbus.serial else f"{modbus.host}:{modbus.port}"
        key = ("rtu" if modbus.framing == "rtu" else modbus.framing, where)
        first = pins.setdefault(key, (modbus.collector, i))
        if first[0] != modbus.collector:
            errors.append(
                f"equipment[{i}].source.modbus.collector: machines on gateway {where} must "
                f"name the same collector (equipment[{first[1]}] names {first[0]!r}, "
                f"this one {modbus.collector!r})"
            )
    return errors


# A YAML document can reuse nodes through aliases; a few lines can then expand into
# billions of values ("billion laughs") or refer to themselves.
MAX_DOCUMENT_VALUES = 1_000_000


def _check_document_size(raw: Any) -> list[str]:
    """Count values as validation would see them (aliases expanded) without expanding."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node: Any) -> int:
        if not isinstance(node, dict | list):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise RecursionError
        visiting.add(key)
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_DOCUMENT_VALUES:
                break
        visiting.discard(key)
        sizes[key] = total
        return total

    try:
        total = size(raw)
    except RecursionError:
        return ["(root): the document refers to itself (recursive YAML alias) or nests too deep"]
    if total > MAX_DOCUMENT_VALUES:
        return [f"(root): the document expands to more than {MAX_DOCUMENT_VALUES} values"]
    return []


def _check_maps(site: Site) -> list[str]:
    from core.registers import validate_register_map

    errors: list[str] = []
    for name, register_map in site.register_maps.items():
        errors += [f"register_maps.{name}.{e}" for e in validate_register_map(register_map)]
    return errors


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise SiteError(str(path), [f"(file): cannot read: {err.strerror}"]) from err
    except UnicodeDecodeError as err:
        raise SiteError(str(path), [f"(file): not UTF-8 text: {err}"]) from err
    except yaml.YAMLError as err:
        raise SiteError(str(path), [f"(file): not valid YAML: {err}"]) from err
    except RecursionError:
        raise SiteError(str(path), ["(file): not valid YAML: nested too deeply"]) from None
    except (ValueError, TypeError, AttributeError, OverflowError) as err:
        # PyYAML's constructors leak these past yaml.YAMLError: a date like 2026-13-45, an
        # integer of more than 4300 digits, an explicit tag on a value it does not fit
        # ('!!timestamp x' is an AttributeError inside PyYAML)
        reason = f"{type(err).__name__}: {err}"[:200]
        raise SiteError(str(path), [f"(file): not valid YAML: {reason}"]) from err


MAX_INCLUDE_BYTES = 1 << 20


def _merge_included_maps(raw: dict[str, Any], base: Path, source: str) -> dict[str, str]:
    """Merge included map files into ``register_maps``; returns map name -> its file."""
    origins: dict[str, str] = {}
    includes = raw.get("include_maps") or []
    if not isinstance(includes, list):
        return origins  # pydantic reports the type error with its path
    maps = raw.setdefault("register_maps", {})
    if not isinstance(maps, dict):
        return origins
    errors: list[str] = []
    for i, rel in enumerate(includes):
        where = f"include_maps[{i}]"
        if not isinstance(rel, str):
            continue
        rel_path = Path(rel)
        if rel_path.is_absolute() or ".." in rel_path.parts or "\x00" in rel:
            errors.append(f"{where}: must be a path inside the site file's folder, got {rel!r}")
            continue
        # a symlink (of the file or a folder on the way) must not lead out of the folder
        target = base / rel_path
        problem = None
        try:
            target = target.resolve()  # Python 3.11 raises RuntimeError on a symlink loop
            if not target.is_relative_to(base.resolve()):
                problem = "leads outside the site file's folder (symlink)"
            elif target.exists() and not target.is_file():
                problem = "is not a regular file"
            elif target.exists() and target.stat().st_size > MAX_INCLUDE_BYTES:
                problem = f"is larger than {MAX_INCLUDE_BYTES} bytes"
        except (OSError, RuntimeError) as err:
            problem = f"cannot be read: {getattr(err, 'strerror', None) or err}"
        if problem is not None:
            errors.append(f"{where}: {rel!r} {problem}")
            continue
        try:
            included = _read_yaml(target)
        except SiteError as err:
            errors += [f"{where} ({rel}): {e}" for e in err.errors]
            continue
        if not isinstance(included, dict):
            errors.append(f"{where} ({rel}): expected a mapping of map name to register map")
            continue
        for name, register_map in included.items():
            if name in maps:
                errors.append(f"{where} ({rel}): map '{name}' is defined twice")
            maps[name] = register_map
            origins[str(name)] = rel
    if errors:
        raise SiteError(source, errors)
    return origins


def _in_file(error: str, origins: dict[str, str]) -> str:
    """Say which included file a ``register_maps.NAME…`` error is in."""
    for name, rel in origins.items():
        if error.startswith(f"register_maps.{name}.") or error.startswith(f"register_maps.{name}:"):
            return f"{error} (in {rel})"
    return error


def parse_site(raw: Any, source: str = "<site>", base: Path | None = None) -> Site:
    """Validate a decoded site document; raise SiteError with every problem found."""
    if not isinstance(raw, dict):
        raise SiteError(source, ["(root): expected a mapping with site, buildings, equipment"])
    # merging included maps must not change the caller's document
    size_errors = _check_document_size(raw)
    if size_errors:
        raise SiteError(source, size_errors)
    raw = copy.deepcopy(raw)
    origins = _merge_included_maps(raw, base, source) if base is not None else {}
    size_errors = _check_document_size(raw.get("register_maps"))
    if size_errors:
        raise SiteError(source, [e.replace("(root)", "register_maps") for e in size_errors])
    try:
        site = Site.model_validate(raw)
    except ValidationError as err:
        errors = [_in_file(f"{_loc(e['loc'])}: {e['msg']}", origins) for e in err.errors()]
        # every error in one pass: the cross-checks run on what is left valid
        errors += _checks_of_valid_part(raw, err, origins)
        raise SiteError(source, errors) from None
    errors = _checks(site, origins)
    if errors:
        raise SiteError(source, errors)
    return site


def _checks(site: Site, origins: dict[str, str]) -> list[str]:
    """The checks across sections (references, maps, pins, time zone) of a well-shaped site."""
    errors = [_in_file(e, origins) for e in _check_maps(site)]
    errors += _check_references(site, load_catalogue())
    errors += _check_alerts(site, load_catalogue())
    errors += _check_collector_pins(site)
    errors += rota_errors(site.shifts) if site.shifts is not None else []
    errors += _check_plans(site, load_catalogue())
    try:
        ZoneInfo(site.site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(f"site.timezone: unknown time zone '{site.site.timezone}'")
    return errors


_PRUNABLE = ("equipment", "buildings", "register_maps")


def _checks_of_valid_part(
    raw: dict[str, Any], err: ValidationError, origins: dict[str, str]
) -> list[str]:
    """The cross-section checks on the document without its malformed entries (equipment,
    buildings, register maps), so that ``plantroom check`` shows every error at once. Paths
    are given in the original numbering; errors that only name a removed entry are left out
    (that entry's own error is already reported). Empty if the rest is not well-shaped."""
    bad: dict[str, set[int | str]] = {section: set() for section in _PRUNABLE}
    for e in err.errors():
        loc = e["loc"]
        if len(loc) < 2 or loc[0] not in _PRUNABLE:
            return []  # a malformed site header or section: nothing sound to cross-check
        bad[str(loc[0])].add(loc[1])
    pruned = dict(raw)
    kept: dict[str, list[int]] = {}
    removed_names: set[str] = set()
    for section in ("equipment", "buildings"):
        items = raw.get(section)
        if not isinstance(items, list):
            continue
        kept[section] = [i for i in range(len(items)) if i not in bad[section]]
        pruned[section] = [items[i] for i in kept[section]]
        for i in bad[section]:
            if isinstance(i, int) and i < len(items) and isinstance(items[i], dict):
                removed_names.add(str(items[i].get("id")))
    maps = raw.get("register_maps")
    if isinstance(maps, dict):
        pruned["register_maps"] = {k: v for k, v in maps.items() if k not in bad["register_maps"]}
        removed_names.update(str(name) for name in bad["register_maps"])
    try:
        site = Site.model_validate(pruned)
    except ValidationError:
        return []

    def renumber(error: str) -> str:
        for section, indices in kept.items():
            found = re.match(rf"{section}\[(\d+)\]", error)
            if found:
                original = indices[int(found.group(1))]
                return f"{section}[{original}]{error[found.end() :]}"
        return error

    return [
        renumber(e)
        for e in _checks(site, origins)
        if not any(f"'{name}'" in e for name in removed_names)
    ]


def load_site(path: str | Path) -> Site:
    """Load and validate a site file."""
    path = Path(path)
    return parse_site(_read_yaml(path), source=str(path), base=path.parent)


def ticket_policy(site: Site) -> TicketPolicy:
    """What the site's tickets follow: its deadlines, time zone and calendar."""
    return TicketPolicy(site.alerts, site.site.timezone, site.calendar)
