"""Every library scenario, end to end on the example site: simulated devices over a real
mosquitto and real pymodbus gateways, read by the real MQTT and Modbus collectors; the stored
readings show each fault and recovery at its scripted simulated time."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.endpoints import MqttEndpoint
from core.site import Site
from simulators.scenario import Expectation, library, load_scenario
from storage import SqliteTimeSeriesStore, site_tags
from tests.scenarios.harness import failures, run_scenario
from tests.servers.mosquitto import Mosquitto


@pytest.mark.parametrize("name", sorted(library()))
async def test_scenario_end_to_end(
    name: str, broker: Mosquitto, example_site: Site, tmp_path: Path
) -> None:
    scenario = load_scenario(library()[name])
    assert scenario.expect, f"{name} has no expectations to prove it"
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", site_tags(example_site))
    try:
        run = await run_scenario(scenario, example_site, MqttEndpoint.parse(broker.url), store)
        assert failures(run) == [], run.modbus_timelines()
    finally:
        store.close()


async def test_the_harness_reports_a_fault_that_is_not_at_its_scripted_time(
    broker: Mosquitto, example_site: Site, tmp_path: Path
) -> None:
    scenario = load_scenario(library()["pump_trip"])
    pump = {"select": {"kind": "pump", "role": "domestic"}}
    wrong = scenario.model_copy(
        update={
            "expect": [
                Expectation.model_validate(raw)
                for raw in (
                    {"at": "120s", "within": "10s", **pump, "signal": "fault", "value": 1},
                    {"at": "30s", "within": "20s", **pump, "signal": "fault", "value": 1},
                    {"at": "60s", "within": "10s", **pump, "signal": "fault_code", "value": 13},
                )
            ]
        }
    )
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", site_tags(example_site))
    try:
        run = await run_scenario(wrong, example_site, MqttEndpoint.parse(broker.url), store)
        problems = failures(run)
    finally:
        store.close()
    assert len(problems) == 3, problems
    # sorted by time: too early (30 s), wrong code (60 s), too late (120 s)
    assert "nothing matched" in problems[0] and "nothing matched" in problems[1]
    assert "already matched before the window" in problems[2]
