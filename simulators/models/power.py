"""A low-voltage incomer with an automatic transfer switch (ATS, 双电源切换) between the mains
and a standby generator.

The load (``simulation.load_kw``, more by day) draws three phase currents; the voltages are
those of whichever source the ATS is on (0 when it is on a dead source). The ATS controller
lives in the plant, which couples this machine to the generator that ``supplies`` it: on a
mains failure it asks the generator to start and transfers once the generator runs; when the
mains return it transfers back after ``RETRANSFER_S`` and lets the generator cool down.

Faults: ``mains_fail`` (the utility supply is lost), ``breaker_trip`` (the incoming breaker
trips: no supply whatever the sources do), ``undervoltage`` (mains sag to ``voltage_v``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from core.site import Equipment
from simulators.models.base import FaultError, FaultState, Values, number

POWER_FAULTS: dict[str, frozenset[str]] = {
    "mains_fail": frozenset(),
    "breaker_trip": frozenset(),
    "undervoltage": frozenset({"voltage_v"}),
}
NOMINAL_V = 220.0
GENERATOR_V = 225.0
POWER_FACTOR = 0.9
RETRANSFER_S = 30.0  # mains must stay good this long before the load goes back to them
ATS_OFF, ATS_MAINS, ATS_STANDBY = 0, 1, 2


@dataclass
class PowerModel:
    eq: Equipment
    rng: random.Random
    ats_position: int = ATS_MAINS
    generator_voltage_v: float = 0.0  # set by the plant from the generator's state
    mains_good_for_s: float = RETRANSFER_S  # how long the mains have been back
    load_kw: float = 0.0
    _noise: tuple[float, float, float] = (0.0, 0.0, 0.0)
    faults: FaultState = field(default_factory=lambda: FaultState(POWER_FAULTS))

    def inject(self, fault: str, **params: object) -> None:
        if fault == "undervoltage" and not 0 <= number(params, "voltage_v", 180, self.eq) < 400:
            raise FaultError(f"{self.eq.id}: voltage_v must be 0..400")
        self.faults.set(self.eq, fault, params)

    def clear(self, fault: str) -> None:
        self.faults.unset(self.eq, fault)

    @property
    def mains_ok(self) -> bool:
        return "mains_fail" not in self.faults

    @property
    def mains_voltage_v(self) -> float:
        if not self.mains_ok:
            return 0.0
        return float(self.faults.param("undervoltage", "voltage_v", NOMINAL_V))

    @property
    def supply_voltage_v(self) -> float:
        if "breaker_trip" in self.faults:
            return 0.0
        if self.ats_position == ATS_MAINS:
            return self.mains_voltage_v
        if self.ats_position == ATS_STANDBY:
            return self.generator_voltage_v
        return 0.0

    def step(self, dt: float, hour_of_day: float) -> None:
        self.mains_good_for_s = self.mains_good_for_s + dt if self.mains_ok else 0.0
        base = self.eq.simulation.load_kw
        day = 0.55 + 0.45 * math.exp(-((hour_of_day - 19.0) ** 2) / 8.0)
        self.load_kw = base * day * self.rng.uniform(0.95, 1.05)
        self._noise = (self.rng.gauss(0, 0.8), self.rng.gauss(0, 0.8), self.rng.gauss(0, 0.8))

    def values(self) -> Values:
        volts = self.supply_voltage_v
        live = volts > 0
        amps = self.load_kw * 1000.0 / (3 * NOMINAL_V * POWER_FACTOR) if live else 0.0
        out: Values = {
            "mains_ok": self.mains_ok,
            "breaker_trip": "breaker_trip" in self.faults,
            "ats_position": self.ats_position,
        }
        for i, phase in enumerate(("l1", "l2", "l3")):
            out[f"voltage_{phase}_v"] = round(volts + self._noise[i], 1) if live else 0.0
            out[f"current_{phase}_a"] = round(amps * (1 + self._noise[i] / 100), 1)
        return out
