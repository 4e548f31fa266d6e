"""The daily operation report on a scripted day, against numbers worked out by hand."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api import ApiContext
from core.clock import FakeClock
from core.readings import Quality, Reading
from core.site import Site
from core.tickets import Due, TicketPolicy
from storage import RecordsDB, SqliteTimeSeriesStore, logbook
from storage.api_keys import Role
from storage.logbook import LogEntry
from storage.ticket_desk import open_manual_ticket
from tests.alerts.rig import move
from tests.api_support import auth, client_for, new_key

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY_START = datetime(2026, 3, 2, tzinfo=SHANGHAI)  # the site's midnight: 2026-03-01T16:00Z
STEP = timedelta(seconds=10)


def _local(hh: int, mm: int = 0) -> datetime:
    return DAY_START + timedelta(hours=hh, minutes=mm)


def _scripted_day(store: SqliteTimeSeriesStore) -> None:
    """pump-domestic-1 (stale after 30 s), sampled every 10 s from 23:59:50 the day before:
    runs 08:00-10:00 and 14:00-14:30, faults 12:00-12:15, goes stale 20:00-21:00 (a stale
    reading at 20:00:00, then nothing until 21:00:00). Pressure 0.50 MPa running, else 0.40.
    tank-domestic: 1.5 m all day except one 0.8 m sample at 06:00 and one 2.5 m at 18:00."""
    readings: list[Reading] = []
    ts = DAY_START - STEP
    while ts < DAY_START + timedelta(days=1):
        stale_gap = _local(20) <= ts < _local(21)
        if ts == _local(20):
            readings += [
                Reading("pump-domestic-1", s, ts, None, Quality.STALE, "no data for 30s")
                for s in ("running", "fault", "outlet_pressure_mpa", "current_a")
            ]
        elif not stale_gap:
            running = _local(8) <= ts < _local(10) or _local(14) <= ts < _local(14, 30)
            fault = _local(12) <= ts < _local(12, 15)
            readings += [
                Reading("pump-domestic-1", "running", ts, float(running)),
                Reading("pump-domestic-1", "fault", ts, float(fault)),
                Reading("pump-domestic-1", "outlet_pressure_mpa", ts, 0.5 if running else 0.4),
                Reading("pump-domestic-1", "current_a", ts, 30.0 if running else 0.0),
            ]
        if ts >= _local(12):  # the fire pump is first heard of at noon, healthy and idle
            readings += [
                Reading("pump-fire-1", "running", ts, 0.0),
                Reading("pump-fire-1", "fault", ts, 0.0),
            ]
        if ts.minute == 0 and ts.second == 0:  # the water meter: 2 m³ an hour, read hourly
            hours = (ts - DAY_START) / timedelta(hours=1)
            readings.append(Reading("meter-water-main", "volume_m3", ts, 500.0 + 2 * hours))
        if ts == DAY_START - STEP:  # the baseline: its last reading the day before, 23:00
            readings.append(Reading("meter-water-main", "volume_m3", _local(-1), 498.0))
        level = {_local(6): 0.8, _local(18): 2.5}.get(ts, 1.5)
        readings += [
            Reading("tank-domestic", "level_m", ts, level),
            Reading("tank-domestic", "level_pct", ts, level / 3.0 * 100),
        ]
        ts += STEP
    store.write(readings)


def _scripted_tickets(records: RecordsDB) -> None:
    """pump-domestic-1: one ticket opened the day before and closed on the day, one opened
    and closed on the day, one opened on the day and still open: 2 opened, 2 closed.
    tank-domestic: one opened the next day: none."""
    due = Due(None, None, None)

    def open_at(equipment: str, at: datetime) -> int:
        with records.engine.begin() as conn:
            row, _ = open_manual_ticket(
                # in UTC, as the clock gives it (SQLite keeps no offset)
                conn,
                equipment,
                "general",
                "报修",
                "major",
                due,
                "前台",
                at.astimezone(UTC),
            )
        return row.id

    def close_at(ticket_id: int, at: datetime) -> None:
        for action in ("resolve", "close"):
            move(records.engine, TicketPolicy(), ticket_id, action, "张工", at.astimezone(UTC))

    close_at(open_at("pump-domestic-1", _local(-2)), _local(9))
    close_at(open_at("pump-domestic-1", _local(10)), _local(15))
    open_at("pump-domestic-1", _local(23, 59))
    open_at("tank-domestic", _local(24))


def _scripted_alarms(records: RecordsDB) -> None:
    """As the alert engine logs them: a pump trip 12:00-12:15; a comms loss of the lift from
    23:00 the day before to 01:00; a tank-low from 23:00 still firing at midnight; a pending
    alert that was cancelled (never an alarm); one that fired the next day (not this day's)."""

    def log(equipment: str, rule: str, change: str, at: datetime, episode: int = 1) -> None:
        data = {"rule_id": rule, "change": change, "episode": episode}
        with records.engine.begin() as conn:
            logbook.append(conn, LogEntry(at, equipment, "alert", f"{rule}名: {change}", data=data))

    log("lift-b1-1", "comms_loss", "pending", _local(-1, -1))
    log("lift-b1-1", "comms_loss", "firing", _local(-1))
    log("pump-domestic-1", "pump_trip", "pending", _local(11, 59))
    log("pump-domestic-1", "pump_trip", "firing", _local(12))
    log("lift-b1-1", "comms_loss", "resolved", _local(1))
    log("pump-domestic-1", "pump_trip", "resolved", _local(12, 15))
    log("pump-domestic-1", "short_cycling", "pending", _local(13))
    log("pump-domestic-1", "short_cycling", "cancelled", _local(13, 1))
    log("tank-domestic", "tank_low", "firing", _local(23))
    log("tank-fire", "tank_low", "firing", _local(24, 5))


@pytest.fixture
def context(site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB) -> ApiContext:
    _scripted_day(ts_store)
    _scripted_tickets(records)
    _scripted_alarms(records)
    clock = FakeClock(datetime(2026, 3, 3, 2, 0, tzinfo=UTC))  # 10:00 on 3 March, local
    return ApiContext(site=site, store=ts_store, records=records, clock=clock)


async def test_daily_report_by_hand(context: ApiContext, records: RecordsDB) -> None:
    viewer = auth(new_key(records, Role.VIEWER))
    async with client_for(context) as client:
        response = await client.get("/api/v1/reports/daily", headers=viewer)  # yesterday
        assert isinstance(context.clock, FakeClock)
        context.clock.advance(30 * 86400)  # a month later, the same day recomputes the same
        later = await client.get(
            "/api/v1/reports/daily", params={"date": "2026-03-02"}, headers=viewer
        )
    assert response.status_code == 200
    report = response.json()
    assert later.json() == report
    assert report["date"] == "2026-03-02" and report["complete"] is True
    assert report["start"] == "2026-03-02T00:00:00+08:00"
    lines = {m["equipment"]: m for m in report["machines"]}

    pump = lines["pump-domestic-1"]
    assert pump["name"] == "生活变频泵1号"
    assert pump["run_hours"] == pytest.approx(2.5)  # 2 h + 0.5 h
    assert pump["starts"] == 2  # 08:00 and 14:00
    assert pump["faults"] == 1  # 12:00
    # of the 23 h with data (the stale hour is no data), 15 min faulted
    assert pump["availability"] == pytest.approx((82800 - 900) / 82800)
    assert pump["data_coverage"] == pytest.approx(82800 / 86400)
    pressure = pump["signals"]["outlet_pressure_mpa"]
    # 8640 ten-second slots, less the 360 of the stale hour; 900 of them running
    good, running = 8640 - 360, 720 + 180
    assert pressure["count"] == good
    assert (pressure["min"], pressure["max"]) == (pytest.approx(0.4), pytest.approx(0.5))
    # shown to the signal's precision (catalogue: 3 decimals for MPa)
    assert pressure["mean"] == round((running * 0.5 + (good - running) * 0.4) / good, 3)
    assert pressure["unit"] == "MPa" and pressure["name_zh"] == "出口压力"
    assert pump["signals"]["current_a"]["max"] == pytest.approx(30.0)
    assert (pump["tickets_opened"], pump["tickets_closed"]) == (2, 2)

    tank = lines["tank-domestic"]
    assert tank["run_hours"] is None and tank["starts"] is None and tank["faults"] is None
    assert tank["availability"] == pytest.approx(1.0)
    assert (tank["tickets_opened"], tank["tickets_closed"]) == (0, 0)
    level = tank["signals"]["level_m"]
    assert (level["min"], level["max"]) == (pytest.approx(0.8), pytest.approx(2.5))
    assert level["mean"] == round((8638 * 1.5 + 0.8 + 2.5) / 8640, 2)  # level_m: 2 decimals

    lift = lines["lift-b1-1"]  # no data at all: no availability, said as such
    assert (lift["run_hours"], lift["starts"], lift["faults"]) == (0.0, 0, 0)
    assert lift["availability"] is None and lift["data_coverage"] == 0.0
    assert lift["signals"] == {"machine_room_temp_c": None}

    # first heard of at noon, healthy since: fully available over the half day it was known
    # (the old report said 50 %, counting the morning before its first reading as down)
    fire_pump = lines["pump-fire-1"]
    assert fire_pump["availability"] == pytest.approx(1.0)
    assert fire_pump["data_coverage"] == pytest.approx(0.5)

    # the day's alarms: overlapping the day, in start order, times in the site's zone
    alarms = [
        (a["equipment"], a["rule_id"], a["started_at"], a["ended_at"], a["duration_minutes"])
        for a in report["alarms"]
    ]
    assert alarms == [
        ("lift-b1-1", "comms_loss", "2026-03-01T23:00:00+08:00", "2026-03-02T01:00:00+08:00", 120),
        (
            "pump-domestic-1",
            "pump_trip",
            "2026-03-02T12:00:00+08:00",
            "2026-03-02T12:15:00+08:00",
            15,
        ),
        ("tank-domestic", "tank_low", "2026-03-02T23:00:00+08:00", None, 60),
    ]
    assert report["alarms"][1]["title"] == "pump_trip名"
    assert report["alarms"][1]["equipment_name"] == "生活变频泵1号"
    # water used: hourly readings 00:00 … 23:00, each 2 m³ over the one before (00:00's over
    # the 23:00 reading of the day before): 24 × 2; the power meter never reported
    assert [(e["equipment"], e["signal"], e["used"], e["unit"]) for e in report["energy"]] == [
        ("meter-water-main", "volume_m3", pytest.approx(48.0), "m³")
    ]
    # the day's tickets: opened or closed on the day
    tickets = [(t["equipment"], t["status"], t["opened_at"][:16]) for t in report["tickets"]]
    assert tickets == [
        ("pump-domestic-1", "closed", "2026-03-01T22:00"),
        ("pump-domestic-1", "closed", "2026-03-02T10:00"),
        ("pump-domestic-1", "open", "2026-03-02T23:59"),
    ]


async def test_daily_report_csv(context: ApiContext, records: RecordsDB) -> None:
    viewer = auth(new_key(records, Role.VIEWER))
    async with client_for(context) as client:
        response = await client.get(
            "/api/v1/reports/daily", params={"date": "2026-03-02", "format": "csv"}, headers=viewer
        )
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    sections = text.split("\r\n\r\n")
    rows = list(csv.DictReader(io.StringIO(sections[0], newline="")))
    pump = next(r for r in rows if r["设备编号"] == "pump-domestic-1")
    assert (pump["设备名称"], pump["类型"], pump["楼栋"]) == ("生活变频泵1号", "水泵", "1号楼")
    assert (pump["运行时长(小时)"], pump["启动次数"], pump["故障次数"]) == ("2.5", "2", "1")
    assert (pump["可用率"], pump["数据覆盖率"]) == ("98.91%", "95.83%")
    assert pump["出口压力(MPa)最大"] == "0.5"
    assert pump["液位(m)最小"] == ""
    assert (pump["新开工单"], pump["关闭工单"]) == ("2", "2")
    assert len(rows) == len(context.site.equipment)  # one line per machine
    lift = next(r for r in rows if r["设备编号"] == "lift-b1-1")
    assert lift["可用率"] == "无数据"
    alarms = list(csv.reader(io.StringIO(sections[1], newline="")))
    assert alarms[0] == ["当日告警"] and alarms[1][:2] == ["设备", "告警"]
    assert alarms[3][:5] == [
        "生活变频泵1号",
        "pump_trip名",
        "",
        "2026-03-02 12:00",
        "2026-03-02 12:15",
    ]
    tickets = list(csv.reader(io.StringIO(sections[2], newline="")))
    assert tickets[0] == ["当日工单"] and len(tickets) == 2 + 3


async def test_daily_report_page(context: ApiContext, records: RecordsDB) -> None:
    viewer = auth(new_key(records, Role.VIEWER))
    async with client_for(context) as client:
        response = await client.get(
            "/api/v1/reports/daily", params={"date": "2026-03-02", "format": "html"}, headers=viewer
        )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    for text in (
        "设备运行日报 2026-03-02",
        "湖畔花园",
        "2026-03-02 00:00 至 2026-03-03 00:00",
        "当日告警",
        "当日工单",
        "当日用能",
        "生活用水总表",
        "无数据",
        "生活变频泵1号",
        "未恢复",
    ):
        assert text in page, text


async def test_daily_report_partial_today_and_future(
    context: ApiContext, records: RecordsDB
) -> None:
    viewer = auth(new_key(records, Role.VIEWER))
    async with client_for(context) as client:
        today = (
            await client.get("/api/v1/reports/daily", params={"date": "2026-03-03"}, headers=viewer)
        ).json()
        assert today["complete"] is False
        assert today["start"] == "2026-03-03T00:00:00+08:00"
        assert today["end"] == "2026-03-03T10:00:00+08:00"  # now, in the site's zone
        future = await client.get(
            "/api/v1/reports/daily", params={"date": "2026-03-04"}, headers=viewer
        )
        assert future.status_code == 422 and "not begun" in future.json()["error"]
