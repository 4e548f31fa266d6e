"""Run the simulated plant: step the physics on a simulated clock and publish every machine.

``speed`` makes simulated time run faster than real time; timestamps are simulated time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.clock import Clock, SystemClock
from core.endpoints import MqttEndpoint
from core.logs import event
from core.site import Site
from simulators.models import Plant
from simulators.mqtt_transport import MqttDevices

log = logging.getLogger("plantroom.simulator")


class Simulation:
    def __init__(
        self,
        site: Site,
        endpoint: MqttEndpoint,
        seed: int = 1,
        speed: float = 1.0,
        tick: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        if speed <= 0 or tick <= 0:
            raise ValueError("speed and tick must be positive")
        self.site = site
        self.plant = Plant(site, seed)
        self.speed = speed
        self.tick = tick
        self.clock = clock or SystemClock()
        self.tz = ZoneInfo(site.site.timezone)
        self.sim_now: datetime = self.clock.now()
        simulated = set(self.plant.tanks) | set(self.plant.pumps)
        machines = [
            eq for eq in site.equipment if eq.id in simulated and eq.source.mqtt is not None
        ]
        self.devices = MqttDevices(site, endpoint, machines)

    def step(self) -> None:
        """Advance one tick of simulated time and publish every machine's values."""
        dt = self.tick * self.speed
        self.sim_now += timedelta(seconds=dt)
        local = self.sim_now.astimezone(self.tz)
        self.plant.step(dt, local.hour + local.minute / 60.0)
        for eq_id, values in self.plant.values().items():
            if eq_id in self.devices.clients:
                self.devices.publish(eq_id, self.sim_now, values)

    async def run(self, stop: asyncio.Event) -> None:
        self.devices.start()
        event(log, "simulating", machines=len(self.devices.clients), speed=self.speed)
        next_tick = self.clock.monotonic()
        try:
            while not stop.is_set():
                self.step()
                # schedule on the monotonic clock so ticks do not drift
                next_tick += self.tick
                delay = max(0.0, next_tick - self.clock.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        finally:
            self.devices.stop()
