"""The simulated physics holds: tanks stay within their walls and follow their pumps, lifts
never move with open doors, counters only count up, faults do what they say."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.site import Equipment, Site, load_site
from simulators.models import (
    ELEVATOR_FAULTS,
    PUMP_FAULTS,
    TANK_FAULTS,
    ElevatorModel,
    FaultError,
    FirePanelModel,
    Plant,
    PumpModel,
    TankModel,
)

SITE = load_site(Path(__file__).resolve().parent / "sites" / "sim-mqtt.yaml")


def machine(eq_id: str) -> Equipment:
    return SITE.machine(eq_id)


FAULT_PARAMS: dict[str, dict[str, object]] = {
    "inlet_stuck_open": {"flow_m3h": 500.0},
    "leak": {"rate_m3h": 500.0},
    "flood": {"inflow_m3h": 500.0},
    "refill": {"flow_m3h": 500.0},
    "flapping_switch": {"switch": "low_level", "period": 3},
    "short_cycle": {"on_s": 5, "off_s": 5},
    "manual": {"running": True},
}

# one event: (seconds to step, fault to toggle or None)
events = st.lists(
    st.tuples(st.floats(0.1, 900.0), st.one_of(st.none(), st.integers(0, 100))), max_size=40
)


def toggle(model: TankModel | PumpModel | ElevatorModel, names: list[str], pick: int) -> None:
    fault = names[pick % len(names)]
    if fault in model.faults:
        model.clear(fault)
    else:
        model.inject(fault, **FAULT_PARAMS.get(fault, {}))  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    steps=events,
    tank_id=st.sampled_from(["tank-domestic", "tank-fire", "tank-sump"]),
)
def test_a_tank_never_goes_below_empty_or_above_full(
    seed: int, steps: list[tuple[float, int | None]], tank_id: str
) -> None:
    plant = Plant(SITE, seed)
    tank = plant.tanks[tank_id]
    for dt, pick in steps:
        if pick is not None:
            toggle(tank, sorted(TANK_FAULTS), pick)
        plant.step(dt, hour_of_day=(pick or 0) % 24)
        values = tank.values()
        assert 0.0 <= tank.level_m <= tank.height
        assert 0.0 <= float(values["level_pct"]) <= 100.0


@pytest.mark.parametrize("hour", [3.0, 8.0, 19.5])
def test_levels_move_the_way_the_pumps_push_them(hour: float) -> None:
    plant = Plant(SITE, 7)
    fill = plant.pumps["pump-domestic-1"]
    tank = plant.tanks["tank-domestic"]
    fill.inject("manual", running=True)  # 24 m³/h in, more than any demand
    tank.level_m = 0.5
    levels = []
    for _ in range(30):
        plant.step(10, hour)
        levels.append(tank.level_m)
    assert all(b >= a for a, b in itertools.pairwise(levels))
    assert levels[-1] > 0.5
    fill.inject("manual", running=False)  # only demand draws on it now
    before = tank.level_m
    plant.step(600, hour)
    assert tank.level_m < before

    sump = plant.tanks["tank-sump"]
    sump_pump = plant.pumps["pump-sump-1"]
    sump.level_m = 1.8  # above the start mark: the sump pump empties it
    plant.step(60, hour)
    assert sump_pump.running and sump.level_m < 1.8
    sump_pump.inject("trip")  # a tripped sump pump lets seepage fill the pit
    level = sump.level_m
    plant.step(600, hour)
    assert not sump_pump.running and sump.level_m > level


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), steps=events, demand=st.lists(st.booleans(), max_size=40))
def test_pump_counters_only_count_up_and_a_faulted_pump_stands_still(
    seed: int, steps: list[tuple[float, int | None]], demand: list[bool]
) -> None:
    pump = PumpModel(machine("pump-domestic-1"), random.Random(seed))
    starts, hours = pump.starts, pump.run_hours
    for i, (dt, pick) in enumerate(steps):
        pump.demanded = demand[i] if i < len(demand) else True
        if pick is not None:
            toggle(pump, sorted(PUMP_FAULTS), pick)
        pump.step(dt)
        values = pump.values()
        assert pump.starts >= starts and pump.run_hours >= hours
        starts, hours = pump.starts, pump.run_hours
        if values["fault"]:
            assert not values["running"]
        assert float(values["outlet_pressure_mpa"]) >= 0.0
        assert 0.0 <= float(values["frequency_hz"]) <= 50.0


def test_pump_faults_show_as_their_signals() -> None:
    pump = PumpModel(machine("pump-domestic-1"), random.Random(1))
    pump.demanded = True
    pump.step(20)
    assert pump.values()["running"] and float(pump.values()["outlet_pressure_mpa"]) > 0.4
    pump.inject("dry_run")
    pump.step(20)
    dry = pump.values()
    assert dry["running"] and float(dry["outlet_pressure_mpa"]) < 0.05
    assert float(dry["current_a"]) < 8
    pump.clear("dry_run")
    pump.inject("trip", code=7)
    pump.step(1)
    assert pump.values()["fault"] and pump.values()["fault_code"] == 7
    assert not pump.values()["running"]
    pump.clear("trip")
    pump.step(1)
    assert pump.values()["fault_code"] == 0 and pump.values()["running"]
    starts = pump.starts
    pump.inject("short_cycle", on_s=10, off_s=10)
    for _ in range(12):
        pump.step(5)
    assert pump.starts - starts >= 2
    pump.clear("short_cycle")
    pump.demanded = False
    pump.step(1)
    pump.inject("fail_to_start", after=10)
    pump.demanded = True
    pump.step(5)
    assert not pump.values()["running"] and not pump.values()["fault"]
    pump.step(6)
    assert pump.values()["fault"] and pump.values()["fault_code"] == 31


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), steps=events)
def test_a_lift_never_moves_with_its_doors_open(
    seed: int, steps: list[tuple[float, int | None]]
) -> None:
    lift = ElevatorModel(machine("lift-b2-1"), random.Random(seed))
    for dt, pick in steps:
        if pick is not None:
            toggle(lift, sorted(ELEVATOR_FAULTS), pick)
        for _ in range(4):
            lift.step(dt / 4, hour_of_day=8.0)
            values = lift.values()
            assert not (values["moving"] and values["door_open"])
            assert not values["door_open"] or values["door_zone"]
            assert 1 <= int(values["floor"]) <= lift.floors
            if values["alarm_button"]:
                assert not values["door_zone"] and not values["door_open"]


def test_a_lift_travels_between_floors_at_the_morning_peak() -> None:
    lift = ElevatorModel(machine("lift-b2-1"), random.Random(3))
    floors, opened = set(), 0
    was_open = False
    for _ in range(1800):
        lift.step(1.0, hour_of_day=8.0)
        floors.add(lift.values()["floor"])
        if lift.door_open and not was_open:
            opened += 1
        was_open = lift.door_open
    assert len(floors) > 5 and opened > 10


def test_entrapment_and_its_rescue() -> None:
    lift = ElevatorModel(machine("lift-b1-1"), random.Random(5))
    lift.step(300, 8.0)
    lift.inject("entrapment")
    for _ in range(60):
        lift.step(5, 8.0)
        values = lift.values()
        assert values["alarm_button"] and values["car_occupied"] and not values["in_service"]
        assert not values["door_zone"] and not values["door_open"] and not values["moving"]
    lift.clear("entrapment")
    values = lift.values()
    assert values["door_zone"] and values["door_open"] and not values["alarm_button"]
    assert values["in_service"]


def test_fire_panel_alarm_silence_reset_and_battery() -> None:
    panel = FirePanelModel(machine("firepanel-1"), random.Random(1))
    with pytest.raises(FaultError, match="nothing to silence"):
        panel.inject("silence")
    panel.inject("fire_alarm", zone=3)
    panel.inject("silence")
    assert panel.values()["fire_alarm"] and panel.values()["alarm_zone"] == 3
    assert panel.values()["silenced"]
    panel.clear("fire_alarm")  # reset
    assert not panel.values()["silenced"] and panel.values()["alarm_zone"] == 0
    with pytest.raises(FaultError, match="zone"):
        panel.inject("fire_alarm", zone=99)
    panel.inject("mains_fail", battery_hours=1)
    panel.step(2500)  # a one-hour battery falls below 20 % after 48 minutes
    assert panel.values()["mains_fail"] and not panel.values()["battery_fail"]
    panel.step(500)
    assert panel.values()["battery_fail"] and panel.values()["fault"]
    panel.clear("mains_fail")
    panel.step(600)
    assert not panel.values()["battery_fail"] and not panel.values()["fault"]


def test_unknown_faults_and_parameters_are_refused_with_the_machine_named() -> None:
    plant = Plant(SITE, 1)
    with pytest.raises(FaultError, match="pump-domestic-1: pump has no fault 'explode'"):
        plant.inject("pump-domestic-1", "explode")
    with pytest.raises(FaultError, match="no parameter on"):
        plant.inject("pump-domestic-1", "short_cycle", on=5)
    with pytest.raises(FaultError, match="must be a number"):
        plant.inject("pump-domestic-1", "trip", code="twelve")
    with pytest.raises(FaultError, match="no simulated machine 'nope'"):
        plant.inject("nope", "trip")


def test_same_seed_same_plant_other_seed_other_plant() -> None:
    def run(seed: int, site: Site = SITE) -> list[object]:
        plant = Plant(site, seed)
        out: list[object] = []
        for _ in range(50):
            plant.step(5, 8.0)
            out.append(plant.values())
        return out

    assert run(1) == run(1)
    assert run(1) != run(2)
    plant = Plant(SITE, 1)
    plant.step(5, 8.0)
    assert plant.values() == plant.values()  # reading the values changes nothing


def test_a_scenario_step_the_model_refuses_is_logged_and_the_run_goes_on() -> None:
    from simulators.runner import Simulation
    from simulators.scenario import parse_scenario

    scenario = parse_scenario(
        {
            "name": "odd",
            "description": "silence a panel that is not in alarm, then trip a pump",
            "duration": "1m",
            "steps": [
                {"at": "5s", "select": {"kind": "fire_panel"}, "inject": "silence"},
                {"at": "10s", "equipment": "pump-domestic-1", "inject": "trip"},
            ],
        }
    )
    simulation = Simulation(SITE, None, tick=5, scenario=scenario)
    for _ in range(3):
        simulation.step()
    assert simulation.refused == ["0:00:05: firepanel-1: nothing to silence (no fire alarm)"]
    assert simulation.plant.pumps["pump-domestic-1"].values()["fault"]


EXAMPLE = load_site(Path(__file__).resolve().parent.parent / "examples" / "site.yaml")
NEW_FAULT_PARAMS: dict[str, dict[str, object]] = {
    "water_quality": {"turbidity_ntu": 2.0, "free_chlorine_mg_l": 0.01},
    "undervoltage": {"voltage_v": 180},
    "low_fuel": {"fuel_pct": 20},
    "battery_low": {"battery_v": 22.0},
    "overheat": {"coolant_temp_c": 110},
    "leak": {"flow_m3h": 3.0},
}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), steps=events)
def test_every_model_speaks_its_catalogue_and_counters_only_count_up(
    seed: int, steps: list[tuple[float, int | None]]
) -> None:
    """The whole example plant (every kind) under random faults: every value a model reports
    is a signal of its kind that the catalogue accepts, and no counter goes down."""
    from core.catalogue import SignalType, load_catalogue
    from simulators.models import MODEL_FAULTS

    catalogue = load_catalogue()
    plant = Plant(EXAMPLE, seed)
    counters: dict[tuple[str, str], float] = {}
    for dt, pick in steps:
        if pick is not None:
            eq = EXAMPLE.equipment[pick % len(EXAMPLE.equipment)]
            names = sorted(MODEL_FAULTS[eq.kind])
            fault = names[pick % len(names)]
            model = plant.models[eq.id]
            params = {**FAULT_PARAMS, **NEW_FAULT_PARAMS}.get(fault, {})
            try:
                if fault in model.faults:  # type: ignore[attr-defined]
                    model.clear(fault)
                else:
                    model.inject(fault, **params)
            except FaultError:
                pass  # e.g. silencing a panel that is not in alarm
        plant.step(min(dt, 120.0), hour_of_day=(pick or 0) % 24)
        for eq_id, values in plant.values().items():
            kind = catalogue.kind(EXAMPLE.machine(eq_id).kind)
            for name, value in values.items():
                spec = kind.signals[name]
                spec.coerce(value)
                if spec.type is SignalType.COUNTER:
                    assert float(value) >= counters.get((eq_id, name), 0.0) - 1e-6
                    counters[(eq_id, name)] = float(value)


def test_mains_failure_starts_the_generator_and_transfers_and_back() -> None:
    plant = Plant(EXAMPLE, 1)
    power, genset = plant.models["power-main"], plant.models["genset-1"]
    plant.step(10, 20.0)
    assert power.values()["ats_position"] == 1 and not genset.values()["running"]
    plant.inject("power-main", "mains_fail")
    plant.step(2, 20.0)
    assert power.values()["voltage_l1_v"] == 0.0  # dark while the engine cranks
    plant.step(10, 20.0)
    assert genset.values()["running"] and power.values()["ats_position"] == 2
    assert float(genset.values()["load_kw"]) > 50
    plant.clear("power-main", "mains_fail")
    plant.step(20, 20.0)
    assert power.values()["ats_position"] == 2  # the mains must hold for 30 s first
    plant.step(15, 20.0)
    assert power.values()["ats_position"] == 1 and not genset.values()["running"]


def test_a_generator_that_will_not_fire_gives_up_after_three_attempts() -> None:
    plant = Plant(EXAMPLE, 1)
    plant.inject("genset-1", "fail_to_start")
    plant.inject("power-main", "mains_fail")
    plant.step(25, 3.0)
    assert not plant.models["genset-1"].values()["fault"]  # still cranking
    plant.step(10, 3.0)
    values = plant.models["genset-1"].values()
    assert values["fault"] and values["fault_code"] == 1 and not values["running"]
    assert plant.models["power-main"].values()["ats_position"] == 1  # still on dead mains


def test_the_standby_takes_over_only_after_the_changeover_time() -> None:
    plant = Plant(EXAMPLE, 1)
    duty, standby = plant.pumps["pump-booster-1"], plant.pumps["pump-booster-2"]
    plant.step(10, 8.0)
    assert duty.values()["duty"] and standby.values()["standby"]
    assert duty.running and not standby.running
    duty.inject("trip")
    plant.step(3, 8.0)
    assert not duty.running and not standby.running  # changeover_s is 5 s
    plant.step(3, 8.0)
    assert standby.running
    duty.clear("trip")
    plant.step(2, 8.0)
    assert duty.running and not standby.running
