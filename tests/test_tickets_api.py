"""Alerts and tickets through the API, on tickets the real alert engine opened (SQLite and a
real PostgreSQL): filters, detail with history and alerts, manual tickets, transitions and
their 409s, alarm acknowledgement, the board snapshot, and the live events they publish."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api import ApiContext
from core.catalogue import load_catalogue
from core.events import EventBus
from storage.api_keys import Role
from tests.alerts.rig import Rig
from tests.api_support import auth, client_for, new_key
from tests.servers.postgres import Postgres


class RecordingBus(EventBus):
    def __init__(self) -> None:
        super().__init__()
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)
        super().publish(event)


@pytest.fixture(params=["sqlite", "postgresql"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'records.db'}"
    else:
        server: Postgres = request.getfixturevalue("postgres")
        url = server.create_database()
    r = Rig(tmp_path, url)
    r.tick()
    yield r
    r.close()


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()


@pytest.fixture
def client(rig: Rig, bus: RecordingBus) -> httpx.AsyncClient:
    context = ApiContext(rig.site, rig.store, rig.records, clock=rig.clock, events=bus)
    return client_for(context)


async def test_engine_ticket_lifecycle_through_the_api(
    rig: Rig, bus: RecordingBus, client: httpx.AsyncClient
) -> None:
    viewer = auth(new_key(rig.records, Role.VIEWER))
    engineer = auth(new_key(rig.records, Role.ENGINEER, "王工"))
    rig.set("pump-1", fault=1, running=0)
    rig.tick()  # the pump trips: pump_trip fires, an urgent ticket opens
    async with client:
        alarms = (await client.get("/api/v1/alerts", headers=viewer)).json()
        trip = next(a for a in alarms if a["equipment"] == "pump-1")
        assert (trip["rule_id"], trip["status"], trip["equipment_name"]) == (
            "pump_trip",
            "firing",
            "生活泵1号",
        )
        page = (await client.get("/api/v1/tickets", params={"live": True}, headers=viewer)).json()
        ticket = next(t for t in page["tickets"] if t["equipment"] == "pump-1")
        tid = ticket["id"]
        assert ticket["ticket_class"] == "urgent" and ticket["status"] == "open"
        assert ticket["deadline"]["kind"] == "respond" and not ticket["overdue"]
        assert ticket["allowed"] == ["ack", "on_site", "resolve", "cancel"]

        # the role checks, then a transition that is not allowed now
        path = f"/api/v1/tickets/{tid}"
        assert (await client.post(f"{path}/ack")).status_code == 401
        assert (await client.post(f"{path}/ack", headers=viewer)).status_code == 403
        refused = await client.post(f"{path}/close", headers=engineer)
        assert refused.status_code == 409
        assert refused.json()["allowed"] == ["ack", "on_site", "resolve", "cancel"]
        assert "cannot close" in refused.json()["error"]
        assert (await client.post(f"{path}/fly", headers=engineer)).status_code == 404
        assert (
            await client.post("/api/v1/tickets/999999/ack", headers=engineer)
        ).status_code == 404

        rig.clock.advance(240)
        acked = await client.post(f"{path}/ack", json={"comment": "已派人"}, headers=engineer)
        assert acked.status_code == 200
        assert acked.json()["status"] == "acknowledged"
        assert acked.json()["deadline"]["kind"] == "on_site"
        assert (
            bus.published[-1]["type"] == "ticket" and bus.published[-1]["status"] == "acknowledged"
        )
        rig.clock.advance(600)
        assert (await client.post(f"{path}/on_site", headers=engineer)).status_code == 200

        detail = (await client.get(path, headers=viewer)).json()
        assert [e["type"] for e in detail["events"]] == ["opened", "ack", "on_site"]
        ack_event = detail["events"][1]
        assert ack_event["actor"].startswith("王工") and ack_event["message"] == "已派人"
        assert (ack_event["from_status"], ack_event["to_status"]) == ("open", "acknowledged")
        assert [a["rule_id"] for a in detail["alerts"]] == ["pump_trip"]

        # the monitoring room acknowledges the alarm itself
        alarm = await client.post(f"/api/v1/alerts/{trip['id']}/ack", headers=engineer)
        assert alarm.json()["acknowledged_by"].startswith("王工")
        assert (await client.post("/api/v1/alerts/nope/ack", headers=engineer)).status_code == 404

        log = (await client.get("/api/v1/equipment/pump-1/log", headers=viewer)).json()
        messages = [e["message"] for e in log["entries"]]
        assert any("告警已确认" in m for m in messages)
        # people read Chinese: 接单, not the event type "ack"
        assert any(m.startswith("工单#") and "接单：已派人" in m for m in messages)
        assert not any("ack" in m for m in messages)
        assert ack_event["text"] == "接单"


async def test_manual_tickets_filters_and_overdue(
    rig: Rig, bus: RecordingBus, client: httpx.AsyncClient
) -> None:
    viewer = auth(new_key(rig.records, Role.VIEWER))
    engineer = auth(new_key(rig.records, Role.ENGINEER, "前台"))
    async with client:
        body = {"equipment": "lift-1", "ticket_class": "general", "title": "电梯异响"}
        assert (await client.post("/api/v1/tickets", json=body, headers=viewer)).status_code == 403
        made = await client.post("/api/v1/tickets", json=body, headers=engineer)
        assert made.status_code == 201
        ticket = made.json()
        assert ticket["manual"] is True and ticket["equipment_name"] == "1号客梯"
        respond_by = datetime.fromisoformat(ticket["respond_by"])
        assert respond_by == rig.clock.now() + timedelta(minutes=30)  # general repair
        assert bus.published[-1]["type"] == "ticket" and bus.published[-1]["event"] == "opened"
        unknown = {**body, "equipment": "lift-9"}
        assert (
            await client.post("/api/v1/tickets", json=unknown, headers=engineer)
        ).status_code == 404

        async def ids(**params: Any) -> list[int]:
            page = (await client.get("/api/v1/tickets", params=params, headers=viewer)).json()
            return [t["id"] for t in page["tickets"]]

        tid = ticket["id"]
        assert tid in await ids(equipment="lift-1")
        assert tid in await ids(building="b1", **{"class": "general"}, status="open")
        assert tid not in await ids(equipment="pump-1")
        assert tid not in await ids(building="b9")
        assert tid not in await ids(overdue=True)
        rig.clock.advance(31 * 60)  # nobody responded within 30 minutes
        assert tid in await ids(overdue=True)
        assert (
            await client.get("/api/v1/tickets", params={"status": "lost"}, headers=viewer)
        ).status_code == 422

        cancel = f"/api/v1/tickets/{tid}/cancel"
        assert (await client.post(cancel, headers=engineer)).status_code == 422
        done = await client.post(cancel, json={"comment": "误报，住户已确认正常"}, headers=engineer)
        assert done.json()["status"] == "cancelled" and done.json()["allowed"] == []
        again = await client.post(cancel, json={"comment": "x"}, headers=engineer)
        assert again.status_code == 409 and again.json()["allowed"] == []


async def test_board_snapshot_shows_fire_alarms_alarms_and_tickets(
    rig: Rig, client: httpx.AsyncClient
) -> None:
    viewer = auth(new_key(rig.records, Role.VIEWER))
    rig.set("panel-1", fire_alarm=1)
    rig.set("pump-1", fault=1, running=0)
    rig.tick()
    async with client:
        board = (await client.get("/api/v1/board", headers=viewer)).json()
    assert [i["equipment"] for i in board["incidents"]] == ["panel-1"]
    assert "火警" in board["incidents"][0]["title"]
    assert board["incidents"][0]["equipment_name"] == "消防主机"
    assert {a["rule_id"] for a in board["alarms"]} >= {"fire_alarm", "pump_trip"}
    assert [t["equipment"] for t in board["tickets"]] == ["pump-1"]  # a fire is no repair ticket
    assert board["site_name"] == "测试小区"


async def test_kpis_on_a_scripted_scenario(rig: Rig, client: httpx.AsyncClient) -> None:
    """Worked by hand: two tickets count (one cancelled does not).
    A, the pump trip (urgent: respond 10 min, on site 30 min): ack at +4 min, on site at
      +20 min, resolved at +60 min, called back the next morning: all on time; repair 1 h.
    B, a phoned-in lift noise (general: respond 30 min, on site 24 h): ack at +40 min (late),
      on site at +2 h, resolved at +3 h, never called back; repair 3 h.
    Timeliness 1/2 cycles (B missed one deadline), repeats 0/2, callbacks 1/2 (B's was due
    Tuesday noon), satisfied 1/1; one ticket still open (B, resolved), none overdue. MTTR
    (1 + 3) / 2 h. Over 49 h: the pumps (3) fail once (a trip), down 1 h: MTBF
    (3 x 49 - 1) / 1 = 146 h; the lift's noise is no failure (a general repair reported by
    phone): no MTBF, down 3 h."""
    engineer = auth(new_key(rig.records, Role.ENGINEER, "值班"))
    viewer = auth(new_key(rig.records, Role.VIEWER))
    start = rig.clock.now() - timedelta(hours=1)
    rig.set("pump-1", fault=1, running=0)
    rig.tick()
    async with client:

        async def move(tid: int, action: str, at: datetime, comment: str | None = None) -> None:
            rig.clock.advance((at - rig.clock.now()).total_seconds())  # scripted, in order
            body = {"comment": comment} if comment else None
            if action == "close":  # closing needs a callback record
                called = {"satisfied": True, "remarks": "住户确认正常"}
                path = f"/api/v1/tickets/{tid}/callback"
                assert (await client.post(path, json=called, headers=engineer)).status_code == 200
            done = await client.post(f"/api/v1/tickets/{tid}/{action}", json=body, headers=engineer)
            assert done.status_code == 200, done.text

        live = (await client.get("/api/v1/tickets", headers=viewer)).json()["tickets"]
        a = next(t for t in live if t["equipment"] == "pump-1")
        a_open = datetime.fromisoformat(a["opened_at"])
        b = (
            await client.post(
                "/api/v1/tickets",
                json={"equipment": "lift-1", "title": "轿厢异响"},
                headers=engineer,
            )
        ).json()
        b_open = datetime.fromisoformat(b["opened_at"])
        c = (
            await client.post(
                "/api/v1/tickets",
                json={"equipment": "tank-1", "ticket_class": "urgent", "title": "水箱渗水"},
                headers=engineer,
            )
        ).json()
        await move(c["id"], "cancel", b_open, "重复报修")
        await move(a["id"], "ack", a_open + timedelta(minutes=4))
        await move(a["id"], "on_site", a_open + timedelta(minutes=20))
        await move(b["id"], "ack", b_open + timedelta(minutes=40))
        await move(a["id"], "resolve", a_open + timedelta(minutes=60))
        await move(b["id"], "on_site", b_open + timedelta(hours=2))
        await move(b["id"], "resolve", b_open + timedelta(hours=3))
        await move(a["id"], "close", a_open + timedelta(hours=20), "住户确认正常")
        end = start + timedelta(hours=49)
        rig.clock.advance((end + timedelta(hours=1) - rig.clock.now()).total_seconds())
        k = (
            await client.get(
                "/api/v1/kpis",
                params={"start": start.isoformat(), "end": end.isoformat()},
                headers=viewer,
            )
        ).json()
    site = k["site"]
    assert (site["repair_cycles"], site["cancelled"]) == (2, 1)
    assert site["timeliness"] == {
        "numerator": 1,
        "denominator": 2,
        "value": 0.5,
        "target": 0.98,
        "on_target": False,
    }
    assert (site["repeat_repairs"]["numerator"], site["repeat_repairs"]["denominator"]) == (0, 2)
    assert site["repeat_repairs"]["on_target"] is True
    assert (site["callback"]["numerator"], site["callback"]["denominator"]) == (1, 2)
    assert (site["satisfaction"]["numerator"], site["satisfaction"]["denominator"]) == (1, 1)
    assert site["mttr_hours"] == pytest.approx(2.0, abs=1e-3)
    assert (k["open_now"], k["overdue_now"]) == (1, 0)
    assert k["by_kind"]["pump"]["mtbf_hours"] == pytest.approx(3 * 49 - 1, abs=1e-3)
    assert k["by_kind"]["elevator"]["mtbf_hours"] is None
    assert k["by_kind"]["elevator"]["down_hours"] == pytest.approx(3, abs=1e-3)
    assert site["good_order"] == pytest.approx(1 - 4 / (9 * 49), abs=1e-5)
    assert k["by_kind"]["water_tank"]["failures"] == 0


async def test_board_lists_every_zone_in_alarm_not_only_the_first(
    rig: Rig, client: httpx.AsyncClient
) -> None:
    viewer = auth(new_key(rig.records, Role.VIEWER))
    points = load_catalogue().kind("fire_panel").point_lists["alarm_point"]
    two = [
        {"zone": 3, "loop": 1, "address": 17, "device_type": 1},
        {"zone": 4, "loop": 2, "address": 5, "device_type": 3},
    ]
    rig.set("panel-1", fire_alarm=1, alarm_zone=3, alarm_zones=2, **points.as_values(two))
    rig.tick()
    async with client:
        board = (await client.get("/api/v1/board", headers=viewer)).json()
    shown = [p for i in board["incidents"] for p in i["points"]]
    assert [p["fields"] for p in shown[:2]] == two
    assert shown[0]["text"] == "分区3 回路1 地址17 感烟探测器"
    assert shown[1]["text"] == "分区4 回路2 地址5 手动报警按钮"
    # the spreading rule made a second incident for the same panel
    assert {i["title"].split()[-1] for i in board["incidents"]} == {
        "火警",
        "火警蔓延（多个分区报警）",
    }
