"""Run a scenario end to end: simulator -> real broker / real Modbus gateways -> real
collectors -> store.

The test drives the simulation one tick at a time (no real-time waits): after each tick it
polls every Modbus machine once, waits until the collectors have stored that tick's readings,
then lets the MQTT collector look for stale machines on the simulation's clock. Timestamps
are simulated time, so expectations are checked at the scenario's scripted times. Reusable
by other tests (e.g. alerts).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from collectors.modbus import ModbusCollector
from collectors.mqtt import MqttCollector, MqttCollectorSettings
from collectors.sink import ReadingSink
from core.endpoints import MqttEndpoint
from core.readings import Quality, Reading
from core.site import Site, parse_site
from simulators.runner import Simulation
from simulators.scenario import Expectation, Resolved, Scenario, bind
from storage.timeseries import TimeSeriesStore
from tests.servers.ports import free_port

# 08:00 in Asia/Shanghai: the morning peak, so demand and lift traffic are lively
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
WAIT_S = 15.0


@dataclass
class ScenarioRun:
    """What a finished run leaves behind for assertions."""

    scenario: Scenario
    site: Site
    store: TimeSeriesStore
    simulation: Simulation
    bound: list[Resolved]
    sink: ReadingSink

    @property
    def started_at(self) -> datetime:
        return self.simulation.started_at

    def history(self, equipment: str, signal: str) -> list[Reading]:
        end = self.simulation.sim_now + timedelta(seconds=1)
        readings = self.store.history(equipment, signal, self.started_at, end)
        return [r for r in readings if isinstance(r, Reading)]

    def modbus_timelines(self) -> str:
        """Per Modbus machine, one character a poll (``.`` good, ``x`` comm fault, ``?``
        other) and the distinct reasons, for failure messages."""
        lines = []
        for eq in self.site.equipment:
            source = eq.source.modbus
            if source is None:
                continue
            signal = next(iter(self.site.register_maps[source.map].signals))
            history = self.history(eq.id, signal)
            marks = {Quality.GOOD: ".", Quality.COMM_FAULT: "x"}
            line = "".join(marks.get(r.quality, "?") for r in history)
            reasons = sorted({r.reason for r in history if r.reason})
            lines.append(f"{eq.id} {source.host}:{source.port} {line} {reasons[:4]}")
        return "\n".join(lines)


async def _until(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.005)


def site_on_free_ports(path: Path, timeout: str = "500ms") -> Site:
    """A site file with every Modbus gateway moved to a free port, and no retries so a hung
    gateway costs the test little real time. The timeout is the example site's own: at
    250 ms a busy CI machine made healthy gateways miss polls."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    moved: dict[int, int] = {}
    for eq in raw["equipment"]:
        source = eq["source"].get("modbus")
        if source is not None:
            source["port"] = moved.setdefault(source["port"], free_port())
            source.update(timeout=timeout, retries=0)
    return parse_site(raw, str(path), base=path.parent)


def _stored_at(store: TimeSeriesStore, equipment: list[str], ts: datetime) -> bool:
    latest = store.latest(equipment)
    newest: dict[str, datetime] = {}
    for (eq_id, _signal), reading in latest.items():
        newest[eq_id] = max(newest.get(eq_id, reading.ts), reading.ts)
    return all(eq_id in newest and newest[eq_id] >= ts for eq_id in equipment)


def _comm_fault_stored(store: TimeSeriesStore, eq_id: str) -> bool:
    return any(r.quality is Quality.COMM_FAULT for (e, _s), r in store.latest([eq_id]).items())


async def run_scenario(
    scenario: Scenario,
    site: Site,
    endpoint: MqttEndpoint,
    store: TimeSeriesStore,
    seed: int = 1,
    on_tick: Callable[[Simulation], None] | None = None,
) -> ScenarioRun:
    """Run ``scenario`` on ``site`` through ``endpoint`` into ``store``; return the run."""
    bound = bind(scenario, site, scenario.name)
    simulation = Simulation(
        site,
        endpoint,
        seed=seed,
        tick=scenario.tick.total_seconds(),
        start=scenario.starts_at(START, ZoneInfo(site.site.timezone)),
        scenario=scenario,
        control=False,
    )
    sink = ReadingSink(store)
    settings = MqttCollectorSettings(
        endpoint,
        client_id=f"plantroom-test-{scenario.name}",
        clean_session=True,
        stale_check_every=3600.0,  # the harness checks staleness itself, tick by tick
    )
    collector = MqttCollector(site, sink, settings, clock=simulation.clock)
    # polled by the harness right after each tick, so every poll sees that tick's registers
    modbus = ModbusCollector(site, sink, clock=simulation.clock)
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(sink.run(stop)), asyncio.ensure_future(collector.run(stop))]
    try:
        await asyncio.wait_for(collector.connected.wait(), WAIT_S)
        await simulation.start()
        assert simulation.mqtt is not None
        await simulation.mqtt.wait_online()
        ticks = math.ceil(scenario.duration / scenario.tick)
        for _ in range(ticks):
            done = len(simulation.applied)
            simulation.step()
            await asyncio.gather(*(modbus.poll(device) for device in modbus.devices.values()))
            speaking = [e for e in simulation.mqtt.clients if e not in simulation.mqtt.silent]
            speaking += list(modbus.devices)  # good or comm_fault, every poll stores readings
            now = simulation.sim_now
            await _until(partial(_stored_at, store, speaking, now), f"readings at {now}")
            for applied in simulation.applied[done:]:
                action = applied.action
                if action.inject == "comms_loss" and action.params.get("drop_connection", True):
                    eq_id = applied.equipment
                    await _until(partial(_comm_fault_stored, store, eq_id), f"{eq_id} offline")
            collector.check_stale()
            if on_tick is not None:
                on_tick(simulation)
        await sink.flush()
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        modbus.gateways.close()
        await simulation.stop()
    return ScenarioRun(scenario, site, store, simulation, bound, sink)


def _matches(expectation: Expectation, reading: Reading) -> bool:
    if expectation.quality is not None:
        return reading.quality is expectation.quality
    if reading.quality is not Quality.GOOD or reading.value is None:
        return False
    if expectation.value is not None:
        return reading.value == expectation.value
    if expectation.below is not None:
        return reading.value < expectation.below
    if expectation.above is not None:
        return reading.value > expectation.above
    raise AssertionError("not a point check")


def _changes(readings: list[Reading]) -> int:
    values = [r.value for r in readings if r.quality is Quality.GOOD]
    return sum(1 for a, b in itertools.pairwise(values) if a != b)


def check(run: ScenarioRun, resolved: Resolved) -> str | None:
    """None if the stored readings show ``resolved``'s expectation, else what was wrong."""
    expectation = resolved.source
    assert isinstance(expectation, Expectation)
    start = run.started_at + expectation.at
    end = start + expectation.within
    readings = run.history(resolved.equipment, expectation.signal)
    window = [r for r in readings if start <= r.ts <= end]
    label = (
        f"{resolved.equipment}.{expectation.signal} in [{expectation.at}, +{expectation.within}]"
    )
    if not window:
        return f"{label}: no readings stored in the window"
    shown = [(str(r.ts - run.started_at), r.value, r.quality.value) for r in window[:8]]
    if expectation.steady is not None:
        wrong = [
            r for r in window if r.quality is not Quality.GOOD or r.value != expectation.steady
        ]
        return f"{label}: not steady at {expectation.steady}: {shown}" if wrong else None
    if expectation.min_changes is not None:
        before = [r for r in readings if start - expectation.within <= r.ts < start]
        during, earlier = _changes(window), _changes(before)
        if during < expectation.min_changes or earlier >= expectation.min_changes:
            return (
                f"{label}: {during} changes (before: {earlier}), want >= {expectation.min_changes}"
            )
        return None
    if expectation.max_changes is not None:
        before = [r for r in readings if start - expectation.within <= r.ts < start]
        during, earlier = _changes(window), _changes(before)
        if during > expectation.max_changes or earlier <= expectation.max_changes:
            return (
                f"{label}: {during} changes (before: {earlier}), want <= {expectation.max_changes}"
            )
        return None
    previous = [r for r in readings if r.ts < start]
    if not previous:
        return f"{label}: no reading before the window to compare with"
    if _matches(expectation, previous[-1]):
        last = previous[-1]
        return f"{label}: already matched before the window ({last.value}, {last.quality.value})"
    if not any(_matches(expectation, r) for r in window):
        return f"{label}: nothing matched {expectation.model_dump(exclude_none=True)}: {shown}"
    return None


def failures(run: ScenarioRun) -> list[str]:
    """Every expectation of the run's scenario that the stored readings do not show."""
    out = []
    for resolved in run.bound:
        if isinstance(resolved.source, Expectation):
            problem = check(run, resolved)
            if problem is not None:
                out.append(problem)
    return out
