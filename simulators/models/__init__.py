"""Device physics, pure and seeded: stepped by simulated seconds, faults as explicit state."""

from simulators.models.base import FaultError, Values, make_rng
from simulators.models.elevator import ELEVATOR_FAULTS, ElevatorModel
from simulators.models.fire_panel import FIRE_PANEL_FAULTS, FirePanelModel
from simulators.models.plant import DeviceModel, Plant
from simulators.models.pump import PUMP_FAULTS, PumpModel
from simulators.models.tank import TANK_FAULTS, TankModel

__all__ = [
    "ELEVATOR_FAULTS",
    "FIRE_PANEL_FAULTS",
    "PUMP_FAULTS",
    "TANK_FAULTS",
    "DeviceModel",
    "ElevatorModel",
    "FaultError",
    "FirePanelModel",
    "Plant",
    "PumpModel",
    "TankModel",
    "Values",
    "make_rng",
]
