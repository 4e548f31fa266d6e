"""All simulated machines of a site, coupled the way the site file links them.

A pump that ``fills`` a tank adds its flow to the tank, is called when the level falls
below ``START_PCT`` (stops above ``STOP_PCT``) and runs faster the more the building draws;
a pump that ``drains`` a tank (a sump pump) is called above ``SUMP_START_PCT`` and stops
below ``SUMP_STOP_PCT``. Kinds without a model (a new catalogue entry) are not simulated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from core.site import Equipment, Site
from simulators.models.base import FaultError, Values, make_rng
from simulators.models.elevator import ElevatorModel
from simulators.models.fire_panel import FirePanelModel
from simulators.models.pump import PumpModel
from simulators.models.tank import TankModel

START_PCT, STOP_PCT = 60.0, 90.0
SUMP_START_PCT, SUMP_STOP_PCT = 70.0, 20.0
SUBSTEP_S = 1.0


class DeviceModel(Protocol):
    eq: Equipment

    def inject(self, fault: str, **params: object) -> None: ...

    def clear(self, fault: str) -> None: ...

    def values(self) -> Values: ...


@dataclass
class Plant:
    """Every simulated machine of a site, stepped together on simulated time."""

    site: Site
    seed: int | str = 1
    tanks: dict[str, TankModel] = field(default_factory=dict)
    pumps: dict[str, PumpModel] = field(default_factory=dict)
    elevators: dict[str, ElevatorModel] = field(default_factory=dict)
    fire_panels: dict[str, FirePanelModel] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for eq in self.site.equipment:
            if not eq.simulation.enabled:
                continue
            rng = make_rng(self.seed, eq)
            if eq.kind == "water_tank":
                self.tanks[eq.id] = TankModel(eq, rng)
            elif eq.kind == "pump":
                self.pumps[eq.id] = PumpModel(eq, rng)
            elif eq.kind == "elevator":
                self.elevators[eq.id] = ElevatorModel(eq, rng)
            elif eq.kind == "fire_panel":
                self.fire_panels[eq.id] = FirePanelModel(eq, rng)

    @property
    def models(self) -> dict[str, DeviceModel]:
        out: dict[str, DeviceModel] = {}
        for group in (self.tanks, self.pumps, self.elevators, self.fire_panels):
            out.update(group)
        return out

    def model(self, equipment_id: str) -> DeviceModel:
        try:
            return self.models[equipment_id]
        except KeyError:
            raise FaultError(f"no simulated machine '{equipment_id}'") from None

    def inject(self, equipment_id: str, fault: str, **params: object) -> None:
        self.model(equipment_id).inject(fault, **params)

    def clear(self, equipment_id: str, fault: str) -> None:
        self.model(equipment_id).clear(fault)

    def _linked_tank(self, pump: PumpModel) -> TankModel | None:
        target = pump.eq.simulation.fills or pump.eq.simulation.drains
        return self.tanks.get(target) if target else None

    def _control(self, pump: PumpModel, tank: TankModel | None) -> None:
        """The level controller calling each pump (auto mode); the pump decides if it runs."""
        if tank is None:
            pump.demanded = True
        elif pump.eq.simulation.fills == tank.eq.id:
            # a variable-speed pump: the more the building draws, the faster it runs
            base = tank.eq.simulation.demand_m3h
            load = min(1.0, tank.demand_now_m3h / base) if base > 0 else 1.0
            pump.target_hz = 35.0 + 15.0 * load
            if tank.level_pct < START_PCT:
                pump.demanded = True
            elif tank.level_pct > STOP_PCT:
                pump.demanded = False
        elif tank.level_pct > SUMP_START_PCT:
            pump.demanded = True
        elif tank.level_pct < SUMP_STOP_PCT:
            pump.demanded = False

    def step(self, dt: float, hour_of_day: float) -> None:
        """Advance ``dt`` seconds, in sub-steps short enough for the pumps' dynamics."""
        remaining = dt
        while remaining > 1e-9:
            sub = min(SUBSTEP_S, remaining)
            self._substep(sub, hour_of_day)
            remaining -= sub
        for elevator in self.elevators.values():
            elevator.step(dt, hour_of_day)
        for panel in self.fire_panels.values():
            panel.step(dt)

    def _substep(self, dt: float, hour_of_day: float) -> None:
        for tank in self.tanks.values():
            tank.pump_inflow_m3h = tank.pump_outflow_m3h = 0.0
        for pump in self.pumps.values():
            linked = self._linked_tank(pump)
            self._control(pump, linked)
            pump.step(dt)
            if linked is not None and pump.eq.simulation.fills == linked.eq.id:
                linked.pump_inflow_m3h += pump.flow_m3h
            elif linked is not None:
                linked.pump_outflow_m3h += pump.flow_m3h
        for tank in self.tanks.values():
            tank.step(dt, hour_of_day)

    def values(self) -> dict[str, Values]:
        return {eq_id: model.values() for eq_id, model in self.models.items()}
