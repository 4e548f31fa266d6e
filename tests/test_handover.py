"""The shift handover (交接班记录) on a scripted day shift, worked out by hand: the draft,
both signatures through the API, the hash-chained logbook, and the board's flag."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from api import ApiContext
from api.handover import draft, drafter
from core.clock import FakeClock
from core.plans import Category
from core.readings import Quality, Reading
from core.shifts import ShiftWindow
from core.site import Site
from core.tickets import Due, TicketPolicy
from storage import RecordsDB, SqliteTimeSeriesStore, handovers, logbook
from storage.api_keys import Role
from storage.logbook import LogEntry
from storage.logbook_query import LogQuery, read_all
from storage.ticket_desk import open_manual_ticket
from tests.alerts.rig import move
from tests.api_support import auth, client_for, new_key
from tests.monthly_case import order

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 2, tzinfo=SHANGHAI)
SHIFT = ShiftWindow("白班", DAY + timedelta(hours=8), DAY + timedelta(hours=20))


def _at(hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return (DAY + timedelta(hours=hh, minutes=mm, seconds=ss)).astimezone(UTC)


def _readings(store: SqliteTimeSeriesStore) -> None:
    """Up to the 20:00 handover: the domestic tank at 50 % (1.5 m), its pump at 0.42 MPa;
    the fire pump faulted; lift 1 out of service; the fire tank's last value stale; lift 2,
    the fire panel, the sump and its pump never heard of."""
    out: list[Reading] = []
    ts = _at(19, 50)
    while ts < _at(20, 5):  # readings after the handover must not change the draft
        after = ts >= _at(20)
        out += [
            Reading("tank-domestic", "level_pct", ts, 30.0 if after else 50.0),
            Reading("tank-domestic", "level_m", ts, 0.9 if after else 1.5),
            Reading("pump-domestic-1", "outlet_pressure_mpa", ts, 0.42),
            Reading("pump-domestic-1", "fault", ts, 0.0),
            Reading("pump-fire-1", "fault", ts, 1.0),
            Reading("pump-fire-1", "outlet_pressure_mpa", ts, 0.0),
            Reading("lift-b1-1", "in_service", ts, 0.0),
            Reading("lift-b1-1", "fault", ts, 0.0),
            Reading("lift-b1-1", "inspection_mode", ts, 0.0),
        ]
        ts += timedelta(seconds=10)
    # the water meter, read on the hour 07:00-21:00, 3 m³ an hour: the shift's hours 08 … 19
    # each add 3 (the 20:00 reading opens the next shift's first hour)
    out += [Reading("meter-water-main", "volume_m3", _at(h), 100.0 + 3 * h) for h in range(7, 22)]
    out += [
        Reading("tank-fire", "level_pct", _at(19, 59, 0), 80.0),
        Reading("tank-fire", "level_pct", _at(19, 59, 40), None, Quality.STALE, "no data"),
    ]
    store.write(out)


def _alarms(records: RecordsDB) -> None:
    def log(equipment: str, rule: str, change: str, at: datetime) -> None:
        data = {"rule_id": rule, "change": change, "episode": 1}
        with records.engine.begin() as conn:
            logbook.append(conn, LogEntry(at, equipment, "alert", f"{rule}名: {change}", data=data))

    log("tank-domestic", "tank_low", "firing", _at(7))  # from the night before
    log("tank-domestic", "tank_low", "resolved", _at(8, 10))
    log("pump-domestic-1", "pump_trip", "firing", _at(9))
    log("pump-domestic-1", "pump_trip", "resolved", _at(9, 30))
    log("lift-b2-1", "comms_loss", "firing", _at(19))  # still firing at 20:00
    log("pump-fire-1", "pump_trip", "firing", _at(20, 30))  # the next shift's


def _planned(records: RecordsDB) -> None:
    """Done in the shift; due in it and never done; skipped in it (due the night before);
    due in it and done only after the handover (missed, as at 20:00); due in the next shift."""
    i, m = Category.INSPECTION, Category.MAINTENANCE
    order(
        records,
        "pump-domestic-1",
        "水泵点检",
        i,
        (DAY + hours(8), DAY + hours(12)),
        ("done", DAY + hours(10)),
    )
    order(records, "firepanel-1", "报警主机功能测试", i, (DAY, DAY + hours(18)))
    order(records, "lift-b1-1", "电梯半月保养", m, (DAY, DAY + hours(5)), ("skip", DAY + hours(9)))
    order(
        records,
        "pump-fire-1",
        "消防泵巡检",
        i,
        (DAY + hours(8), DAY + hours(19)),
        ("done", DAY + hours(20.5)),
    )
    order(
        records,
        "tank-domestic",
        "水箱巡检",
        i,
        (DAY + hours(20), DAY + hours(22)),
        ("done", DAY + hours(21)),
    )


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def _ticket(records: RecordsDB, equipment: str, at: datetime, due: Due) -> int:
    with records.engine.begin() as conn:
        row, _ = open_manual_ticket(conn, equipment, "general", "报修", "major", due, "前台", at)
    return row.id


def _tickets(records: RecordsDB) -> dict[str, int]:
    """Closed in the shift (opened the night before); opened and acknowledged, on site due
    in 2 h; opened at 19:50 with its response due 20:20 (acknowledged only after the
    handover); opened in the next shift."""
    night = _ticket(records, "pump-domestic-1", _at(7), Due(None, None, None))
    for action, at in (("resolve", _at(9)), ("close", _at(10))):
        move(records.engine, TicketPolicy(), night, action, "张工", at)
    morning = _ticket(
        records, "lift-b1-1", _at(9), Due(_at(9, 30), _at(22), _at(23) + timedelta(days=1))
    )
    move(records.engine, TicketPolicy(), morning, "ack", "张工", _at(9, 5))
    late = _ticket(records, "tank-domestic", _at(19, 50), Due(_at(20, 20), None, None))
    move(records.engine, TicketPolicy(), late, "ack", "李工", _at(20, 10))
    _ticket(records, "pump-fire-1", _at(21), Due(None, None, None))
    return {"night": night, "morning": morning, "late": late}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(_at(20, 0, 30))


@pytest.fixture
def context(
    site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB, clock: FakeClock
) -> ApiContext:
    _readings(ts_store)
    _alarms(records)
    return ApiContext(site=site, store=ts_store, records=records, clock=clock)


def test_the_draft_of_a_day_shift(context: ApiContext, records: RecordsDB) -> None:
    ids = _tickets(records)
    _planned(records)
    content = draft(context, SHIFT)
    assert (content.shift.name, content.shift.start.isoformat(), content.shift.end.hour) == (
        "白班",
        "2026-03-02T08:00:00+08:00",
        20,
    )
    alarms = [(a.equipment, a.rule_id, a.duration_minutes, a.ended_at) for a in content.alarms]
    assert alarms == [
        ("tank-domestic", "tank_low", 70.0, _at(8, 10)),  # the whole episode, 07:00-08:10
        ("pump-domestic-1", "pump_trip", 30.0, _at(9, 30)),
        ("lift-b2-1", "comms_loss", 60.0, None),  # still firing: one hour by the handover
    ]
    assert [t.id for t in content.tickets_opened] == [ids["morning"], ids["late"]]
    assert [t.id for t in content.tickets_closed] == [ids["night"]]
    carried = {t.id: (t.next_deadline, t.minutes_left) for t in content.tickets_carried}
    # as at 20:00: the late ticket's response was due in 20 min (it was acknowledged at 20:10,
    # after the handover); the morning one was acknowledged and must be on site by 22:00
    assert carried == {ids["morning"]: ("on_site", 120.0), ids["late"]: ("respond", 20.0)}
    morning = next(t for t in content.tickets_carried if t.id == ids["morning"])
    assert [(d.kind, d.minutes_left) for d in morning.deadlines] == [
        ("on_site", 120.0),
        ("resolve", 27 * 60.0),  # 23:00 the next day
    ]
    attention = {m.equipment: (m.state, m.detail) for m in content.machines_attention}
    assert attention["pump-fire-1"] == ("out_of_service", "故障")
    assert attention["lift-b1-1"] == ("out_of_service", "停止服务")
    assert attention["tank-fire"][0] == "silent"  # its newest value is stale
    assert attention["lift-b2-1"][0] == "silent"  # never heard of
    assert "tank-domestic" not in attention and "pump-domestic-1" not in attention
    readings = {(r.equipment, r.signal): r.value for r in content.key_readings}
    assert readings[("tank-domestic", "level_pct")] == pytest.approx(50.0)
    assert readings[("tank-domestic", "level_m")] == pytest.approx(1.5)
    assert readings[("pump-domestic-1", "outlet_pressure_mpa")] == pytest.approx(0.42)
    assert readings[("tank-fire", "level_pct")] is None
    done = [(p.equipment, p.status) for p in content.planned_done]
    assert done == [("lift-b1-1", "skipped"), ("pump-domestic-1", "done")]
    assert content.planned_done[0].skip_reason == "停电，改期"
    missed = [(p.equipment, p.status) for p in content.planned_missed]
    # as at 20:00 the fire pump's round was still to do (it was done at 20:30)
    assert missed == [("firepanel-1", "scheduled"), ("pump-fire-1", "scheduled")]
    assert [(e.equipment, e.used, e.unit) for e in content.energy] == [
        ("meter-water-main", pytest.approx(36.0), "m³")
    ]


def test_drafting_later_gives_the_same_document(
    context: ApiContext, records: RecordsDB, clock: FakeClock
) -> None:
    _tickets(records)
    first = draft(context, SHIFT)
    move(
        records.engine,
        TicketPolicy(),
        _ticket(records, "tank-fire", _at(22), Due(None, None, None)),
        "resolve",
        "王工",
        _at(23),
    )
    clock.advance(6 * 3600)
    assert draft(context, SHIFT) == first


async def test_sign_accept_and_the_board(
    context: ApiContext, records: RecordsDB, clock: FakeClock
) -> None:
    _tickets(records)
    viewer = auth(new_key(records, Role.VIEWER))
    zhang = auth(new_key(records, Role.ENGINEER, "张工"))
    zhang_phone = auth(new_key(records, Role.ENGINEER, "张工"))
    li = auth(new_key(records, Role.ENGINEER, "李工"))
    async with client_for(context) as client:
        now = (await client.get("/api/v1/shifts/current", headers=viewer)).json()
        assert now["shift"]["name"] == "夜班" and now["on_duty"] is None
        previous: dict[str, Any] = now["previous_handover"]
        assert previous["status"] == "drafted" and previous["status_name"] == "待交班签字"
        hid = previous["id"]
        listed = (await client.get("/api/v1/handovers", headers=viewer)).json()["handovers"]
        assert [h["id"] for h in listed] == [hid]  # a new installation: the last shift only

        board = (await client.get("/api/v1/board", headers=viewer)).json()
        assert board["handovers_overdue"] == []  # within the 30 min grace
        clock.advance(31 * 60)
        board = (await client.get("/api/v1/board", headers=viewer)).json()
        assert [(h["id"], h["status"]) for h in board["handovers_overdue"]] == [(hid, "drafted")]

        url = f"/api/v1/handovers/{hid}"
        assert (await client.post(f"{url}/sign", headers=viewer)).status_code == 403
        early = await client.post(f"{url}/accept", headers=li)
        assert early.status_code == 409 and "signed off before" in early.json()["error"]
        signed = await client.post(f"{url}/sign", headers=zhang, json={"remarks": "消防泵故障待修"})
        assert signed.status_code == 200 and signed.json()["status"] == "signed"
        again = await client.post(f"{url}/sign", headers=li, json={"remarks": "x"})
        assert again.status_code == 409 and "already signed off by 张工" in again.json()["error"]
        board = (await client.get("/api/v1/board", headers=viewer)).json()
        assert [h["status"] for h in board["handovers_overdue"]] == ["signed"]
        same = await client.post(f"{url}/accept", headers=zhang_phone)  # 张工 with another key
        assert same.status_code == 409 and "someone else" in same.json()["error"]
        accepted = (await client.post(f"{url}/accept", headers=li)).json()
        assert accepted["status"] == "accepted" and accepted["incoming_by"].startswith("李工")
        assert accepted["remarks"] == "消防泵故障待修"
        board = (await client.get("/api/v1/board", headers=viewer)).json()
        assert board["handovers_overdue"] == []
        now = (await client.get("/api/v1/shifts/current", headers=viewer)).json()
        assert now["on_duty"] == "李工"

        page = await client.get(url, params={"format": "html"}, headers=viewer)
        assert page.status_code == 200
        for text in (
            "交接班记录",
            "本班告警",
            "遗留工单",
            "停用或无数据的设备",
            "交班时关键读数",
            "消防泵故障待修",
            "交班人：张工",
            "接班人：李工",
            "消防稳压泵",
            "与交接班日志一致",
            "本班用能",
            "生活用水总表",
            "本班完成的巡检与保养",
            "本班到期未完成的巡检与保养",
            "到场 2026-03-02 22:00（剩2小时0分）",
        ):
            assert text in page.text, text
        assert (await client.get("/api/v1/logbook/verify", headers=viewer)).json()["ok"] is True

    with records.engine.connect() as conn:
        entries = [s.entry for s in read_all(conn, LogQuery(types=("handover",)), 100)]
    assert [e.data["event"] for e in entries] == ["drafted", "signed", "accepted"]
    assert {e.equipment for e in entries} == {"site:lakeside"}
    assert len({e.data["content_sha256"] for e in entries}) == 1
    assert entries[0].data["content_sha256"] == accepted["content_sha256"]
    assert entries[1].actor.startswith("张工") and entries[2].actor.startswith("李工")


async def test_an_altered_handover_is_shown_as_such(
    context: ApiContext, records: RecordsDB
) -> None:
    """The row is not in the chain, its hashes are: rewriting the content (even with a fresh
    content_sha256) or the remarks shows."""
    zhang = auth(new_key(records, Role.ENGINEER, "张工"))
    async with client_for(context) as client:
        listed = (await client.get("/api/v1/handovers", headers=zhang)).json()["handovers"]
        hid = listed[0]["id"]
        await client.post(f"/api/v1/handovers/{hid}/sign", headers=zhang, json={"remarks": "正常"})
        content = dict(listed[0]["content"], alarms=[])  # an alarm made to disappear
        with records.engine.begin() as conn:
            conn.execute(
                handovers.handovers.update()
                .where(handovers.handovers.c.id == hid)
                .values(
                    content=handovers.canonical(content),
                    content_hash=handovers.content_hash(content),
                    remarks="一切正常",
                )
            )
        shown = (await client.get(f"/api/v1/handovers/{hid}", headers=zhang)).json()
    assert shown["intact"] is False
    assert shown["problems"] == [
        "content differs from the one logged when it was drafted",
        "remarks or signer differ from the sign-off logged",
    ]


async def test_without_a_rota_there_are_no_handovers(
    site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB
) -> None:
    bare = site.model_copy(update={"shifts": None})
    ctx = ApiContext(site=bare, store=ts_store, records=records, clock=FakeClock(_at(21)))
    viewer = auth(new_key(records, Role.VIEWER))
    async with client_for(ctx) as client:
        response = await client.get("/api/v1/shifts/current", headers=viewer)
        assert response.status_code == 404 and "no shifts" in response.json()["error"]
        board = (await client.get("/api/v1/board", headers=viewer)).json()
        assert board["handovers_overdue"] == []


async def test_the_drafter_drafts_as_shifts_end(context: ApiContext, clock: FakeClock) -> None:
    """The API process's loop: a draft at once for the shift just ended, then nothing new
    until the next shift ends; idempotent however often it runs."""
    stop = asyncio.Event()
    task = asyncio.create_task(drafter(context, stop, every=0.01))
    try:
        await _until(lambda: _count(context) == 1)
        clock.advance(11 * 3600)  # 07:00 next morning: the night shift has not ended
        await asyncio.sleep(0.05)
        assert _count(context) == 1
        clock.advance(3600 + 1)  # 08:00:31: it has
        await _until(lambda: _count(context) == 2)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    with context.records.engine.connect() as conn:
        names = [h.shift_name for h in handovers.recent(conn, "lakeside")]
    assert names == ["夜班", "白班"]


def _count(context: ApiContext) -> int:
    with context.records.engine.connect() as conn:
        return len(handovers.recent(conn, "lakeside"))


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)
