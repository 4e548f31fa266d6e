"""Every library scenario, end to end through a real mosquitto and the real MQTT collector:
the stored readings show each fault and recovery at its scripted simulated time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.endpoints import MqttEndpoint
from core.site import Site, load_site
from simulators.scenario import Expectation, library, load_scenario
from storage import SqliteTimeSeriesStore, site_tags
from tests.scenarios.harness import failures, run_scenario
from tests.servers.mosquitto import Mosquitto, start_mosquitto

SITES = Path(__file__).resolve().parent.parent / "sites"
MQTT_SCENARIOS = sorted(name for name in library() if name != "gateway_down")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    server = start_mosquitto(tmp_path_factory.mktemp("mosquitto"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mqtt_site() -> Site:
    return load_site(SITES / "sim-mqtt.yaml")


@pytest.mark.parametrize("name", MQTT_SCENARIOS)
async def test_scenario_end_to_end(
    name: str, broker: Mosquitto, mqtt_site: Site, tmp_path: Path
) -> None:
    scenario = load_scenario(library()[name])
    assert scenario.expect, f"{name} has no expectations to prove it"
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", site_tags(mqtt_site))
    try:
        run = await run_scenario(scenario, mqtt_site, MqttEndpoint.parse(broker.url), store)
        assert failures(run) == []
    finally:
        store.close()


async def test_the_harness_reports_a_fault_that_is_not_at_its_scripted_time(
    broker: Mosquitto, mqtt_site: Site, tmp_path: Path
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
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", site_tags(mqtt_site))
    try:
        run = await run_scenario(wrong, mqtt_site, MqttEndpoint.parse(broker.url), store)
        problems = failures(run)
    finally:
        store.close()
    assert len(problems) == 3, problems
    # sorted by time: too early (30 s), wrong code (60 s), too late (120 s)
    assert "nothing matched" in problems[0] and "nothing matched" in problems[1]
    assert "already matched before the window" in problems[2]
