"""A diesel standby generator set and its controller.

In auto, the generator starts when asked (``start_demand``, from the ATS controller in the
plant): it cranks for ``CRANK_S``, rests ``REST_S`` between attempts, and after
``START_ATTEMPTS`` failed attempts raises fault 1 (fail to start). Running, its coolant warms
towards ``RUNNING_COOLANT_C``, fuel is burnt in proportion to the load, and the charger keeps
the starting battery up; cranking pulls the battery down.

Faults: ``fail_to_start`` (it cranks but never fires), ``manual`` (the controller switched
out of auto: it will not start on demand), ``low_fuel`` (the tank at ``fuel_pct``),
``battery_low`` (the starting battery at ``battery_v``), ``overheat`` (coolant to
``coolant_temp_c`` while running: the controller shuts it down with fault 2 above
``SHUTDOWN_C``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from core.site import Equipment
from simulators.models.base import FaultError, FaultState, Values, number

GENERATOR_FAULTS: dict[str, frozenset[str]] = {
    "fail_to_start": frozenset(),
    "manual": frozenset(),
    "low_fuel": frozenset({"fuel_pct"}),
    "battery_low": frozenset({"battery_v"}),
    "overheat": frozenset({"coolant_temp_c"}),
}
CRANK_S = 5.0
REST_S = 5.0
START_ATTEMPTS = 3
FAIL_TO_START, HIGH_COOLANT = 1, 2  # catalogue codes of fault_code
RUNNING_COOLANT_C = 85.0
AMBIENT_C = 25.0
SHUTDOWN_C = 105.0
FLOAT_V, CRANKING_V = 27.0, 21.5
FUEL_PCT_PER_KWH = 0.02  # a day tank of about 5,000 kWh
RATED_KW = 200.0


@dataclass
class GeneratorModel:
    eq: Equipment
    rng: random.Random
    start_demand: bool = False  # set by the plant's ATS controller
    load_kw: float = 0.0  # set by the plant while the generator carries the load
    running: bool = False
    fault_code: int = 0
    coolant_c: float = 40.0  # the jacket heater keeps a standby engine warm
    fuel_pct: float = 0.0
    battery_v: float = FLOAT_V
    run_hours: float = 0.0
    starts: int = 0
    _cranking_s: float = 0.0  # time into the current start sequence
    _noise: float = 0.0
    faults: FaultState = field(default_factory=lambda: FaultState(GENERATOR_FAULTS))

    def __post_init__(self) -> None:
        self.fuel_pct = round(self.rng.uniform(80, 95), 1)
        self.run_hours = round(self.rng.uniform(50, 400), 1)
        self.starts = self.rng.randint(20, 300)

    def inject(self, fault: str, **params: object) -> None:
        limits = {"fuel_pct": (0, 100), "battery_v": (0, 40), "coolant_temp_c": (0, 150)}
        for name, (low, high) in limits.items():
            if name in params and not low <= number(params, name, 0, self.eq) <= high:
                raise FaultError(f"{self.eq.id}: {name} must be {low}..{high}")
        self.faults.set(self.eq, fault, params)
        if fault == "low_fuel":
            self.fuel_pct = number(params, "fuel_pct", 20, self.eq)

    def clear(self, fault: str) -> None:
        self.faults.unset(self.eq, fault)
        if fault in ("fail_to_start", "overheat"):
            self.fault_code = 0  # the controller's alarm reset
        if fault == "low_fuel":
            self.fuel_pct = 90.0  # refuelled

    @property
    def auto_mode(self) -> bool:
        return "manual" not in self.faults

    @property
    def cranking(self) -> bool:
        attempt = self._cranking_s % (CRANK_S + REST_S)
        return self._cranking_s > 0 and attempt < CRANK_S and not self.running

    @property
    def voltage_v(self) -> float:
        return 225.0 if self.running else 0.0

    def step(self, dt: float, hour_of_day: float = 12.0) -> None:
        wanted = self.start_demand and self.auto_mode and self.fault_code == 0
        if not wanted:
            self.running = False
            self._cranking_s = 0.0
        elif not self.running:
            if self._cranking_s == 0.0:
                self.starts += 1
            self._cranking_s += dt
            fires = "fail_to_start" not in self.faults and self._cranking_s >= CRANK_S
            if fires:
                self.running = True
            elif self._cranking_s >= START_ATTEMPTS * (CRANK_S + REST_S):
                self.fault_code = FAIL_TO_START
                self._cranking_s = 0.0
        self._warm(dt)
        if self.running:
            self.run_hours += dt / 3600.0
            self.fuel_pct = max(0.0, self.fuel_pct - self.load_kw * dt / 3600 * FUEL_PCT_PER_KWH)
        self._noise = self.rng.gauss(0, 0.05)

    def _warm(self, dt: float) -> None:
        target = RUNNING_COOLANT_C if self.running else 40.0
        if self.running and "overheat" in self.faults:
            target = number(self.faults.active["overheat"], "coolant_temp_c", 110, self.eq)
        self.coolant_c += (target - self.coolant_c) * min(1.0, dt / 120.0)
        if self.running and self.coolant_c > SHUTDOWN_C:
            self.fault_code = HIGH_COOLANT
            self.running = False
        charged = float(self.faults.param("battery_low", "battery_v", FLOAT_V))
        self.battery_v = CRANKING_V if self.cranking else charged

    def values(self) -> Values:
        return {
            "running": self.running,
            "auto_mode": self.auto_mode,
            "fault": self.fault_code != 0,
            "fault_code": self.fault_code,
            "battery_v": round(self.battery_v + self._noise, 1),
            "fuel_pct": round(self.fuel_pct, 1),
            "coolant_temp_c": round(self.coolant_c, 1),
            "load_kw": round(self.load_kw, 1) if self.running else 0.0,
            "run_hours": round(self.run_hours, 2),
            "starts": self.starts,
        }
