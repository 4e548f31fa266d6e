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
from core.tickets import Due
from storage import RecordsDB, SqliteTimeSeriesStore
from storage.api_keys import Role
from storage.ticket_desk import open_manual_ticket
from storage.tickets import transition
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
                conn, equipment, "general", "报修", "major", due, "前台", at
            )
        return int(row["id"])

    def close_at(ticket_id: int, at: datetime) -> None:
        for action in ("resolve", "close"):
            transition(records.engine, ticket_id, action, "张工", at.astimezone(UTC))

    close_at(open_at("pump-domestic-1", _local(-2)), _local(9))
    close_at(open_at("pump-domestic-1", _local(10)), _local(15))
    open_at("pump-domestic-1", _local(23, 59))
    open_at("tank-domestic", _local(24))


@pytest.fixture
def context(site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB) -> ApiContext:
    _scripted_day(ts_store)
    _scripted_tickets(records)
    clock = FakeClock(datetime(2026, 3, 3, 2, 0, tzinfo=UTC))  # 10:00 on 3 March, local
    return ApiContext(site=site, store=ts_store, records=records, clock=clock)


async def test_daily_report_by_hand(context: ApiContext, records: RecordsDB) -> None:
    viewer = auth(new_key(records, Role.VIEWER))
    async with client_for(context) as client:
        response = await client.get("/api/v1/reports/daily", headers=viewer)  # yesterday
    assert response.status_code == 200
    report = response.json()
    assert report["date"] == "2026-03-02" and report["complete"] is True
    assert report["start"] == "2026-03-02T00:00:00+08:00"
    lines = {m["equipment"]: m for m in report["machines"]}

    pump = lines["pump-domestic-1"]
    assert pump["name"] == "生活变频泵1号"
    assert pump["run_hours"] == pytest.approx(2.5)  # 2 h + 0.5 h
    assert pump["starts"] == 2  # 08:00 and 14:00
    assert pump["faults"] == 1  # 12:00
    # down: 15 min faulted + 1 h stale = 4500 s of 86400
    assert pump["availability"] == pytest.approx((86400 - 900 - 3600) / 86400)
    pressure = pump["signals"]["outlet_pressure_mpa"]
    # 8640 ten-second slots, less the 360 of the stale hour; 900 of them running
    good, running = 8640 - 360, 720 + 180
    assert pressure["count"] == good
    assert (pressure["min"], pressure["max"]) == (pytest.approx(0.4), pytest.approx(0.5))
    assert pressure["mean"] == pytest.approx((running * 0.5 + (good - running) * 0.4) / good)
    assert pressure["unit"] == "MPa" and pressure["name_zh"] == "出口压力"
    assert pump["signals"]["current_a"]["max"] == pytest.approx(30.0)
    assert (pump["tickets_opened"], pump["tickets_closed"]) == (2, 2)

    tank = lines["tank-domestic"]
    assert tank["run_hours"] is None and tank["starts"] is None and tank["faults"] is None
    assert tank["availability"] == pytest.approx(1.0)
    assert (tank["tickets_opened"], tank["tickets_closed"]) == (0, 0)
    level = tank["signals"]["level_m"]
    assert (level["min"], level["max"]) == (pytest.approx(0.8), pytest.approx(2.5))
    assert level["mean"] == pytest.approx((8638 * 1.5 + 0.8 + 2.5) / 8640)

    lift = lines["lift-b1-1"]  # no data at all: nothing known, nothing available
    assert (lift["run_hours"], lift["starts"], lift["faults"]) == (0.0, 0, 0)
    assert lift["availability"] == 0.0
    assert lift["signals"] == {"machine_room_temp_c": None}


async def test_daily_report_csv(context: ApiContext, records: RecordsDB) -> None:
    viewer = auth(new_key(records, Role.VIEWER))
    async with client_for(context) as client:
        response = await client.get(
            "/api/v1/reports/daily", params={"date": "2026-03-02", "format": "csv"}, headers=viewer
        )
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    pump = next(r for r in rows if r["equipment"] == "pump-domestic-1")
    assert (
        pump["name"] == "生活变频泵1号" and pump["kind"] == "水泵" and pump["building"] == "1号楼"
    )
    assert (pump["run_hours"], pump["starts"], pump["faults"]) == ("2.5", "2", "1")
    assert pump["availability_pct"] == "94.79"
    assert pump["outlet_pressure_mpa_max"] == "0.5"
    assert pump["level_m_min"] == ""
    assert (pump["tickets_opened"], pump["tickets_closed"]) == ("2", "2")
    assert len(rows) == len(context.site.equipment)  # one line per machine


async def test_daily_report_partial_today_and_future(
    context: ApiContext, records: RecordsDB
) -> None:
    viewer = auth(new_key(records, Role.VIEWER))
    async with client_for(context) as client:
        today = (
            await client.get("/api/v1/reports/daily", params={"date": "2026-03-03"}, headers=viewer)
        ).json()
        assert today["complete"] is False
        assert today["end"] == "2026-03-03T02:00:00Z"
        future = await client.get(
            "/api/v1/reports/daily", params={"date": "2026-03-04"}, headers=viewer
        )
        assert future.status_code == 422 and "not begun" in future.json()["error"]
