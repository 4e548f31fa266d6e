"""Scenario files: the library loads and binds, and mistakes are reported with their paths."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.site import Site, load_site
from simulators.chaos import chaos_scenario
from simulators.scenario import (
    ScenarioError,
    Step,
    bind,
    library,
    load_scenario,
    parse_scenario,
)

SITE = load_site(Path(__file__).resolve().parent / "sites" / "sim-mqtt.yaml")
REQUIRED = {
    "pump_trip",
    "pump_dry_run",
    "pump_short_cycling",
    "tank_overflow",
    "fire_tank_low",
    "sump_flood",
    "elevator_entrapment",
    "elevator_fault",
    "fire_alarm",
    "fire_panel_power_fail",
    "comms_loss",
    "gateway_down",
    "flapping_level_switch",
    # issue 16: the plant room's other machines
    "fire_zone_spreading",
    "fire_lift_recall",
    "mains_failure",
    "generator_fail_to_start",
    "water_quality",
    "night_leak",
    "pump_changeover",
    "pump_changeover_failed",
}
# these need machines the small MQTT-only test site does not have
EXAMPLE_SITE_ONLY = {
    "gateway_down",
    "comms_loss_modbus",
    "sump_flood",
    "fire_lift_recall",
    "mains_failure",
    "generator_fail_to_start",
    "night_leak",
    "pump_changeover",
    "pump_changeover_failed",
}


def test_the_library_has_every_required_scenario_and_each_binds(site: Site) -> None:
    assert set(library()) >= REQUIRED
    for name, path in library().items():
        scenario = load_scenario(path)
        assert scenario.name == name
        assert bind(scenario, site, name)  # the example site has every kind and transport
        if name not in EXAMPLE_SITE_ONLY:
            assert bind(scenario, SITE, name)


def test_every_mistake_is_reported_with_its_path() -> None:
    raw = {
        "name": "broken",
        "description": "x",
        "duration": "5m",
        "steps": [
            {"at": "10s", "equipment": "pump-domestic-1"},
            {"at": "soon", "equipment": "pump-domestic-1", "inject": "trip"},
            {"at": "10m", "equipment": "pump-domestic-1", "inject": "trip"},
            {"at": "1s", "inject": "trip", "colour": "red"},
        ],
    }
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw, "broken.yaml")
    text = "\n".join(err.value.errors)
    assert "steps[0]: Value error, give exactly one of inject or clear" in text
    assert "steps[1].at: Value error, not a duration: 'soon'" in text
    assert "steps[3].colour: Extra inputs are not permitted" in text


def test_binding_names_the_step_that_does_not_fit_the_site() -> None:
    raw = {
        "name": "misfit",
        "description": "x",
        "duration": "5m",
        "steps": [
            {"at": "10s", "equipment": "pump-nope", "inject": "trip"},
            {"at": "10s", "select": {"kind": "pump", "role": "booster"}, "inject": "trip"},
            {"at": "20s", "equipment": "lift-b1-1", "inject": "trip"},
            {"at": "30s", "equipment": "pump-fire-1", "inject": "trip", "params": {"cod": 1}},
            {"at": "40s", "equipment": "tank-fire", "inject": "gateway_down"},
        ],
    }
    with pytest.raises(ScenarioError) as err:
        bind(parse_scenario(raw), SITE, "misfit.yaml")
    errors = err.value.errors
    assert errors[0] == "steps[0]: unknown equipment 'pump-nope'"
    assert errors[1] == "steps[1]: no machine with kind=pump, role=booster in site lakeside"
    assert errors[2].startswith("steps[2]: elevator lift-b1-1 has no fault 'trip'")
    assert errors[3].startswith("steps[3].params: fault 'trip' has no parameter cod")
    assert errors[4] == "steps[4]: gateway_down needs a Modbus machine, tank-fire uses MQTT"


def test_yaml_errors_are_reported_for_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("steps: [", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(path)


def test_the_demo_chaos_schedule_faults_one_machine_at_a_time_and_clears_it(site: Site) -> None:
    scenario = chaos_scenario(site, seed=1, horizon=timedelta(hours=6))
    bound = bind(scenario, site, "chaos")
    assert len(bound) >= 2 * 6 * 60 // 8  # one fault every two to five minutes, then cleared
    open_fault: tuple[str, str] | None = None
    for resolved in bound:
        step = resolved.source
        assert isinstance(step, Step)
        if step.inject:
            assert open_fault is None
            open_fault = (resolved.equipment, step.inject)
        else:
            assert open_fault == (resolved.equipment, step.clear)
            open_fault = None
    kinds = {site.machine(r.equipment).kind for r in bound}
    assert kinds == {eq.kind for eq in site.equipment}  # every kind of the example site
    assert chaos_scenario(site, seed=1) == chaos_scenario(site, seed=1)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
step_keys = st.sampled_from(["at", "equipment", "select", "inject", "clear", "params", "x"])


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(st.dictionaries(step_keys, json_values, max_size=5), max_size=4),
    duration=json_values,
)
def test_any_document_is_a_scenario_or_a_scenario_error(
    steps: list[dict[str, object]], duration: object
) -> None:
    raw = {"name": "fuzz", "description": "x", "duration": duration, "steps": steps}
    try:
        scenario = parse_scenario(raw)
    except ScenarioError as err:
        assert err.errors and all(": " in line for line in err.errors)
        return
    try:
        bind(scenario, SITE)
    except ScenarioError as err:
        assert all(line.startswith("steps[") for line in err.errors)
