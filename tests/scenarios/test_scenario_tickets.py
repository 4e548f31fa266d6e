"""The library scenarios end to end (simulator → mosquitto → collector → store), with the alert
engine stepping on the simulated clock after every tick: each fault becomes the right ticket.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from alerts.runner import AlertService
from core.endpoints import MqttEndpoint
from core.readings import Reading
from core.site import Site
from simulators.runner import Simulation
from simulators.scenario import library, load_scenario
from storage import RecordsDB, SqliteTimeSeriesStore, site_tags
from storage.tickets import incidents, outbox, tickets
from tests.scenarios.harness import ScenarioRun, failures, run_scenario
from tests.servers.mosquitto import Mosquitto


class Engine:
    """The alert engine on the scenario's clock; ``also`` runs before each step."""

    def __init__(self, records: RecordsDB, also: Callable[[Simulation], None] | None = None):
        self.records = records
        self.also = also
        self.service: AlertService | None = None

    def on_tick(self, simulation: Simulation) -> None:
        if self.service is None:
            self.service = AlertService(
                simulation.site, self.store, self.records, clock=simulation.clock
            )
        if self.also is not None:
            self.also(simulation)
        self.service.step()
        self.service.escalate()

    store: Any = None

    def rows(self, table: sa.Table) -> list[dict[str, Any]]:
        with self.records.engine.connect() as conn:
            query = sa.select(table).order_by(*table.primary_key.columns)
            return [dict(r) for r in conn.execute(query).mappings()]


async def run_with_engine(
    name: str,
    site: Site,
    broker: Mosquitto,
    tmp_path: Path,
    also: Callable[[Simulation], None] | None = None,
) -> tuple[ScenarioRun, Engine]:
    scenario = load_scenario(library()[name])
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", site_tags(site))
    engine = Engine(RecordsDB(f"sqlite:///{tmp_path / 'records.db'}"), also)
    engine.store = store
    try:
        run = await run_scenario(
            scenario, site, MqttEndpoint.parse(broker.url), store, on_tick=engine.on_tick
        )
        assert failures(run) == [], run.modbus_timelines()
    finally:
        store.close()
    return run, engine


def faulted(run: ScenarioRun) -> str:
    return run.bound[0].equipment


def aware(row: dict[str, Any], key: str) -> Any:
    value = row[key]
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


async def test_elevator_entrapment_opens_one_entrapment_ticket(
    broker: Mosquitto, example_site: Site, tmp_path: Path
) -> None:
    run, engine = await run_with_engine("elevator_entrapment", example_site, broker, tmp_path)
    lift = faulted(run)
    trapped = [t for t in engine.rows(tickets) if t["ticket_class"] == "entrapment"]
    assert len(trapped) == 1 and trapped[0]["equipment"] == lift
    ticket = trapped[0]
    fault_at = run.started_at + timedelta(seconds=60)
    # the fault is seen at the first tick after it is injected (tick: 5 s)
    start = aware(ticket, "respond_by") - timedelta(minutes=5)
    assert fault_at <= start <= fault_at + run.scenario.tick
    assert aware(ticket, "on_site_by") == start + timedelta(minutes=30)
    assert aware(ticket, "opened_at") >= start + timedelta(seconds=30)  # confirmed for 30 s
    engine.records.close()


async def test_pump_trip_in_inspection_mode_pages_nobody(
    broker: Mosquitto, example_site: Site, tmp_path: Path
) -> None:
    pump = "pump-domestic-1"

    def inspection(simulation: Simulation) -> None:
        # the pump's control panel reports inspection (检修) for the whole scenario
        now = simulation.sim_now
        assert engine_ref[0].store is not None
        engine_ref[0].store.write([Reading(pump, "inspection_mode", now, 1.0)])

    engine_ref: list[Engine] = []
    scenario = load_scenario(library()["pump_trip"])
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", site_tags(example_site))
    engine = Engine(RecordsDB(f"sqlite:///{tmp_path / 'records.db'}"), inspection)
    engine.store = store
    engine_ref.append(engine)
    try:
        run = await run_scenario(
            scenario, example_site, MqttEndpoint.parse(broker.url), store, on_tick=engine.on_tick
        )
        assert failures(run) == [], run.modbus_timelines()
    finally:
        store.close()
    assert faulted(run) == pump
    assert [t for t in engine.rows(tickets) if t["equipment"] == pump] == []
    assert engine.service is not None
    alert = engine.service.state("pump_trip", pump)
    assert alert.episode == 1 and alert.suppressed  # recorded, but paged nobody
    assert all(pump not in row["payload"] for row in engine.rows(outbox))
    engine.records.close()


async def test_flapping_level_switch_opens_at_most_one_ticket(
    broker: Mosquitto, example_site: Site, tmp_path: Path
) -> None:
    run, engine = await run_with_engine("flapping_level_switch", example_site, broker, tmp_path)
    tank = faulted(run)
    assert len([t for t in engine.rows(tickets) if t["equipment"] == tank]) <= 1
    assert engine.service is not None
    assert engine.service.state("tank_low", tank).flapping  # one flapping alert
    engine.records.close()


async def test_fire_alarm_is_an_incident_not_a_ticket(
    broker: Mosquitto, example_site: Site, tmp_path: Path
) -> None:
    run, engine = await run_with_engine("fire_alarm", example_site, broker, tmp_path)
    [incident] = engine.rows(incidents)
    assert incident["equipment"] == faulted(run) and incident["ended_at"] is not None
    assert [t for t in engine.rows(tickets) if t["equipment"] == faulted(run)] == []
    engine.records.close()


async def test_gateway_down_opens_one_comms_ticket_for_the_gateway(
    broker: Mosquitto, example_site: Site, tmp_path: Path
) -> None:
    run, engine = await run_with_engine("gateway_down", example_site, broker, tmp_path)
    sump = example_site.machine(faulted(run))
    assert sump.source.modbus is not None
    gateway = f"gateway:{sump.source.modbus.host}:{sump.source.modbus.port}"
    comms = [t for t in engine.rows(tickets) if t["ticket_class"] == "comms"]
    assert [t["equipment"] for t in comms] == [gateway]
    assert not comms[0]["fault_active"]  # power-cycled at 180 s: recovered
    engine.records.close()


# What the duty engineer should get from each library scenario: the rule of every ticket opened
# (for the machine the scenario faults, or its gateway), in order. Escalating faults that a
# person would also see as two problems stay two (a tank running high, then overflowing; a
# fire tank draining fast, then low); echoes of one fault are inhibited.
EXPECTED_TICKETS: dict[str, list[str]] = {
    "pump_trip": ["pump_trip"],
    "pump_dry_run": ["dry_running"],
    "pump_short_cycling": ["short_cycling"],
    "tank_overflow": ["tank_high", "tank_overflow"],
    "fire_tank_low": ["level_falling_fast", "fire_tank_low"],
    "sump_flood": ["sump_high"],
    "elevator_entrapment": ["entrapment"],
    "elevator_fault": ["elevator_fault"],
    "fire_alarm": [],  # an incident, not a ticket
    "fire_panel_power_fail": ["mains_fail", "battery_fail"],
    "comms_loss": ["comms_loss"],
    "comms_loss_modbus": ["comms_loss"],
    "gateway_down": ["gateway_down"],
    "flapping_level_switch": ["tank_low"],  # one flapping alert
}


def test_every_library_scenario_has_its_expected_tickets() -> None:
    assert sorted(EXPECTED_TICKETS) == sorted(library())


@pytest.mark.parametrize("name", sorted(EXPECTED_TICKETS))
async def test_scenario_tickets(
    name: str, broker: Mosquitto, example_site: Site, tmp_path: Path
) -> None:
    run, engine = await run_with_engine(name, example_site, broker, tmp_path)
    opened = engine.rows(tickets)
    assert [t["rule_id"] for t in opened] == EXPECTED_TICKETS[name], (
        [(t["equipment"], t["rule_id"]) for t in opened],
        run.modbus_timelines(),
    )
    faulted_machine = example_site.machine(faulted(run))
    subjects = {faulted_machine.id}
    if faulted_machine.source.modbus is not None:
        modbus = faulted_machine.source.modbus
        subjects.add(f"gateway:{modbus.host}:{modbus.port}")
    assert {t["equipment"] for t in opened} <= subjects
    engine.records.close()
