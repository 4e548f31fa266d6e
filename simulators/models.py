"""Device physics, pure and seeded: each model is stepped by ``dt`` seconds of simulated time.

A ``Plant`` couples models the way the site file links them (a pump ``fills`` or ``drains``
a tank), so a running pump moves the tank level and a tank's level starts and stops its pump.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from core.site import Equipment, Site

Values = dict[str, float | int | bool]


@dataclass
class TankModel:
    eq: Equipment
    rng: random.Random
    level_m: float = 0.0
    inflow_m3h: float = 0.0
    outflow_m3h: float = 0.0

    def __post_init__(self) -> None:
        self.level_m = self.height * self.rng.uniform(0.55, 0.8)

    @property
    def height(self) -> float:
        return self.eq.simulation.height_m

    @property
    def level_pct(self) -> float:
        return 100.0 * self.level_m / self.height

    def demand_m3h(self, hour_of_day: float) -> float:
        """Residential demand: morning and evening peaks, quiet at night, a little noise."""
        base = self.eq.simulation.demand_m3h
        shape = 0.35 + 0.65 * (
            math.exp(-((hour_of_day - 7.5) ** 2) / 2) + math.exp(-((hour_of_day - 19.5) ** 2) / 3)
        )
        return max(0.0, base * shape * self.rng.uniform(0.85, 1.15))

    def step(self, dt: float, hour_of_day: float) -> None:
        if self.eq.role != "sump":
            self.outflow_m3h += self.demand_m3h(hour_of_day)
        delta = (self.inflow_m3h - self.outflow_m3h) * dt / 3600.0 / self.eq.simulation.area_m2
        self.level_m = min(self.height, max(0.0, self.level_m + delta))

    def values(self) -> Values:
        return {
            "level_m": round(self.level_m, 3),
            "level_pct": round(self.level_pct, 1),
            "high_level": self.level_pct >= 95.0,
            "low_level": self.level_pct <= 15.0,
            "inlet_valve_open": self.inflow_m3h > 0.0,
        }


@dataclass
class PumpModel:
    eq: Equipment
    rng: random.Random
    running: bool = False
    auto_mode: bool = True
    frequency_hz: float = 0.0
    run_hours: float = 0.0
    starts: int = 0
    fault: bool = False
    fault_code: int = 0
    pressure_mpa: float = 0.05
    # hysteresis on the linked tank: fill below start_pct, stop above stop_pct
    start_pct: float = 60.0
    stop_pct: float = 90.0

    def __post_init__(self) -> None:
        self.run_hours = round(self.rng.uniform(500, 8000), 1)
        self.starts = self.rng.randint(200, 5000)

    def control(self, tank: TankModel | None) -> None:
        """Auto mode: the pump follows its tank's level, or runs continuously without one."""
        if self.fault or not self.auto_mode:
            self._set_running(False if self.fault else self.running)
            return
        if tank is None:
            self._set_running(True)
        elif self.eq.simulation.fills == tank.eq.id:
            if tank.level_pct < self.start_pct:
                self._set_running(True)
            elif tank.level_pct > self.stop_pct:
                self._set_running(False)
        elif tank.level_pct > self.stop_pct - 20:  # drains (sump): empty above a high mark
            self._set_running(True)
        elif tank.level_pct < 20:
            self._set_running(False)

    def _set_running(self, running: bool) -> None:
        if running and not self.running:
            self.starts += 1
        self.running = running

    def step(self, dt: float) -> None:
        target = 50.0 if self.running else 0.0
        ramp = 5.0 * dt  # Hz per second of VFD acceleration
        if self.frequency_hz < target:
            self.frequency_hz = min(target, self.frequency_hz + ramp)
        else:
            self.frequency_hz = max(target, self.frequency_hz - ramp)
        ratio = self.frequency_hz / 50.0
        target_pressure = 0.05 + 0.4 * ratio**2
        # pressure follows the pump with a first-order lag of a few seconds
        self.pressure_mpa += (target_pressure - self.pressure_mpa) * min(1.0, dt / 3.0)
        if self.running:
            self.run_hours += dt / 3600.0

    @property
    def flow_m3h(self) -> float:
        return self.eq.simulation.capacity_m3h * self.frequency_hz / 50.0

    def values(self) -> Values:
        ratio = self.frequency_hz / 50.0
        noise = self.rng.gauss(0, 0.003)
        return {
            "running": self.running,
            "fault": self.fault,
            "fault_code": self.fault_code,
            "auto_mode": self.auto_mode,
            "frequency_hz": round(self.frequency_hz, 2),
            "current_a": round((0.3 + 14.7 * ratio**3) if self.frequency_hz > 0 else 0.0, 2),
            "outlet_pressure_mpa": round(max(0.0, self.pressure_mpa + noise), 3),
            "run_hours": round(self.run_hours, 3),
            "starts": self.starts,
        }


@dataclass
class Plant:
    """All simulated machines of a site, stepped together."""

    site: Site
    seed: int = 1
    tanks: dict[str, TankModel] = field(default_factory=dict)
    pumps: dict[str, PumpModel] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for eq in self.site.equipment:
            if not eq.simulation.enabled:
                continue
            # one generator per machine keeps each machine's behaviour stable under edits
            rng = random.Random(f"{self.seed}:{eq.id}")
            if eq.kind == "water_tank":
                self.tanks[eq.id] = TankModel(eq, rng)
            elif eq.kind == "pump":
                self.pumps[eq.id] = PumpModel(eq, rng)

    def _linked_tank(self, pump: PumpModel) -> TankModel | None:
        target = pump.eq.simulation.fills or pump.eq.simulation.drains
        return self.tanks.get(target) if target else None

    def step(self, dt: float, hour_of_day: float) -> None:
        for tank in self.tanks.values():
            tank.inflow_m3h = tank.outflow_m3h = 0.0
        for pump in self.pumps.values():
            linked = self._linked_tank(pump)
            pump.control(linked)
            pump.step(dt)
            if linked is not None and pump.eq.simulation.fills == linked.eq.id:
                linked.inflow_m3h += pump.flow_m3h
            elif linked is not None:
                linked.outflow_m3h += pump.flow_m3h
        for tank in self.tanks.values():
            tank.step(dt, hour_of_day)

    def values(self) -> dict[str, Values]:
        out: dict[str, Values] = {k: m.values() for k, m in self.tanks.items()}
        out.update({k: m.values() for k, m in self.pumps.items()})
        return out
