"""The shipped register maps and the example site's Modbus machines, served and read back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from collectors.modbus import ModbusCollector
from collectors.sink import ReadingSink
from core.readings import Quality
from core.site import Site, SiteError, load_site, parse_site
from simulators.modbus_devices import ModbusDevices
from simulators.models import Plant
from storage import SqliteTimeSeriesStore, site_tags
from tests.servers.ports import free_port

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example_site_on_free_ports() -> Site:
    """The example site with every Modbus gateway moved to a free port (never 1502x)."""
    raw = yaml.safe_load((EXAMPLES / "site.yaml").read_text(encoding="utf-8"))
    moved: dict[int, int] = {}
    for eq in raw["equipment"]:
        modbus = eq["source"].get("modbus")
        if modbus is not None:
            modbus["port"] = moved.setdefault(modbus["port"], free_port())
    return parse_site(raw, "site.yaml", base=EXAMPLES)


def test_example_maps_are_all_used_and_gateways_are_shared() -> None:
    site = example_site_on_free_ports()
    used = {eq.source.modbus.map for eq in site.equipment if eq.source.modbus is not None}
    assert (
        used
        == set(site.register_maps)
        == {
            "pump-vfd",
            "level-transmitter",
            "elevator-gateway",
            "fire-panel-gateway",
            "generator-controller",
            "energy-meter",
        }
    )
    sump, pump = site.machine("sump-b1").source.modbus, site.machine("pump-sump-1").source.modbus
    assert sump is not None and pump is not None
    assert (sump.host, sump.port) == (pump.host, pump.port) and sump.unit_id != pump.unit_id


async def test_example_machines_are_served_and_read_good(tmp_path: Path) -> None:
    site = example_site_on_free_ports()
    devices = ModbusDevices(site)
    plant = Plant(site, seed=3)
    plant.step(1.0, 8.0)
    await devices.start(plant.values())
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", site_tags(site))
    collector = ModbusCollector(site, ReadingSink(store))
    try:
        assert set(collector.devices) == {
            "lift-b2-1",
            "firepanel-1",
            "sump-b1",
            "pump-sump-1",
            "genset-1",
            "meter-power-main",
        }
        assert len(collector.gateways) == 4
        for eq_id, device in collector.devices.items():
            readings = {r.signal: r for r in await collector.poll(device)}
            assert {r.quality for r in readings.values()} == {Quality.GOOD}, (eq_id, readings)
            expected = plant.values().get(eq_id)
            if expected is not None:
                for name in ("level_m", "frequency_hz", "outlet_pressure_mpa", "running"):
                    if name in readings:
                        assert readings[name].value == pytest.approx(
                            float(expected[name]), abs=0.01
                        )
        lift = {r.signal: r.value for r in await collector.poll(collector.devices["lift-b2-1"])}
        modelled = plant.values()["lift-b2-1"]  # the lift is modelled now, not static
        assert lift["in_service"] == 1.0
        assert lift["machine_room_temp_c"] == pytest.approx(modelled["machine_room_temp_c"], 1e-5)
    finally:
        collector.gateways.close()
        store.close()
        await devices.stop()


def test_errors_in_an_included_map_name_the_map_file(tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    (tmp_path / "site.yaml").write_text((EXAMPLES / "site.yaml").read_text(encoding="utf-8"))
    for path in (EXAMPLES / "maps").glob("*.yaml"):
        (tmp_path / "maps" / path.name).write_text(path.read_text(encoding="utf-8"))
    level = tmp_path / "maps" / "level-transmitter.yaml"
    level.write_text(level.read_text().replace("order: CDAB, count: 2}", "order: CDAB, count: 1}"))
    with pytest.raises(SiteError) as caught:
        load_site(tmp_path / "site.yaml")
    assert caught.value.errors[0] == (
        "register_maps.level-transmitter.signals.level_m.count: float32 takes 2 register(s), "
        "the map gives 1 (in maps/level-transmitter.yaml)"
    )
