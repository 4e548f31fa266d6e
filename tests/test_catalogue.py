"""The signal catalogue: every kind's signals typed, with units and precision where they are
measurements, and point lists expanded into ordinary signals."""

from __future__ import annotations

from core.catalogue import SignalType, load_catalogue


def test_every_measurement_has_a_unit_and_a_precision() -> None:
    for kind in load_catalogue().kinds.values():
        for spec in kind.signals.values():
            if spec.type is SignalType.FLOAT:
                assert spec.unit and spec.precision is not None, (kind.kind, spec.name)
            assert spec.name_zh, (kind.kind, spec.name)


def test_the_fire_panels_alarm_points_are_slots_of_int_signals() -> None:
    panel = load_catalogue().kind("fire_panel")
    points = panel.point_lists["alarm_point"]
    assert points.slots == 8
    assert set(points.fields) == {"zone", "loop", "address", "device_type"}
    assert panel.signals["alarm_point_8_device_type"].type is SignalType.INT
    assert panel.signals["alarm_point_1_device_type"].label(3) == "手动报警按钮"
    two = [
        {"zone": 3, "loop": 1, "address": 17, "device_type": 1},
        {"zone": 4, "loop": 2, "address": 5, "device_type": 3},
    ]
    values = points.as_values(two)
    assert len(values) == 32 and values["alarm_point_2_zone"] == 4
    assert values["alarm_point_3_zone"] == 0
    assert points.entries({k: float(v) for k, v in values.items()}) == two


def test_the_new_kinds_have_their_design_signals() -> None:
    catalogue = load_catalogue()
    expected = {
        "flood_sensor": {"water_detected"},
        "power": {"mains_ok", "breaker_trip", "ats_position", "voltage_l1_v", "current_l3_a"},
        "generator": {"running", "auto_mode", "battery_v", "fuel_pct", "coolant_temp_c"},
        "energy_meter": {"energy_kwh", "volume_m3"},
    }
    for kind, signals in expected.items():
        assert signals <= set(catalogue.kind(kind).signals), kind
    assert catalogue.signal("energy_meter", "energy_kwh").type is SignalType.COUNTER
    assert catalogue.signal("power", "ats_position").label(2) == "备用电源"
