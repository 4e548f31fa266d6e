"""``plantroom simulate`` and ``plantroom inject``: run the simulated plant of a site, and
inject faults into it by hand while it runs."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from core.clock import SystemClock
from core.endpoints import MqttEndpoint
from core.site import load_site
from plantroom.broker import EmbeddedBroker
from plantroom.listen import check_free
from plantroom.processes import run_tasks
from plantroom.settings import Settings
from simulators.control import send_command
from simulators.runner import Simulation
from simulators.scenario import find_scenario, library, load_scenario


def scenario_list() -> str:
    lines = []
    for name, path in sorted(library().items()):
        lines.append(f"{name:<24} {' '.join(load_scenario(path).description.split())}")
    return "\n".join(lines)


async def simulate(
    site_path: Path,
    scenario_name: str | None,
    speed: float,
    seed: int,
    tick: float,
    duration: float | None,
) -> None:
    """Simulate every machine of the site until Ctrl-C, ``duration`` seconds, or the end of
    the scenario (in simulated time)."""
    site = load_site(site_path)
    scenario = find_scenario(scenario_name) if scenario_name else None
    settings = Settings.from_env()
    endpoint = MqttEndpoint.parse(settings.mqtt_url)
    broker: EmbeddedBroker | None = None
    if endpoint.embedded:
        broker = EmbeddedBroker(endpoint.port or None, endpoint.host)
        await broker.start()
        endpoint = endpoint.with_port(broker.port)
    # a scenario that needs a time of day (a night-time leak) runs on simulated time from then
    start = None
    if scenario is not None and scenario.start is not None:
        start = scenario.starts_at(SystemClock().now(), ZoneInfo(site.site.timezone))
    try:
        simulation = Simulation(
            site, endpoint, seed=seed, speed=speed, tick=tick, scenario=scenario, start=start
        )
        gateways = simulation.modbus.servers if simulation.modbus else []
        for server in gateways:  # a busy port: one clear line, before the banner
            where = f"{server.framing}://{server.host}:{server.port}"
            check_free(server.host, server.port, f"the simulated Modbus gateway {where}")
    except BaseException:
        if broker is not None:
            await broker.stop()
        raise
    stop = asyncio.Event()
    print(f"simulating site {site.site.id} ({site.site.name}) at {speed:g}x, seed {seed}")
    print(f"  MQTT broker:    {endpoint.redacted()}{' (embedded)' if broker else ''}")
    for server in gateways:
        print(f"  Modbus gateway: {server.framing}://{server.host}:{server.port} (simulated)")
    print(
        f"  inject faults:  PLANTROOM_MQTT_URL={endpoint.redacted()} plantroom inject "
        f"--site {site_path} EQUIPMENT FAULT [--param K=V]",
        flush=True,
    )
    if scenario is not None:
        print(f"  scenario {scenario.name}: {len(scenario.steps)} steps over {scenario.duration}")

    async def watch_scenario(stop: asyncio.Event) -> None:
        while scenario is not None and not stop.is_set():
            if timedelta(seconds=simulation.elapsed) >= scenario.duration:
                print(f"scenario {scenario.name} finished")
                return  # one task ending stops the others
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
        await stop.wait()

    try:
        await run_tasks([simulation.run, watch_scenario], stop, duration)
    finally:
        if broker is not None:
            await broker.stop()


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs, each value read as a YAML scalar (``12``, ``true``, ``low_level``)."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param wants KEY=VALUE, got {pair!r}")
        params[key] = yaml.safe_load(raw)
    return params


def inject(
    site_path: Path, equipment: str, fault: str, clear: bool, pairs: list[str], timeout: float
) -> tuple[int, str]:
    """Send one inject/clear command to a running simulation; (exit code, message)."""
    site = load_site(site_path)
    endpoint = MqttEndpoint.parse(Settings.from_env().mqtt_url)
    if endpoint.embedded:
        return 2, "set PLANTROOM_MQTT_URL to the broker the simulation uses (mqtt://host:port)"
    try:
        params = parse_params(pairs)
    except ValueError as err:
        return 2, str(err)
    command: dict[str, Any] = {"equipment": equipment}
    command.update({"clear": fault} if clear else {"inject": fault, "params": params})
    try:
        answer = send_command(endpoint, site.site.id, command, timeout)
    except TimeoutError as err:
        return 1, str(err)
    if answer.get("ok"):
        verb = "cleared" if clear else "injected"
        return 0, f"{verb} {fault} on {answer.get('equipment', equipment)}"
    return 1, f"refused: {answer.get('error')}"
