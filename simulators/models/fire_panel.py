"""A fire alarm control panel: zones, alarms, faults, supervisory signals and power.

A quiet panel stays quiet: everything here happens because a fault is injected. Mains failure
runs the panel on its standby battery, which lasts ``battery_hours`` (default 24 h, the
usual standby requirement) before ``battery_fail`` is raised too; when mains returns, the
battery recharges and the failure clears.

Faults: ``fire_alarm`` (in ``zone``), ``panel_fault``, ``supervisory``, ``isolate``
(``points`` detectors isolated), ``mains_fail``, ``battery_fail``, ``silence`` (the sounders
silenced by the operator). Clearing ``fire_alarm`` is the panel reset: zone and silence clear.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from core.site import Equipment
from simulators.models.base import FaultError, FaultState, Values, number

FIRE_PANEL_FAULTS: dict[str, frozenset[str]] = {
    "fire_alarm": frozenset({"zone"}),
    "panel_fault": frozenset(),
    "supervisory": frozenset(),
    "isolate": frozenset({"points"}),
    "mains_fail": frozenset({"battery_hours"}),
    "battery_fail": frozenset(),
    "silence": frozenset(),
}
RECHARGE_RATE = 10.0  # a battery charges ten times faster than the panel drains it
BATTERY_FAIL_BELOW = 0.2


@dataclass
class FirePanelModel:
    eq: Equipment
    rng: random.Random
    battery_charge: float = 1.0  # fraction of full
    battery_hours: float = 24.0  # standby time on a full battery
    faults: FaultState = field(default_factory=lambda: FaultState(FIRE_PANEL_FAULTS))

    @property
    def zones(self) -> int:
        return self.eq.simulation.zones

    def inject(self, fault: str, **params: object) -> None:
        if fault == "fire_alarm":
            zone = number(params, "zone", self.rng.randint(1, self.zones), self.eq)
            if not 1 <= zone <= self.zones or not zone.is_integer():
                raise FaultError(f"{self.eq.id}: zone must be a whole number 1..{self.zones}")
            params = {**params, "zone": int(zone)}
        if fault == "isolate" and number(params, "points", 1, self.eq) < 0:
            raise FaultError(f"{self.eq.id}: points must not be negative")
        if fault == "mains_fail" and number(params, "battery_hours", 24, self.eq) <= 0:
            raise FaultError(f"{self.eq.id}: battery_hours must be positive")
        if fault == "silence" and "fire_alarm" not in self.faults:
            raise FaultError(f"{self.eq.id}: nothing to silence (no fire alarm)")
        self.faults.set(self.eq, fault, params)
        if fault == "mains_fail":
            self.battery_hours = number(params, "battery_hours", 24, self.eq)

    def clear(self, fault: str) -> None:
        self.faults.unset(self.eq, fault)
        if fault == "fire_alarm":  # reset
            self.faults.active.pop("silence", None)

    def step(self, dt: float) -> None:
        rate = dt / 3600.0 / self.battery_hours
        if "mains_fail" in self.faults:
            self.battery_charge = max(0.0, self.battery_charge - rate)
        else:
            self.battery_charge = min(1.0, self.battery_charge + RECHARGE_RATE * rate)

    def values(self) -> Values:
        alarm = "fire_alarm" in self.faults
        battery_fail = "battery_fail" in self.faults or self.battery_charge < BATTERY_FAIL_BELOW
        return {
            "fire_alarm": alarm,
            "fault": "panel_fault" in self.faults or "mains_fail" in self.faults or battery_fail,
            "supervisory": "supervisory" in self.faults,
            "alarm_zone": int(self.faults.param("fire_alarm", "zone", 0)) if alarm else 0,
            "isolated_points": int(self.faults.param("isolate", "points", 1))
            if "isolate" in self.faults
            else 0,
            "mains_fail": "mains_fail" in self.faults,
            "battery_fail": battery_fail,
            "silenced": "silence" in self.faults,
        }
