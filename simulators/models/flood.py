"""A flood (水浸) sensor on a plant-room floor or in a lift pit.

``water_detected`` when ``flood`` is injected, or when the tank or sump it stands beside
(``simulation.beside``) overflows; the floor stays wet for ``DRY_S`` after the water stops.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from core.site import Equipment
from simulators.models.base import FaultState, Values

FLOOD_FAULTS: dict[str, frozenset[str]] = {"flood": frozenset()}
DRY_S = 60.0


@dataclass
class FloodSensorModel:
    eq: Equipment
    rng: random.Random
    water_arriving: bool = False  # set by the plant: what it stands beside is overflowing
    wet_for_s: float = 0.0  # how much longer the floor stays wet
    faults: FaultState = field(default_factory=lambda: FaultState(FLOOD_FAULTS))

    def inject(self, fault: str, **params: object) -> None:
        self.faults.set(self.eq, fault, params)

    def clear(self, fault: str) -> None:
        self.faults.unset(self.eq, fault)

    def step(self, dt: float, hour_of_day: float = 12.0) -> None:
        if self.water_arriving or "flood" in self.faults:
            self.wet_for_s = DRY_S
        else:
            self.wet_for_s = max(0.0, self.wet_for_s - dt)

    def values(self) -> Values:
        wet = self.water_arriving or "flood" in self.faults or self.wet_for_s > 0
        return {"water_detected": wet}
