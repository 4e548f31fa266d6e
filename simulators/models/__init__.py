"""Device physics, pure and seeded: stepped by simulated seconds, faults as explicit state."""

from simulators.models.base import FaultError, Values, make_rng
from simulators.models.elevator import ELEVATOR_FAULTS, ElevatorModel
from simulators.models.fire_panel import FIRE_PANEL_FAULTS, FirePanelModel
from simulators.models.flood import FLOOD_FAULTS, FloodSensorModel
from simulators.models.generator import GENERATOR_FAULTS, GeneratorModel
from simulators.models.meter import METER_FAULTS, MeterModel
from simulators.models.plant import MODEL_FAULTS, MODELS, DeviceModel, Plant
from simulators.models.power import POWER_FAULTS, PowerModel
from simulators.models.pump import PUMP_FAULTS, PumpModel
from simulators.models.tank import TANK_FAULTS, TankModel

__all__ = [
    "ELEVATOR_FAULTS",
    "FIRE_PANEL_FAULTS",
    "FLOOD_FAULTS",
    "GENERATOR_FAULTS",
    "METER_FAULTS",
    "MODELS",
    "MODEL_FAULTS",
    "POWER_FAULTS",
    "PUMP_FAULTS",
    "TANK_FAULTS",
    "DeviceModel",
    "ElevatorModel",
    "FaultError",
    "FirePanelModel",
    "FloodSensorModel",
    "GeneratorModel",
    "MeterModel",
    "Plant",
    "PowerModel",
    "PumpModel",
    "TankModel",
    "Values",
    "make_rng",
]
