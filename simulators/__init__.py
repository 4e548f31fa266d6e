"""Simulated devices over the same protocols as real ones. Imports only ``core``."""

from simulators.models import Plant, PumpModel, TankModel
from simulators.runner import Simulation

__all__ = ["Plant", "PumpModel", "Simulation", "TankModel"]
