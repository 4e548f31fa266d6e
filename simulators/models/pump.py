"""A pump on a VFD: domestic transfer/booster, fire (jockey) or sump pump.

Frequency ramps towards its target, outlet pressure follows frequency with a short lag, current
follows the affinity law (power ~ speed³). The plant decides whether the pump is *called*
(``demanded``) from its tank's level; the pump decides whether it actually runs.

Faults: ``trip`` (VFD trips: stops, fault bit and ``code``), ``dry_run`` (runs with no outlet
pressure and low current: suction lost), ``fail_to_start`` (called but never starts; after
``after`` seconds the controller raises fault ``code``), ``short_cycle`` (starts and stops
every ``on_s``/``off_s`` seconds whatever the level says), ``manual`` (hand mode: ``auto_mode``
off, runs if ``running``), ``overload`` (the motor's thermal overload relay trips: stops,
``overload`` and fault ``code``), ``phase_loss`` (a supply phase lost: the motor protection
stops it, ``phase_loss`` and fault ``code``), ``local`` (switched to local control:
``remote_mode`` off, still automatic).

In a duty/standby set (site file ``group``) the plant's set controller sets ``duty`` and
``standby`` and decides which pump is called.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from core.site import Equipment
from simulators.models.base import FaultError, FaultState, Values, number

PUMP_FAULTS: dict[str, frozenset[str]] = {
    "trip": frozenset({"code"}),
    "dry_run": frozenset(),
    "fail_to_start": frozenset({"after", "code"}),
    "short_cycle": frozenset({"on_s", "off_s"}),
    "manual": frozenset({"running"}),
    "overload": frozenset({"code"}),
    "phase_loss": frozenset({"code"}),
    "local": frozenset(),
}
RATED_HZ = 50.0
RATED_CURRENT_A = 15.0
TRIP_CODE = 12  # VFD overcurrent
START_FAILURE_CODE = 31
OVERLOAD_CODE = 14  # motor overload
PHASE_LOSS_CODE = 15  # input phase loss
_TRIPPING = {"trip": TRIP_CODE, "overload": OVERLOAD_CODE, "phase_loss": PHASE_LOSS_CODE}


@dataclass
class PumpModel:
    eq: Equipment
    rng: random.Random
    demanded: bool = False
    target_hz: float = RATED_HZ
    running: bool = False
    frequency_hz: float = 0.0
    pressure_mpa: float = 0.05
    run_hours: float = 0.0
    starts: int = 0
    fault_code: int = 0
    duty: bool = False  # set by the plant's set controller for pumps in a group
    standby: bool = False
    faults: FaultState = field(default_factory=lambda: FaultState(PUMP_FAULTS))
    _cycle_s: float = 0.0  # time into the current short-cycle on/off phase
    _waiting_s: float = 0.0  # time called without starting (fail_to_start)
    _noise_mpa: float = 0.0  # sensor noise, drawn per step so ``values()`` is a pure read

    def __post_init__(self) -> None:
        self.run_hours = round(self.rng.uniform(500, 8000), 1)
        self.starts = self.rng.randint(200, 5000)

    # ------------------------------------------------------------ faults

    def inject(self, fault: str, **params: object) -> None:
        for name in ("code", "after", "on_s", "off_s"):
            if name in params:
                number(params, name, 0, self.eq)
        if "running" in params and not isinstance(params["running"], bool):
            raise FaultError(f"{self.eq.id}: parameter 'running' must be true or false")
        self.faults.set(self.eq, fault, params)
        if fault == "short_cycle":
            self._cycle_s = 0.0

    def clear(self, fault: str) -> None:
        self.faults.unset(self.eq, fault)
        if fault in ("fail_to_start", *_TRIPPING):
            self.fault_code = 0
            self._waiting_s = 0.0

    @property
    def auto_mode(self) -> bool:
        return "manual" not in self.faults

    @property
    def fault(self) -> bool:
        return self.fault_code != 0

    # ------------------------------------------------------------ physics

    def _called(self, dt: float) -> bool:
        if "manual" in self.faults:
            return bool(self.faults.param("manual", "running", True))
        if "short_cycle" in self.faults:
            on = float(self.faults.param("short_cycle", "on_s", 20.0))
            off = float(self.faults.param("short_cycle", "off_s", 20.0))
            self._cycle_s = (self._cycle_s + dt) % (on + off)
            return self._cycle_s < on
        return self.demanded

    def step(self, dt: float, hour_of_day: float = 12.0) -> None:
        called = self._called(dt)
        for fault, default in _TRIPPING.items():
            if fault in self.faults:
                self.fault_code = int(self.faults.param(fault, "code", default))
        if "fail_to_start" in self.faults and called and not self.running:
            self._waiting_s += dt
            if self._waiting_s >= float(self.faults.param("fail_to_start", "after", 10.0)):
                code = self.faults.param("fail_to_start", "code", START_FAILURE_CODE)
                self.fault_code = int(code)
            called = False
        if self.fault:
            called = False
        if called and not self.running:
            self.starts += 1
        self.running = called
        target = self.target_hz if self.running else 0.0
        ramp = 5.0 * dt  # Hz per second of VFD acceleration
        if self.frequency_hz < target:
            self.frequency_hz = min(target, self.frequency_hz + ramp)
        else:
            self.frequency_hz = max(target, self.frequency_hz - ramp)
        ratio = self.frequency_hz / RATED_HZ
        target_pressure = 0.05 + 0.4 * ratio**2
        if "dry_run" in self.faults and self.running:
            target_pressure = 0.01  # no water at the suction: the pump spins, nothing flows
        # pressure follows the pump with a first-order lag of a few seconds
        self.pressure_mpa += (target_pressure - self.pressure_mpa) * min(1.0, dt / 3.0)
        if self.running:
            self.run_hours += dt / 3600.0
        self._noise_mpa = self.rng.gauss(0, 0.003)

    @property
    def flow_m3h(self) -> float:
        if "dry_run" in self.faults:
            return 0.0
        return self.eq.simulation.capacity_m3h * self.frequency_hz / RATED_HZ

    def values(self) -> Values:
        ratio = self.frequency_hz / RATED_HZ
        load = 0.35 if "dry_run" in self.faults else 1.0  # no water, little torque
        current = (0.3 + (RATED_CURRENT_A - 0.3) * load * ratio**3) if self.frequency_hz else 0.0
        return {
            "running": self.running,
            "fault": self.fault,
            "fault_code": self.fault_code,
            "auto_mode": self.auto_mode,
            "remote_mode": "local" not in self.faults,
            "duty": self.duty,
            "standby": self.standby,
            "overload": "overload" in self.faults,
            "phase_loss": "phase_loss" in self.faults,
            "frequency_hz": round(self.frequency_hz, 2),
            "current_a": round(current, 2),
            "outlet_pressure_mpa": round(max(0.0, self.pressure_mpa + self._noise_mpa), 3),
            "run_hours": round(self.run_hours, 3),
            "starts": self.starts,
        }
