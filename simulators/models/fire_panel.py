"""A fire alarm control panel: alarm points in zones, linkage, faults, supervisory signals and
power.

A quiet panel stays quiet: everything here happens because a fault is injected. Each
``fire_alarm`` injection adds an active alarm point (``zone``, ``loop``, ``address``,
``device_type``; a second zone is the fire spreading), reported as the catalogue's point list
(the first ``POINT_SLOTS`` points), the first alarm's zone, and the counts of points and
zones. In alarm, the panel's automatic linkage drives its outputs: sounders (until silenced),
lift recall (the plant sends every lift to the fire floor), fire pump start, smoke control
and the cut-off of non-fire power. Mains failure runs the panel on its standby battery, which
lasts ``battery_hours`` (default 24 h, the usual standby requirement) before ``battery_fail``
is raised too; when mains returns, the battery recharges and the failure clears.

Faults: ``fire_alarm`` (a point in ``zone``), ``panel_fault``, ``supervisory``, ``isolate``
(``points`` detectors isolated), ``mains_fail``, ``battery_fail``, ``silence`` (the sounders
silenced by the operator), ``fire_pump_manual`` (the fire-pump controller switched out of
auto). Clearing ``fire_alarm`` is the panel reset: every point, the linkage and silence clear.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from core.catalogue import load_catalogue
from core.site import Equipment
from simulators.models.base import FaultError, FaultState, Values, number

FIRE_PANEL_FAULTS: dict[str, frozenset[str]] = {
    "fire_alarm": frozenset({"zone", "loop", "address", "device_type"}),
    "panel_fault": frozenset(),
    "supervisory": frozenset(),
    "isolate": frozenset({"points"}),
    "mains_fail": frozenset({"battery_hours"}),
    "battery_fail": frozenset(),
    "silence": frozenset(),
    "fire_pump_manual": frozenset(),
}
RECHARGE_RATE = 10.0  # a battery charges ten times faster than the panel drains it
BATTERY_FAIL_BELOW = 0.2
SMOKE_DETECTOR = 1  # catalogue code of device_type
LOOPS_PER_PANEL = 8
ALARM_POINTS = load_catalogue().kind("fire_panel").point_lists["alarm_point"]


@dataclass
class FirePanelModel:
    eq: Equipment
    rng: random.Random
    battery_charge: float = 1.0  # fraction of full
    battery_hours: float = 24.0  # standby time on a full battery
    points: list[dict[str, int]] = field(default_factory=list)  # active alarms, in order
    faults: FaultState = field(default_factory=lambda: FaultState(FIRE_PANEL_FAULTS))

    @property
    def zones(self) -> int:
        return self.eq.simulation.zones

    def inject(self, fault: str, **params: object) -> None:
        point = self._point(params) if fault == "fire_alarm" else {}
        params = {**params, **point}
        if fault == "isolate" and number(params, "points", 1, self.eq) < 0:
            raise FaultError(f"{self.eq.id}: points must not be negative")
        if fault == "mains_fail" and number(params, "battery_hours", 24, self.eq) <= 0:
            raise FaultError(f"{self.eq.id}: battery_hours must be positive")
        if fault == "silence" and "fire_alarm" not in self.faults:
            raise FaultError(f"{self.eq.id}: nothing to silence (no fire alarm)")
        self.faults.set(self.eq, fault, params)
        if fault == "mains_fail":
            self.battery_hours = number(params, "battery_hours", 24, self.eq)
        if point and point not in self.points:
            self.points.append(point)

    def _point(self, params: dict[str, object]) -> dict[str, int]:
        """The alarm point an injection names, defaults filled in, checked once."""
        zone = number(params, "zone", self.rng.randint(1, self.zones), self.eq)
        if not 1 <= zone <= self.zones or not zone.is_integer():
            raise FaultError(f"{self.eq.id}: zone must be a whole number 1..{self.zones}")
        loop = number(params, "loop", 1 + (int(zone) - 1) % LOOPS_PER_PANEL, self.eq)
        address = number(params, "address", self.rng.randint(1, 200), self.eq)
        device_type = number(params, "device_type", SMOKE_DETECTOR, self.eq)
        codes = ALARM_POINTS.fields["device_type"].codes
        if int(device_type) not in codes or int(device_type) == 0:
            raise FaultError(f"{self.eq.id}: device_type must be one of 1..{max(codes)}")
        if not (1 <= loop <= 255 and 1 <= address <= 255):
            raise FaultError(f"{self.eq.id}: loop and address must be 1..255")
        return {
            "zone": int(zone),
            "loop": int(loop),
            "address": int(address),
            "device_type": int(device_type),
        }

    def clear(self, fault: str) -> None:
        self.faults.unset(self.eq, fault)
        if fault == "fire_alarm":  # reset
            self.points.clear()
            self.faults.active.pop("silence", None)

    def step(self, dt: float, hour_of_day: float = 12.0) -> None:
        rate = dt / 3600.0 / self.battery_hours
        if "mains_fail" in self.faults:
            self.battery_charge = max(0.0, self.battery_charge - rate)
        else:
            self.battery_charge = min(1.0, self.battery_charge + RECHARGE_RATE * rate)

    @property
    def in_alarm(self) -> bool:
        return bool(self.points)

    def values(self) -> Values:
        alarm = self.in_alarm
        battery_fail = "battery_fail" in self.faults or self.battery_charge < BATTERY_FAIL_BELOW
        out: Values = {
            "fire_alarm": alarm,
            "fault": "panel_fault" in self.faults or "mains_fail" in self.faults or battery_fail,
            "supervisory": "supervisory" in self.faults,
            "alarm_zone": self.points[0]["zone"] if alarm else 0,
            "alarm_zones": len({p["zone"] for p in self.points}),
            "alarm_points": len(self.points),
            "isolated_points": int(self.faults.param("isolate", "points", 1))
            if "isolate" in self.faults
            else 0,
            "mains_fail": "mains_fail" in self.faults,
            "battery_fail": battery_fail,
            "silenced": "silence" in self.faults,
            "fire_pump_auto": "fire_pump_manual" not in self.faults,
            "linkage_sounders": alarm and "silence" not in self.faults,
            "linkage_lift_recall": alarm,
            "linkage_fire_pump": alarm,
            "linkage_smoke_control": alarm,
            "linkage_power_cutoff": alarm,
        }
        out.update(ALARM_POINTS.as_values(self.points))
        return out
