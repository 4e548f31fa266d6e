"""What the monitoring room's one screen shows besides alarms and tickets: every machine by
building with its state, key value and the age of its last reading; which alarms are held
back by another (an entrapment is one alarm, with the lift's fault and outage folded under
it); the fire panel's zone and points; who silenced the sound and when.

A machine's **state** is one of, first match wins:

| state | 状态 | when |
|---|---|---|
| ``fault`` | 故障 | its ``fault`` signal is true, or an elevator-fault alert fires |
| ``alarm`` | 报警 | any other alert of it fires (entrapment, fire alarm, tank low, …) |
| ``offline`` | 离线 | a reading is ``comm_fault``, or a comms alert fires for it or its gateway |
| ``stale`` | 数据过期 | a reading is ``stale`` (no fresh value within its timeout) |
| ``maintenance`` | 检修 | ``inspection_mode`` is on, or a technician is on site for a ticket |
| ``normal`` | 正常 | readings are good and nothing fires |
| ``no_data`` | 无数据 | nothing has been heard from it yet |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from api.schemas_tickets import AlertOut, BuildingOut, IncidentOut, MachineTileOut, PointOut
from core.catalogue import Catalogue, KindSpec, SignalType
from core.readings import Quality, Reading
from core.rules import Rule, TicketClass
from core.site import Equipment, Site
from core.subjects import Subject, SubjectKind, gateway_key

STATE_NAMES = {
    "fault": "故障",
    "alarm": "报警",
    "offline": "离线",
    "stale": "数据过期",
    "maintenance": "检修",
    "normal": "正常",
    "no_data": "无数据",
}


def _good_true(readings: Mapping[str, Reading], signal: str) -> bool:
    reading = readings.get(signal)
    return reading is not None and reading.quality is Quality.GOOD and bool(reading.value)


def machine_state(
    readings: Mapping[str, Reading],
    firing: Sequence[AlertOut],
    comms_rules: set[str],
    technician_on_site: bool,
) -> str:
    """The state of one machine (see the module's table) from its latest readings and the
    alerts firing for it or for its gateway."""
    if not readings and not firing:
        return "no_data"
    own = [a for a in firing if a.rule_id not in comms_rules]
    if _good_true(readings, "fault") or any(
        a.ticket_class == TicketClass.ELEVATOR_FAULT for a in own
    ):
        return "fault"
    if own:
        return "alarm"
    qualities = {r.quality for r in readings.values()}
    if Quality.COMM_FAULT in qualities or len(own) < len(firing):
        return "offline"
    if Quality.STALE in qualities:
        return "stale"
    if _good_true(readings, "inspection_mode") or technician_on_site:
        return "maintenance"
    return "normal" if readings else "no_data"


def machine_tiles(
    site: Site,
    catalogue: Catalogue,
    latest: Mapping[tuple[str, str], Reading],
    alarms: Sequence[AlertOut],
    comms_rules: set[str],
    on_site: set[str],
    now: datetime,
) -> list[BuildingOut]:
    """Every machine of the site, grouped by building in the site file's order."""
    by_machine: dict[str, dict[str, Reading]] = {}
    for (eq_id, signal), reading in latest.items():
        by_machine.setdefault(eq_id, {})[signal] = reading
    buildings = []
    for building in site.buildings:
        tiles = [
            _tile(
                eq,
                catalogue,
                by_machine.get(eq.id, {}),
                _alarms_of(eq, alarms),
                comms_rules,
                eq.id in on_site,
                now,
            )
            for eq in site.equipment
            if eq.building == building.id
        ]
        buildings.append(BuildingOut(id=building.id, name=building.name, machines=tiles))
    return buildings


def _alarms_of(eq: Equipment, alarms: Iterable[AlertOut]) -> list[AlertOut]:
    gateway = gateway_key(eq)
    mine = []
    for alarm in alarms:
        subject = Subject.parse(alarm.equipment)
        if (subject.kind is SubjectKind.EQUIPMENT and subject.key == eq.id) or (
            subject.kind is SubjectKind.GATEWAY and subject.key == gateway
        ):
            mine.append(alarm)
    return mine


def _tile(
    eq: Equipment,
    catalogue: Catalogue,
    readings: dict[str, Reading],
    firing: list[AlertOut],
    comms_rules: set[str],
    technician_on_site: bool,
    now: datetime,
) -> MachineTileOut:
    kind = catalogue.kind(eq.kind)
    state = machine_state(readings, firing, comms_rules, technician_on_site)
    key = kind.key()
    if key is not None and key.name not in readings:
        # a machine that never reports the kind's key (a water meter counts m³, not kWh):
        # its first analog signal that it does report
        analog = (SignalType.FLOAT, SignalType.COUNTER)
        key = next(
            (s for s in kind.signals.values() if s.type in analog and s.name in readings), key
        )
    key_reading = readings.get(key.name) if key is not None else None
    # a value that is not good is never shown as current: the tile says why instead
    value = (
        key.present(key_reading.value)
        if key is not None and key_reading is not None and key_reading.quality is Quality.GOOD
        else None
    )
    last = max((r.ts for r in readings.values()), default=None)
    return MachineTileOut(
        id=eq.id,
        name=eq.name,
        kind=eq.kind,
        kind_name=kind.name_zh,
        building=eq.building,
        state=state,
        state_name=STATE_NAMES[state],
        key_signal=key.name if key is not None else None,
        key_name=key.name_zh if key is not None else None,
        key_value=value,
        key_unit=key.unit if key is not None else None,
        last_reading_at=last,
        age_seconds=round((now - last).total_seconds(), 1) if last is not None else None,
        alarms=len(firing),
    )


def fold_held_back(alarms: list[AlertOut], rules: Mapping[str, Rule]) -> list[AlertOut]:
    """Mark each alarm another alarm of the same machine inhibits (``held_back_by``): the
    screen shows it folded under its cause. ``rules`` by id, with their ``inhibits``."""
    by_subject: dict[str, list[AlertOut]] = {}
    for alarm in alarms:
        by_subject.setdefault(alarm.equipment, []).append(alarm)
    out = []
    for alarm in alarms:
        cause = next(
            (
                other
                for other in by_subject[alarm.equipment]
                if other is not alarm
                and alarm.rule_id
                in (rules[other.rule_id].inhibits if other.rule_id in rules else [])
            ),
            None,
        )
        out.append(alarm.model_copy(update={"held_back_by": cause.id if cause else None}))
    return out


def fire_details(
    incident: IncidentOut,
    latest: Mapping[tuple[str, str], Reading],
    kind: KindSpec | None = None,
) -> IncidentOut:
    """The panel's alarm zone, isolated points and every active alarm point (the kind's
    point lists), as last read (good values only)."""

    def number(signal: str) -> int | None:
        reading = latest.get((incident.equipment, signal))
        if reading is None or reading.quality is not Quality.GOOD or reading.value is None:
            return None
        return int(reading.value)

    return incident.model_copy(
        update={
            "zone": number("alarm_zone"),
            "isolated_points": number("isolated_points"),
            "points": active_points(incident.equipment, kind, latest) if kind else [],
        }
    )


def active_points(
    equipment: str, kind: KindSpec, latest: Mapping[tuple[str, str], Reading]
) -> list[PointOut]:
    """The occupied slots of the machine's point lists, in words (分区3 回路1 地址17 感烟探测器)."""
    values = {
        signal: r.value
        for (eq, signal), r in latest.items()
        if eq == equipment and r.quality is Quality.GOOD
    }
    out = []
    for name, points in kind.point_lists.items():
        for entry in points.entries(values):
            words = []
            for field, value in entry.items():
                spec = points.fields[field]
                words.append(spec.label(value) or f"{spec.name_zh or field}{value}")
            out.append(PointOut(point_list=name, fields=entry, text=" ".join(words)))
    return out
