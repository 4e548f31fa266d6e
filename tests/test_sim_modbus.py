"""The simulation serves the site's Modbus machines, and link faults show as comm faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.modbus import ModbusCollector
from collectors.sink import ReadingSink
from core.readings import Quality
from simulators.runner import Simulation
from simulators.scenario import Action, ScenarioError
from storage import SqliteTimeSeriesStore, site_tags
from tests.scenarios.harness import START, site_on_free_ports

EXAMPLE_SITE = Path(__file__).resolve().parent.parent / "examples" / "site.yaml"


async def test_a_dead_unit_behind_a_tcp_gateway_is_a_comm_fault_alone(tmp_path: Path) -> None:
    site = site_on_free_ports(EXAMPLE_SITE)
    simulation = Simulation(site, None, tick=5, start=START)
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", site_tags(site))
    collector = ModbusCollector(site, ReadingSink(store), clock=simulation.clock)
    await simulation.start()
    try:
        assert simulation.modbus is not None
        assert set(simulation.modbus.machines) == set(collector.devices)

        async def poll(eq_id: str) -> dict[str, Quality]:
            readings = await collector.poll(collector.devices[eq_id])
            return {r.signal: r.quality for r in readings}

        simulation.step()
        assert set((await poll("firepanel-1")).values()) == {Quality.GOOD}
        simulation.apply(Action(equipment="firepanel-1", inject="comms_loss"))
        simulation.step()
        assert set((await poll("firepanel-1")).values()) == {Quality.COMM_FAULT}
        assert set((await poll("lift-b2-1")).values()) == {Quality.GOOD}
        simulation.apply(Action(equipment="firepanel-1", clear="comms_loss"))
        simulation.step()
        assert set((await poll("firepanel-1")).values()) == {Quality.GOOD}
        with pytest.raises(ScenarioError, match="pump pump-sump-1 has no fault 'fire_alarm'"):
            simulation.apply(Action(equipment="pump-sump-1", inject="fire_alarm"))
    finally:
        collector.gateways.close()
        await simulation.stop()
        store.close()
