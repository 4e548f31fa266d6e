"""All simulated machines of a site, coupled the way the site file links them.

Which model simulates a kind is the table ``MODELS`` (kind -> model class): a new kind needs a
model class and a line there, nothing else here. The couplings are the plant room's physics
and controllers:

- a pump that ``fills`` a tank adds its flow to the tank, is called when the level falls
  below ``START_PCT`` (stops above ``STOP_PCT``) and runs faster the more the building draws;
  a pump that ``drains`` a tank (a sump pump) is called above ``SUMP_START_PCT`` and stops
  below ``SUMP_STOP_PCT``;
- pumps of one ``group`` are a duty/standby set: the first (site-file order) is duty and is
  called alone; when it has been faulted for the set's ``changeover_s``, the standby pumps
  are called instead;
- a fire panel in alarm recalls every lift of the site to the fire floor (its linkage);
- a generator that ``supplies`` a power machine is its ATS's standby source: started on a
  mains failure, transferred to once running, released after the mains return;
- a flood sensor ``beside`` a tank or sump gets wet when it overflows.
Kinds without a model (a new catalogue entry) are not simulated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from core.site import Equipment, Site
from simulators.models.base import FaultError, Values, make_rng
from simulators.models.elevator import ELEVATOR_FAULTS, ElevatorModel
from simulators.models.fire_panel import FIRE_PANEL_FAULTS, FirePanelModel
from simulators.models.flood import FLOOD_FAULTS, FloodSensorModel
from simulators.models.generator import GENERATOR_FAULTS, GeneratorModel
from simulators.models.meter import METER_FAULTS, MeterModel
from simulators.models.power import (
    ATS_MAINS,
    ATS_OFF,
    ATS_STANDBY,
    POWER_FAULTS,
    RETRANSFER_S,
    PowerModel,
)
from simulators.models.pump import PUMP_FAULTS, PumpModel
from simulators.models.tank import TANK_FAULTS, TankModel

START_PCT, STOP_PCT = 60.0, 90.0
SUMP_START_PCT, SUMP_STOP_PCT = 70.0, 20.0
SUBSTEP_S = 1.0


class DeviceModel(Protocol):
    eq: Equipment

    def inject(self, fault: str, **params: object) -> None: ...

    def clear(self, fault: str) -> None: ...

    def values(self) -> Values: ...

    def step(self, dt: float, hour_of_day: float) -> None: ...


# kind -> (model class, the faults it takes); the scenario checker reads the faults from here
MODELS: dict[str, tuple[type, dict[str, frozenset[str]]]] = {
    "pump": (PumpModel, PUMP_FAULTS),
    "water_tank": (TankModel, TANK_FAULTS),
    "elevator": (ElevatorModel, ELEVATOR_FAULTS),
    "fire_panel": (FirePanelModel, FIRE_PANEL_FAULTS),
    "flood_sensor": (FloodSensorModel, FLOOD_FAULTS),
    "power": (PowerModel, POWER_FAULTS),
    "generator": (GeneratorModel, GENERATOR_FAULTS),
    "energy_meter": (MeterModel, METER_FAULTS),
}
MODEL_FAULTS: dict[str, dict[str, frozenset[str]]] = {k: f for k, (_m, f) in MODELS.items()}

M = TypeVar("M")


@dataclass
class Plant:
    """Every simulated machine of a site, stepped together on simulated time."""

    site: Site
    seed: int | str = 1
    models: dict[str, DeviceModel] = field(default_factory=dict)
    _set_faulted_s: dict[str, float] = field(default_factory=dict)  # per pump group

    def __post_init__(self) -> None:
        for eq in self.site.equipment:
            if eq.simulation.enabled and eq.kind in MODELS:
                model_class, _faults = MODELS[eq.kind]
                self.models[eq.id] = model_class(eq, make_rng(self.seed, eq))
        self.groups: dict[str, list[PumpModel]] = {}
        for pump in self.pumps.values():
            if pump.eq.group is not None:
                self.groups.setdefault(pump.eq.group, []).append(pump)
        for members in self.groups.values():
            members[0].duty = True
            for standby in members[1:]:
                standby.standby = True

    def _of(self, model_type: type[M]) -> dict[str, M]:
        return {k: m for k, m in self.models.items() if isinstance(m, model_type)}

    @property
    def tanks(self) -> dict[str, TankModel]:
        return self._of(TankModel)

    @property
    def pumps(self) -> dict[str, PumpModel]:
        return self._of(PumpModel)

    @property
    def elevators(self) -> dict[str, ElevatorModel]:
        return self._of(ElevatorModel)

    @property
    def fire_panels(self) -> dict[str, FirePanelModel]:
        return self._of(FirePanelModel)

    def model(self, equipment_id: str) -> DeviceModel:
        try:
            return self.models[equipment_id]
        except KeyError:
            raise FaultError(f"no simulated machine '{equipment_id}'") from None

    def inject(self, equipment_id: str, fault: str, **params: object) -> None:
        self.model(equipment_id).inject(fault, **params)

    def clear(self, equipment_id: str, fault: str) -> None:
        self.model(equipment_id).clear(fault)

    # ------------------------------------------------------------ water

    def _linked_tank(self, pump: PumpModel, tanks: dict[str, TankModel]) -> TankModel | None:
        target = pump.eq.simulation.fills or pump.eq.simulation.drains
        return tanks.get(target) if target else None

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

    def _changeover(self, dt: float) -> None:
        """Each set calls its duty pump; the standby only once the duty has been faulted for
        the set's changeover time."""
        for group, members in self.groups.items():
            duty, standbys = members[0], members[1:]
            need = duty.demanded
            faulted = duty.fault
            waited = self._set_faulted_s.get(group, 0.0) + dt if faulted else 0.0
            self._set_faulted_s[group] = waited
            changed_over = faulted and waited >= duty.eq.simulation.changeover_s
            for standby in standbys:
                standby.target_hz = duty.target_hz
                standby.demanded = need and changed_over

    def _substep(self, dt: float, hour_of_day: float) -> None:
        tanks = self.tanks
        pumps = self.pumps
        for tank in tanks.values():
            tank.pump_inflow_m3h = tank.pump_outflow_m3h = 0.0
        for pump in pumps.values():
            self._control(pump, self._linked_tank(pump, tanks))
        self._changeover(dt)
        for pump in pumps.values():
            linked = self._linked_tank(pump, tanks)
            pump.step(dt, hour_of_day)
            if linked is not None and pump.eq.simulation.fills == linked.eq.id:
                linked.pump_inflow_m3h += pump.flow_m3h
            elif linked is not None:
                linked.pump_outflow_m3h += pump.flow_m3h
        for tank in tanks.values():
            tank.step(dt, hour_of_day)

    # ------------------------------------------------------------ power and fire linkage

    def _transfer(self, dt: float) -> None:
        """The ATS controllers: start the generator on a mains failure, transfer to it once it
        runs, transfer back once the mains have been good for ``RETRANSFER_S``."""
        generators = self._of(GeneratorModel)
        backing = {g.eq.simulation.supplies: g for g in generators.values()}
        for power in self._of(PowerModel).values():
            generator = backing.get(power.eq.id)
            mains_back = power.mains_ok and power.mains_good_for_s >= RETRANSFER_S
            if generator is None:
                power.ats_position = ATS_MAINS
                continue
            generator.start_demand = not mains_back
            power.generator_voltage_v = generator.voltage_v
            if mains_back or (power.mains_ok and not generator.running):
                power.ats_position = ATS_MAINS
            elif generator.running:
                power.ats_position = ATS_STANDBY
            elif power.ats_position == ATS_STANDBY:
                power.ats_position = ATS_OFF  # the generator stopped under load
            generator.load_kw = power.load_kw if power.ats_position == ATS_STANDBY else 0.0

    def _linkage(self) -> None:
        recall = any(panel.in_alarm for panel in self.fire_panels.values())
        for lift in self.elevators.values():
            lift.fire_recall_linked = recall
        tanks = self.tanks
        for sensor in self._of(FloodSensorModel).values():
            beside = tanks.get(sensor.eq.simulation.beside or "")
            sensor.water_arriving = beside is not None and beside.overflowing

    def step(self, dt: float, hour_of_day: float) -> None:
        """Advance ``dt`` seconds, in sub-steps short enough for the pumps' dynamics."""
        remaining = dt
        coupled = (PumpModel, TankModel)
        others = [m for m in self.models.values() if not isinstance(m, coupled)]
        while remaining > 1e-9:
            sub = min(SUBSTEP_S, remaining)
            self._substep(sub, hour_of_day)
            self._transfer(sub)
            self._linkage()
            for model in others:
                model.step(sub, hour_of_day)
            remaining -= sub

    def values(self) -> dict[str, Values]:
        return {eq_id: model.values() for eq_id, model in self.models.items()}
