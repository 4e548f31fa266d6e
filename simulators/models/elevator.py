"""A passenger lift: trips between floors on a random demand pattern, with door cycles.

The car is a position in floors (1 … ``floors``) moving at ``SPEED`` floors per second; doors
open only at a landing (``door_zone``) and only when the car is stopped, so ``moving`` and
``door_open`` are never both true. Calls arrive at random, more often at the morning and
evening peaks.

Faults: ``entrapment`` (the car stops between floors, doors shut, passengers inside, alarm
button pressed; clearing it is the rescue: the car is levelled and the doors open),
``door_fault`` (the doors will not close: out of service with ``code``), ``controller_fault``
(stops at the next landing and stays out of service with ``code``), ``inspection``
(maintenance mode: no calls answered, not in service), ``safety_circuit`` (a landing door
lock or the governor switch opens the safety circuit: the car stops where it is, out of
service, ``safety_circuit_open``), ``power_fail`` (the lift's supply is lost: it stops where
it is), ``overload`` (too many passengers: the car waits at its landing with the doors open
until it is cleared), ``intercom_fault`` (the five-way intercom is dead; the lift runs on),
``fire_recall`` (消防迫降: the car goes straight to the ``FIRE_FLOOR``, opens its doors and
stays there out of normal service; the plant raises it from the fire panel's linkage).
An entrapment also opens the safety circuit (the controller stopped the car for it).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from core.site import Equipment
from simulators.models.base import FaultState, Values, number

ELEVATOR_FAULTS: dict[str, frozenset[str]] = {
    "entrapment": frozenset({"code"}),
    "door_fault": frozenset({"code"}),
    "controller_fault": frozenset({"code"}),
    "inspection": frozenset(),
    "safety_circuit": frozenset(),
    "power_fail": frozenset(),
    "overload": frozenset(),
    "intercom_fault": frozenset(),
    "fire_recall": frozenset(),
}
FIRE_FLOOR = 1
# faults that stop the car where it is, between floors or not
_HALTING = ("safety_circuit", "power_fail")
SPEED = 0.5  # floors per second (about 1.5 m/s)
DOOR_OPEN_S = 6.0
SUBSTEP_S = 0.5
ENTRAPMENT_CODE = 7  # safety circuit open
DOOR_FAULT_CODE = 41
CONTROLLER_FAULT_CODE = 23
_DEFAULT_CODES = {
    "entrapment": ENTRAPMENT_CODE,
    "door_fault": DOOR_FAULT_CODE,
    "controller_fault": CONTROLLER_FAULT_CODE,
}


@dataclass
class ElevatorModel:
    eq: Equipment
    rng: random.Random
    position: float = 1.0
    target: int | None = None
    door_open: bool = False
    door_timer: float = 0.0
    car_occupied: bool = False
    alarm_button: bool = False
    trapped: bool = False
    temp_c: float = 26.0
    _noise_c: float = 0.0  # sensor noise, drawn per step so ``values()`` is a pure read
    faults: FaultState = field(default_factory=lambda: FaultState(ELEVATOR_FAULTS))
    fire_recall_linked: bool = False  # the fire panel's recall output, set by the plant

    def __post_init__(self) -> None:
        self.position = float(self.rng.randint(1, self.floors))

    @property
    def floors(self) -> int:
        return self.eq.simulation.floors

    # ------------------------------------------------------------ faults

    def inject(self, fault: str, **params: object) -> None:
        if "code" in params:
            number(params, "code", 0, self.eq)
        self.faults.set(self.eq, fault, params)
        if fault == "entrapment":
            self._trap()

    def clear(self, fault: str) -> None:
        self.faults.unset(self.eq, fault)
        if fault == "entrapment" and self.trapped:
            self._rescue()

    def _trap(self) -> None:
        """Stop between floors, doors shut, someone inside pressing the alarm button."""
        base = math.floor(self.position)
        if base >= self.floors:
            base = self.floors - 1
        self.position = base + 0.4 + 0.2 * self.rng.random()
        self.target = None
        self.door_open = False
        self.car_occupied = True
        self.alarm_button = True
        self.trapped = True

    def _rescue(self) -> None:
        """The rescue levels the car at the nearest landing and lets the passengers out."""
        self.position = float(round(self.position))
        self.trapped = False
        self.alarm_button = False
        self.door_open = True
        self.door_timer = DOOR_OPEN_S

    @property
    def fault_code(self) -> int:
        for fault, default in _DEFAULT_CODES.items():
            if fault in self.faults:
                return int(self.faults.param(fault, "code", default))
        return 0

    @property
    def fire_recall(self) -> bool:
        return self.fire_recall_linked or "fire_recall" in self.faults

    @property
    def in_service(self) -> bool:
        # passengers overloading a car, or a dead intercom, do not take a lift out of service
        stopping = set(self.faults.active) - {"overload", "intercom_fault"}
        return not stopping and not self.fire_recall

    @property
    def moving(self) -> bool:
        return self.target is not None

    @property
    def door_zone(self) -> bool:
        return abs(self.position - round(self.position)) < 0.05

    # ------------------------------------------------------------ physics

    def calls_per_hour(self, hour_of_day: float) -> float:
        peaks = math.exp(-((hour_of_day - 8.0) ** 2) / 1.5) + math.exp(
            -((hour_of_day - 18.5) ** 2) / 2.0
        )
        night = 0.2 if hour_of_day < 6 or hour_of_day >= 23 else 1.0
        return 40.0 * night + 160.0 * peaks

    def step(self, dt: float, hour_of_day: float) -> None:
        remaining = dt
        while remaining > 1e-9:
            sub = min(SUBSTEP_S, remaining)
            self._substep(sub, hour_of_day)
            remaining -= sub
        target_temp = 24.0 + 3.0 * math.sin((hour_of_day - 9.0) / 24.0 * 2 * math.pi)
        target_temp += 2.0 if self.moving else 0.0
        self.temp_c += (target_temp - self.temp_c) * min(1.0, dt / 600.0)
        self._noise_c = self.rng.gauss(0, 0.05)

    def _substep(self, dt: float, hour_of_day: float) -> None:
        if self.trapped or any(f in self.faults for f in _HALTING):
            self.target = None  # stopped where it is, between floors or not
            return
        if self.fire_recall and self.target != FIRE_FLOOR and not self._at(FIRE_FLOOR):
            self.target = FIRE_FLOOR  # cancel every call and go to the fire floor
            self.door_open = False
        if self.target is not None:
            self._travel(dt)
            return
        if self.fire_recall:
            self.door_open = True  # parked at the fire floor with the doors open
            self.door_timer = DOOR_OPEN_S
            return
        if "overload" in self.faults:
            self.door_open = True  # the car will not leave until someone steps out
            self.car_occupied = True
            self.door_timer = DOOR_OPEN_S
            return
        if self.door_open:
            self.door_timer -= dt
            if self.door_timer <= 0 and "door_fault" not in self.faults:
                self.door_open = False
                self.car_occupied = False
            return
        if "door_fault" in self.faults:
            self.door_open = True  # the doors reopen and cannot close again
            return
        if not self.in_service:
            return  # out of service: answer no calls
        if self.rng.random() < self.calls_per_hour(hour_of_day) * dt / 3600.0:
            choices = [f for f in range(1, self.floors + 1) if f != round(self.position)]
            self.target = self.rng.choice(choices)
            self.car_occupied = self.rng.random() < 0.8

    def _travel(self, dt: float) -> None:
        assert self.target is not None
        if "controller_fault" in self.faults or "inspection" in self.faults:
            # stop at the next landing in the direction of travel
            ahead = math.ceil if self.target > self.position else math.floor
            self.target = int(ahead(self.position - 1e-9 * self._sign()))
        distance = self.target - self.position
        move = SPEED * dt
        if abs(distance) <= move:
            self.position = float(self.target)
            self.target = None
            self.door_open = True
            self.door_timer = DOOR_OPEN_S
        else:
            self.position += math.copysign(move, distance)

    def _at(self, floor: int) -> bool:
        return self.door_zone and round(self.position) == floor

    def _sign(self) -> int:
        if self.target is None or self.target == self.position:
            return 0
        return 1 if self.target > self.position else -1

    def values(self) -> Values:
        return {
            "in_service": self.in_service,
            "fault": self.fault_code != 0,
            "fault_code": self.fault_code,
            "floor": round(self.position) if self.door_zone else math.floor(self.position),
            "direction": self._sign(),
            "moving": self.moving,
            "door_open": self.door_open,
            "door_zone": self.door_zone,
            "alarm_button": self.alarm_button,
            "car_occupied": self.car_occupied,
            "inspection_mode": "inspection" in self.faults,
            "machine_room_temp_c": round(self.temp_c + self._noise_c, 2),
            "overload": "overload" in self.faults,
            "fire_recall": self.fire_recall,
            "power_fail": "power_fail" in self.faults,
            "safety_circuit_open": self.trapped or "safety_circuit" in self.faults,
            "intercom_fault": "intercom_fault" in self.faults,
        }
