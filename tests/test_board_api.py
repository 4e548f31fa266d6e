"""The board's snapshot (issue 15): every machine by building with its state, key value and
the age of its last reading; held-back alarms folded under their cause; fire zone and points;
gateway tickets named for people; silencing recorded with who and when. Alerts and tickets
come from the real alert engine on a real records DB (tests/alerts/rig.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import ApiContext, create_app
from api.board_view import machine_state, machine_tiles
from core.catalogue import load_catalogue
from core.readings import Quality, Reading
from core.site import load_site
from storage.api_keys import Role
from tests.alerts.rig import Rig
from tests.api_support import auth, new_key


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path, f"sqlite:///{tmp_path / 'records.db'}")
    r.tick()
    yield r
    r.close()


@pytest.fixture
def client(rig: Rig) -> Iterator[TestClient]:
    context = ApiContext(site=rig.site, store=rig.store, records=rig.records, clock=rig.clock)
    key = new_key(rig.records, Role.VIEWER, name="值班员小王")
    with TestClient(create_app(context), headers=auth(key)) as test_client:
        yield test_client


def _tiles(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for b in board["buildings"] for m in b["machines"]}


def test_every_machine_shows_its_state_key_value_and_age(rig: Rig, client: TestClient) -> None:
    rig.set("tank-1", level_pct=61.23456)
    rig.set("pump-1", fault=1)  # a trip
    rig.set("lift-1", inspection_mode=1)  # a technician has the lift
    rig.tick(times=3)
    rig.quality["gw-tank"] = Quality.COMM_FAULT
    rig.tick()
    rig.clock.advance(5)  # the screen looks 5 s after the last readings
    board = client.get("/api/v1/board").json()
    assert [b["name"] for b in board["buildings"]] == ["1号楼"]
    tiles = _tiles(board)
    assert set(tiles) == {eq.id for eq in rig.site.equipment}
    assert (tiles["pump-1"]["state"], tiles["pump-1"]["state_name"]) == ("fault", "故障")
    assert tiles["pump-1"]["alarms"] == 1
    assert (tiles["lift-1"]["state"], tiles["lift-1"]["state_name"]) == ("maintenance", "检修")
    assert (tiles["gw-tank"]["state"], tiles["gw-tank"]["state_name"]) == ("offline", "离线")
    assert tiles["gw-tank"]["key_value"] is None  # never the last good value
    tank = tiles["tank-1"]
    assert (tank["state"], tank["state_name"]) == ("normal", "正常")
    # the key value to the signal's precision, with its name and unit, and its age
    assert (tank["key_name"], tank["key_value"], tank["key_unit"]) == ("液位百分比", 61.2, "%")
    assert tank["age_seconds"] == 5.0
    assert machine_state({}, [], set(), False) == "no_data"  # never heard from


def test_a_machine_that_stopped_reporting_is_stale_not_normal(rig: Rig, client: TestClient) -> None:
    rig.quality["tank-1"] = Quality.STALE
    rig.tick()
    tile = _tiles(client.get("/api/v1/board").json())["tank-1"]
    assert (tile["state"], tile["state_name"], tile["key_value"]) == ("stale", "数据过期", None)


def test_an_entrapment_folds_the_lifts_fault_under_it(rig: Rig, client: TestClient) -> None:
    rig.set("lift-1", fault=1)
    rig.tick(times=2)
    rig.set("lift-1", moving=0, door_zone=0, car_occupied=1, in_service=0)
    rig.tick(seconds=5, times=20)
    alarms = {a["rule_id"]: a for a in client.get("/api/v1/board").json()["alarms"]}
    assert {"entrapment", "elevator_fault", "out_of_service"} <= set(alarms)
    cause = alarms["entrapment"]
    assert cause["held_back_by"] is None
    assert alarms["elevator_fault"]["held_back_by"] == cause["id"]
    assert alarms["out_of_service"]["held_back_by"] in (cause["id"], alarms["elevator_fault"]["id"])


def test_a_gateway_ticket_is_named_for_people(rig: Rig, client: TestClient) -> None:
    for eq in ("gw-pump-a", "gw-pump-b", "gw-tank"):
        rig.quality[eq] = Quality.COMM_FAULT
    rig.tick(times=40)
    board = client.get("/api/v1/board").json()
    [ticket] = board["tickets"]
    assert ticket["equipment"] == "gateway:10.0.0.9:502"
    assert ticket["equipment_name"] == "Modbus网关 10.0.0.9:502（网关后泵A、网关后泵B、网关后水箱）"
    assert ticket["building_name"] == "1号楼"
    [alarm] = [a for a in board["alarms"] if a["equipment"] == "gateway:10.0.0.9:502"]
    assert alarm["equipment_name"] == ticket["equipment_name"]
    assert {t["state"] for t in _tiles(board).values() if t["id"].startswith("gw-")} == {"offline"}


def test_the_fire_alarm_shows_zone_and_points(rig: Rig, client: TestClient) -> None:
    rig.set("panel-1", fire_alarm=1, alarm_zone=3, isolated_points=2)
    rig.tick(times=2)
    [incident] = client.get("/api/v1/board").json()["incidents"]
    assert (incident["zone"], incident["isolated_points"]) == (3, 2)


def test_silencing_is_recorded_with_who_and_when(rig: Rig, client: TestClient) -> None:
    rig.set("pump-1", fault=1)
    rig.tick(times=2)
    [alarm] = client.get("/api/v1/board").json()["alarms"]
    assert alarm["silenced_by"] is None
    answer = client.post("/api/v1/board/silence", params={"alarm": [alarm["id"], "nonsense"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["silenced"] == 1 and body["by"].startswith("值班员小王")
    [alarm] = client.get("/api/v1/board").json()["alarms"]
    assert alarm["silenced_by"] == body["by"] and alarm["silenced_at"] == body["at"]
    log = client.get("/api/v1/equipment/pump-1/log", params={"type": "silenced"}).json()
    [entry] = [e for e in log["entries"] if e["type"] == "silenced"]
    assert entry["actor"] == body["by"] and "消音" in entry["message"]
    # a new episode of the same alarm sounds again
    rig.set("pump-1", fault=0)
    rig.tick(times=2)
    rig.set("pump-1", fault=1)
    rig.tick(times=2)
    [alarm] = client.get("/api/v1/board").json()["alarms"]
    assert alarm["silenced_by"] is None


def test_a_machine_that_never_reports_its_kinds_key_shows_what_it_does_report() -> None:
    # a water meter is an energy_meter that counts m³, never kWh: its tile shows the volume
    site = load_site(Path(__file__).resolve().parent.parent / "examples" / "site.yaml")
    [meter] = [eq for eq in site.equipment if eq.name == "生活用水总表"]
    at = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    latest = {(meter.id, "volume_m3"): Reading(meter.id, "volume_m3", at, 1234.5678)}
    buildings = machine_tiles(site, load_catalogue(), latest, [], set(), set(), at)
    [tile] = [m for b in buildings for m in b.machines if m.id == meter.id]
    assert (tile.key_name, tile.key_value, tile.key_unit) == ("累计水量", 1234.57, "m³")
