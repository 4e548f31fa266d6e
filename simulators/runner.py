"""Run the simulated plant: step the physics on a simulated clock and publish every machine.

``speed`` makes simulated time run faster than real time; timestamps are simulated time. A
test can drive ``step()`` itself (no real-time waits) and give collectors ``sim.clock`` so
their view of time follows the simulation. Faults come from a scenario (timed steps), from
``apply`` (code), or from the MQTT control topic (``simulators.control``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.clock import Clock, SystemClock
from core.endpoints import MqttEndpoint
from core.logs import event
from core.site import Site
from simulators.control import ControlListener
from simulators.modbus_devices import ModbusDevices
from simulators.models import FaultError, Plant
from simulators.mqtt_transport import MqttDevices
from simulators.scenario import (
    TRANSPORT_FAULTS,
    Action,
    Scenario,
    ScenarioError,
    Step,
    bind,
    check_action,
)

log = logging.getLogger("plantroom.simulator")


class SimulationClock:
    """The simulation's time as a ``core.clock.Clock``, for collectors under test."""

    def __init__(self, simulation: Simulation) -> None:
        self._simulation = simulation

    def now(self) -> datetime:
        return self._simulation.sim_now

    def monotonic(self) -> float:
        return self._simulation.elapsed


@dataclass(frozen=True, slots=True)
class Applied:
    """A fault injected or cleared, at which simulated time."""

    at: datetime
    equipment: str
    action: Action


@dataclass
class _Schedule:
    steps: list[tuple[timedelta, str, Step]] = field(default_factory=list)
    next_index: int = 0


class Simulation:
    def __init__(
        self,
        site: Site,
        endpoint: MqttEndpoint | None,
        seed: int | str = 1,
        speed: float = 1.0,
        tick: float = 1.0,
        clock: Clock | None = None,
        start: datetime | None = None,
        scenario: Scenario | None = None,
        control: bool = True,
        modbus: bool = True,
    ) -> None:
        if speed <= 0 or tick <= 0:
            raise ValueError("speed and tick must be positive")
        self.site = site
        self.plant = Plant(site, seed)
        self.speed = speed
        self.tick = tick
        self.wall = clock or SystemClock()
        self.tz = ZoneInfo(site.site.timezone)
        self.started_at: datetime = start or self.wall.now()
        self.sim_now: datetime = self.started_at
        self.clock = SimulationClock(self)
        self.applied: list[Applied] = []
        self.refused: list[str] = []  # scenario steps the models refused, with why
        self._schedule = _Schedule()
        if scenario is not None:
            self._schedule.steps = [
                (r.at, r.equipment, r.source)
                for r in bind(scenario, site, scenario.name)
                if isinstance(r.source, Step)
            ]
        simulated = set(self.plant.models)
        mqtt_machines = [
            eq for eq in site.equipment if eq.id in simulated and eq.source.mqtt is not None
        ]
        self.mqtt: MqttDevices | None = None
        self.control: ControlListener | None = None
        # Modbus machines are served by one simulated gateway per host:port of the site file
        self.modbus = ModbusDevices(site) if modbus else None
        self.modbus_silent: set[str] = set()
        if endpoint is not None:
            self.mqtt = MqttDevices(site, endpoint, mqtt_machines)
            if control:
                self.control = ControlListener(site.site.id, endpoint)

    @property
    def elapsed(self) -> float:
        """Simulated seconds since the start."""
        return (self.sim_now - self.started_at).total_seconds()

    # ------------------------------------------------------------ faults

    def apply(self, action: Action) -> str:
        """Inject or clear a fault now; returns the machine's id. Raises ScenarioError or
        FaultError (with the machine named) when the action does not fit this site."""
        eq_id, problems = check_action(self.site, action, "command")
        if problems:
            raise ScenarioError("command", problems)
        if action.fault in TRANSPORT_FAULTS:
            self._apply_transport(eq_id, action)
        elif action.inject is not None:
            self.plant.inject(eq_id, action.inject, **action.params)
        else:
            self.plant.clear(eq_id, action.fault)
        self.applied.append(Applied(self.sim_now, eq_id, action))
        verb = "fault injected" if action.inject else "fault cleared"
        event(log, verb, equipment=eq_id, fault=action.fault, sim_time=self.sim_now.isoformat())
        return eq_id

    def _apply_transport(self, eq_id: str, action: Action) -> None:
        down = action.inject is not None
        if self.mqtt is not None and self.mqtt.serves(eq_id):
            if action.fault != "comms_loss":
                raise FaultError(f"{eq_id}: {action.fault} needs a Modbus machine")
            drop = action.params.get("drop_connection", True)
            self.mqtt.go_silent(eq_id, down, drop_connection=bool(drop))
            return
        if self.modbus is None or eq_id not in self.modbus.machines:
            raise FaultError(f"{eq_id}: {action.fault} needs the machine on a running transport")
        server, unit_id, _map = self.modbus.machines[eq_id]
        if action.fault == "comms_loss":
            # the device dies; its gateway and the other units behind it carry on
            server.set_unit_answering(unit_id, not down)
            (self.modbus_silent.add if down else self.modbus_silent.discard)(eq_id)
        else:
            server.set_answering(not down)  # gateway_down: every unit behind it goes quiet
        event(log, "gateway down" if down else "gateway up", equipment=eq_id, port=server.port)

    def _apply_commands(self) -> None:
        if self.control is None:
            return
        while True:
            try:
                command = self.control.commands.get_nowait()
            except queue.Empty:
                return
            try:
                command.done(self.apply(command.action))
            except (ScenarioError, FaultError) as err:
                text = "; ".join(err.errors) if isinstance(err, ScenarioError) else str(err)
                event(log, "command refused", logging.WARNING, error=text)
                command.failed(text)

    def _apply_due(self, elapsed: timedelta) -> None:
        schedule = self._schedule
        while schedule.next_index < len(schedule.steps):
            at, eq_id, step = schedule.steps[schedule.next_index]
            if at > elapsed:
                return
            schedule.next_index += 1
            action = Action(
                equipment=eq_id, inject=step.inject, clear=step.clear, params=step.params
            )
            try:
                self.apply(action)
            except FaultError as err:
                # e.g. silencing a panel with no alarm: say so and carry on with the scenario
                self.refused.append(f"{at}: {err}")
                event(log, "scenario step refused", logging.WARNING, at=str(at), error=str(err))

    # ------------------------------------------------------------ time

    def step(self, dt: float | None = None) -> None:
        """Advance ``dt`` simulated seconds (default one tick at ``speed``): apply faults due
        by then, step the physics, and publish every machine at the new simulated time."""
        dt = self.tick * self.speed if dt is None else dt
        self.sim_now += timedelta(seconds=dt)
        self._apply_commands()
        self._apply_due(self.sim_now - self.started_at)
        local = self.sim_now.astimezone(self.tz)
        self.plant.step(dt, local.hour + local.minute / 60.0 + local.second / 3600.0)
        self.publish()

    def publish(self) -> None:
        """MQTT machines publish; Modbus machines get their registers updated."""
        for eq_id, values in self.plant.values().items():
            if self.mqtt is not None and self.mqtt.serves(eq_id):
                self.mqtt.publish(eq_id, self.sim_now, values)
            elif self.modbus is not None and eq_id in self.modbus.machines:
                self.modbus.update(eq_id, values)

    @property
    def scenario_done(self) -> bool:
        return self._schedule.next_index >= len(self._schedule.steps)

    async def start(self) -> None:
        if self.modbus is not None:
            await self.modbus.start(self.plant.values())
        if self.mqtt is not None:
            self.mqtt.start()
        if self.control is not None:
            self.control.start()
        machines = len(self.mqtt.clients) if self.mqtt else 0
        machines += len(self.modbus.machines) if self.modbus else 0
        event(
            log, "simulating", machines=machines, speed=self.speed, start=self.sim_now.isoformat()
        )

    async def stop(self) -> None:
        if self.control is not None:
            self.control.stop()
        if self.mqtt is not None:
            self.mqtt.stop()
        if self.modbus is not None:
            await self.modbus.stop()

    async def run(self, stop: asyncio.Event) -> None:
        """Step every ``tick`` real seconds until ``stop`` is set."""
        await self.start()
        next_tick = self.wall.monotonic()
        try:
            while not stop.is_set():
                self.step()
                # schedule on the monotonic clock so ticks do not drift
                next_tick += self.tick
                delay = max(0.0, next_tick - self.wall.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        finally:
            await self.stop()
