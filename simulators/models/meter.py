"""An energy meter (role ``electricity``: kWh) or a water meter (role ``water``: m³).

Its counter only counts up. An electricity meter follows the building's load
(``simulation.load_kw``, evening peak); a water meter follows residential demand
(``simulation.demand_m3h``: morning and evening peaks, almost nothing between midnight and
five). Fault ``leak`` adds ``flow_m3h`` that runs day and night (a burst pipe or a cistern
that never stops filling), which is what the night-flow rule looks for.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from core.site import Equipment
from simulators.models.base import FaultError, FaultState, Values, number

METER_FAULTS: dict[str, frozenset[str]] = {"leak": frozenset({"flow_m3h"})}
NIGHT_SHARE = 0.03  # of the daily mean flow, at 03:00 in a residential building


def water_profile(hour_of_day: float) -> float:
    """Residential water use by time of day, as a share of ``demand_m3h``."""
    peaks = math.exp(-((hour_of_day - 7.5) ** 2) / 2) + math.exp(-((hour_of_day - 19.5) ** 2) / 3)
    day = 0.0 if hour_of_day < 5 else 0.25
    return NIGHT_SHARE + day + 0.75 * peaks


@dataclass
class MeterModel:
    eq: Equipment
    rng: random.Random
    energy_kwh: float = 0.0
    volume_m3: float = 0.0
    rate: float = 0.0  # kW or m³/h now
    faults: FaultState = field(default_factory=lambda: FaultState(METER_FAULTS))

    def __post_init__(self) -> None:
        self.energy_kwh = round(self.rng.uniform(1e5, 5e5), 1)
        self.volume_m3 = round(self.rng.uniform(1e4, 5e4), 2)

    @property
    def is_water(self) -> bool:
        return self.eq.role == "water"

    def inject(self, fault: str, **params: object) -> None:
        if fault == "leak" and number(params, "flow_m3h", 3.0, self.eq) < 0:
            raise FaultError(f"{self.eq.id}: flow_m3h must not be negative")
        self.faults.set(self.eq, fault, params)

    def clear(self, fault: str) -> None:
        self.faults.unset(self.eq, fault)

    def step(self, dt: float, hour_of_day: float) -> None:
        noise = self.rng.uniform(0.9, 1.1)
        if self.is_water:
            self.rate = self.eq.simulation.demand_m3h * water_profile(hour_of_day) * noise
            self.rate += (
                float(self.faults.param("leak", "flow_m3h", 3.0)) if "leak" in self.faults else 0.0
            )
            self.volume_m3 += self.rate * dt / 3600.0
        else:
            day = 0.5 + 0.5 * math.exp(-((hour_of_day - 19.0) ** 2) / 8.0)
            self.rate = self.eq.simulation.load_kw * day * noise
            self.energy_kwh += self.rate * dt / 3600.0

    def values(self) -> Values:
        if self.is_water:
            return {"volume_m3": round(self.volume_m3, 2), "flow_m3h": round(self.rate, 2)}
        return {"energy_kwh": round(self.energy_kwh, 1), "power_kw": round(self.rate, 1)}
