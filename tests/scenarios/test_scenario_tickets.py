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
from simulators.scenario import Step, library, load_scenario
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
    "sump_flood": ["sump_high", "flood"],  # the pit spills onto the pump-room floor
    "elevator_entrapment": ["entrapment"],
    "elevator_fault": ["elevator_fault"],
    "fire_alarm": [],  # an incident, not a ticket
    "fire_panel_power_fail": ["mains_fail", "battery_fail"],
    "comms_loss": ["comms_loss"],
    "comms_loss_modbus": ["comms_loss"],
    "gateway_down": ["gateway_down"],
    "flapping_level_switch": ["tank_low"],  # one flapping alert
    "fire_zone_spreading": [],  # incidents, not tickets
    "fire_lift_recall": [],  # recorded alerts of the lifts; their recall is not a fault
    "mains_failure": ["mains_failure"],  # the generator took the load: no building dark
    "generator_fail_to_start": ["mains_failure", "generator_fault", "not_on_standby"],
    "water_quality": ["turbidity_high", "chlorine_low"],
    "night_leak": ["night_flow"],
    "pump_changeover": ["pump_trip"],  # the standby took over
    "pump_changeover_failed": ["pump_trip", "failure_to_start", "changeover_failed"],
}
# machines a scenario does not touch but whose tickets it causes (the physics couples them)
ALSO_TICKETED: dict[str, set[str]] = {"sump_flood": {"flood-pump-room"}}


def _two_fire_incidents(run: ScenarioRun, engine: Engine) -> None:
    rules = sorted(i["rule_id"] for i in engine.rows(incidents))
    assert rules == ["fire_alarm", "fire_alarm_spreading"]


def _every_lift_recalled_and_recorded(run: ScenarioRun, engine: Engine) -> None:
    assert engine.service is not None
    lifts = [eq.id for eq in run.site.equipment if eq.kind == "elevator"]
    for lift in lifts:
        recall = engine.service.state("fire_recall", lift)
        assert recall.episode == 1 and recall.status == "resolved", lift
        # out of normal service while recalled: recorded, inhibited, paged nobody
        assert not engine.service.state("out_of_service", lift).paged, lift


def _changeover_on_the_duty_pump(run: ScenarioRun, engine: Engine) -> None:
    by_rule = {t["rule_id"]: t["equipment"] for t in engine.rows(tickets)}
    duty, standby = (eq.id for eq in run.site.equipment if eq.group == "booster-b1")
    assert by_rule == {"pump_trip": duty, "failure_to_start": standby, "changeover_failed": duty}


def _the_generator_took_the_load(run: ScenarioRun, engine: Engine) -> None:
    assert engine.service is not None
    assert engine.service.state("not_on_standby", "power-main").episode == 0


# what else a scenario must show in the records, beyond its tickets
EXTRA_CHECKS: dict[str, Callable[[ScenarioRun, Engine], None]] = {
    "fire_zone_spreading": _two_fire_incidents,
    "fire_lift_recall": _every_lift_recalled_and_recorded,
    "pump_changeover_failed": _changeover_on_the_duty_pump,
    "mains_failure": _the_generator_took_the_load,
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
    subjects = set(ALSO_TICKETED.get(name, set()))
    for resolved in run.bound:
        if isinstance(resolved.source, Step):
            machine = example_site.machine(resolved.equipment)
            subjects.add(machine.id)
            if machine.source.modbus is not None:
                modbus = machine.source.modbus
                subjects.add(f"gateway:{modbus.host}:{modbus.port}")
    assert {t["equipment"] for t in opened} <= subjects
    if name in EXTRA_CHECKS:
        EXTRA_CHECKS[name](run, engine)
    engine.records.close()
