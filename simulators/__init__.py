"""Simulated devices over the same protocols as real ones. Imports only ``core``.

``models`` holds the pure physics (pump, tank, elevator, fire panel, and the ``Plant`` that
couples them); ``scenario`` the timed fault scripts; ``runner.Simulation`` steps a plant on a
simulated clock and speaks MQTT (``mqtt_transport``) and Modbus TCP (``modbus_devices``);
``control`` lets a running simulation take faults by hand.
"""

from simulators.chaos import chaos_scenario
from simulators.models import (
    ElevatorModel,
    FaultError,
    FirePanelModel,
    Plant,
    PumpModel,
    TankModel,
)
from simulators.runner import Simulation, SimulationClock
from simulators.scenario import (
    Action,
    Scenario,
    ScenarioError,
    find_scenario,
    library,
    load_scenario,
)

__all__ = [
    "Action",
    "ElevatorModel",
    "FaultError",
    "FirePanelModel",
    "Plant",
    "PumpModel",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SimulationClock",
    "TankModel",
    "chaos_scenario",
    "find_scenario",
    "library",
    "load_scenario",
]
