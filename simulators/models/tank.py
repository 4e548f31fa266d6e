"""A water tank or sump: level from inflow and outflow, clamped to [0, height].

A domestic or fire tank is drawn down by the building's demand and refilled by its pumps; a
sump is filled by seepage (``demand_m3h``) and emptied by its pump. Float switches: high at
95 %, low at 15 % of the height.

Faults: ``inlet_stuck_open`` (the make-up valve sticks open, ``flow_m3h``: overflow),
``leak`` (``rate_m3h`` lost), ``flood`` (extra inflow ``inflow_m3h`` beyond the sump pump),
``flapping_switch`` (float ``switch`` chatters every ``period`` seconds whatever the level).
``refill`` is not a failure but the operator's answer to one: the make-up bypass opened by hand
(``flow_m3h``), e.g. to refill a fire tank after a leak is fixed.

A full tank spills through its overflow pipe, whose flow switch is ``overflow``. A domestic
(drinking-water) tank also has an online analyser: ``free_chlorine_mg_l`` and
``turbidity_ntu``, steady around good values; ``water_quality`` (``free_chlorine_mg_l``,
``turbidity_ntu``) drives them towards the given values over a few minutes (a dosing pump
failed, mains water turbid after works), and they recover the same way when cleared.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from core.site import Equipment
from simulators.models.base import FaultError, FaultState, Values, number

TANK_FAULTS: dict[str, frozenset[str]] = {
    "inlet_stuck_open": frozenset({"flow_m3h"}),
    "leak": frozenset({"rate_m3h"}),
    "flood": frozenset({"inflow_m3h"}),
    "flapping_switch": frozenset({"switch", "period"}),
    "refill": frozenset({"flow_m3h"}),
    "water_quality": frozenset({"free_chlorine_mg_l", "turbidity_ntu"}),
}
HIGH_PCT = 95.0
LOW_PCT = 15.0
GOOD_CHLORINE_MG_L = 0.4
GOOD_TURBIDITY_NTU = 0.3
ANALYSER_LAG_S = 120.0  # the water in the tank mixes over minutes


@dataclass
class TankModel:
    eq: Equipment
    rng: random.Random
    level_m: float = 0.0
    pump_inflow_m3h: float = 0.0
    pump_outflow_m3h: float = 0.0
    demand_now_m3h: float = 0.0  # the building's draw in the last step
    faults: FaultState = field(default_factory=lambda: FaultState(TANK_FAULTS))
    overflowing: bool = False
    chlorine_mg_l: float = GOOD_CHLORINE_MG_L
    turbidity_ntu: float = GOOD_TURBIDITY_NTU
    _flap_s: float = 0.0
    _noise: float = 0.0  # analyser noise, drawn per step so ``values()`` is a pure read

    def __post_init__(self) -> None:
        low, high = (0.2, 0.4) if self.is_sump else (0.65, 0.8)
        self.level_m = self.height * self.rng.uniform(low, high)

    @property
    def is_sump(self) -> bool:
        return self.eq.role == "sump"

    @property
    def height(self) -> float:
        return self.eq.simulation.height_m

    @property
    def level_pct(self) -> float:
        return 100.0 * self.level_m / self.height

    def inject(self, fault: str, **params: object) -> None:
        for name in (
            "flow_m3h",
            "rate_m3h",
            "inflow_m3h",
            "period",
            "free_chlorine_mg_l",
            "turbidity_ntu",
        ):
            if name in params and number(params, name, 0, self.eq) < 0:
                raise FaultError(f"{self.eq.id}: parameter '{name}' must not be negative")
        switch = params.get("switch", "high_level")
        if fault == "flapping_switch" and switch not in ("high_level", "low_level"):
            raise FaultError(f"{self.eq.id}: switch must be high_level or low_level")
        self.faults.set(self.eq, fault, params)
        self._flap_s = 0.0

    def clear(self, fault: str) -> None:
        self.faults.unset(self.eq, fault)

    def demand_m3h(self, hour_of_day: float) -> float:
        """Residential demand (or sump seepage): morning and evening peaks, a little noise."""
        base = self.eq.simulation.demand_m3h
        if self.is_sump:
            return base * self.rng.uniform(0.8, 1.2)
        shape = 0.35 + 0.65 * (
            math.exp(-((hour_of_day - 7.5) ** 2) / 2) + math.exp(-((hour_of_day - 19.5) ** 2) / 3)
        )
        return max(0.0, base * shape * self.rng.uniform(0.85, 1.15))

    def _fault_flows(self) -> tuple[float, float]:
        inflow = outflow = 0.0
        if "inlet_stuck_open" in self.faults:
            inflow += float(self.faults.param("inlet_stuck_open", "flow_m3h", 40.0))
        if "flood" in self.faults:
            inflow += float(self.faults.param("flood", "inflow_m3h", 60.0))
        if "refill" in self.faults:
            inflow += float(self.faults.param("refill", "flow_m3h", 40.0))
        if "leak" in self.faults:
            outflow += float(self.faults.param("leak", "rate_m3h", 20.0))
        return inflow, outflow

    def step(self, dt: float, hour_of_day: float) -> None:
        demand = self.demand_now_m3h = self.demand_m3h(hour_of_day)
        inflow, outflow = self._fault_flows()
        inflow += self.pump_inflow_m3h + (demand if self.is_sump else 0.0)
        outflow += self.pump_outflow_m3h + (0.0 if self.is_sump else demand)
        delta = (inflow - outflow) * dt / 3600.0 / self.eq.simulation.area_m2
        # full means the overflow pipe carries the excess; empty means nothing left to draw
        self.overflowing = self.level_m + delta > self.height
        self.level_m = min(self.height, max(0.0, self.level_m + delta))
        self._analyse(dt)
        if "flapping_switch" in self.faults:
            self._flap_s += dt

    def _analyse(self, dt: float) -> None:
        chlorine = float(
            self.faults.param("water_quality", "free_chlorine_mg_l", GOOD_CHLORINE_MG_L)
        )
        turbidity = float(self.faults.param("water_quality", "turbidity_ntu", GOOD_TURBIDITY_NTU))
        mix = min(1.0, dt / ANALYSER_LAG_S)
        self.chlorine_mg_l += (chlorine - self.chlorine_mg_l) * mix
        self.turbidity_ntu += (turbidity - self.turbidity_ntu) * mix
        self._noise = self.rng.gauss(0, 0.01)

    def _switch(self, name: str, honest: bool) -> bool:
        if "flapping_switch" not in self.faults:
            return honest
        if self.faults.param("flapping_switch", "switch", "high_level") != name:
            return honest
        period = float(self.faults.param("flapping_switch", "period", 10.0)) or 1.0
        return int(self._flap_s // period) % 2 == 0

    def values(self) -> Values:
        out: Values = {
            "level_m": round(self.level_m, 3),
            "level_pct": round(self.level_pct, 1),
            "high_level": self._switch("high_level", self.level_pct >= HIGH_PCT),
            "low_level": self._switch("low_level", self.level_pct <= LOW_PCT),
            "inlet_valve_open": self.pump_inflow_m3h > 0.0
            or "inlet_stuck_open" in self.faults
            or "refill" in self.faults,
            "overflow": self.overflowing,
        }
        if self.eq.role == "domestic":
            out["free_chlorine_mg_l"] = round(max(0.0, self.chlorine_mg_l + self._noise), 2)
            out["turbidity_ntu"] = round(max(0.0, self.turbidity_ntu + self._noise), 2)
        return out


__all__ = ["HIGH_PCT", "LOW_PCT", "TANK_FAULTS", "TankModel"]
