"""The logbook through the API: time order, filters, pages, CSV, and tamper detection."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from api import ApiContext
from core.site import Site
from plantroom.cli import main
from storage import RecordsDB, SqliteTimeSeriesStore, logbook
from storage.api_keys import Role
from tests.api_support import auth, client_for, new_key

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai
PUMP = "pump-domestic-1"


def _fill(records: RecordsDB) -> None:
    entries = [
        logbook.LogEntry(T0 + timedelta(minutes=2), PUMP, "state", "水泵启动"),
        logbook.LogEntry(T0 + timedelta(minutes=1), "lift-b1-1", "state", "电梯停止服务"),
        logbook.LogEntry(T0 + timedelta(minutes=9), PUMP, "state", "水泵停止"),
        # recorded late, but belongs earlier in time
        logbook.LogEntry(T0 + timedelta(minutes=1), PUMP, "comms", "通讯中断", data={"q": "stale"}),
        logbook.LogEntry(T0 + timedelta(minutes=30), PUMP, "note", '更换机械密封, "急"', "张工"),
    ]
    with records.engine.begin() as conn:
        for entry in entries:
            logbook.append(conn, entry)


@pytest.fixture
def context(site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB) -> ApiContext:
    _fill(records)
    return ApiContext(site=site, store=ts_store, records=records)


async def test_time_ordered_filtered_and_paged(context: ApiContext, records: RecordsDB) -> None:
    viewer = auth(new_key(records, Role.VIEWER))
    path = f"/api/v1/equipment/{PUMP}/log"
    async with client_for(context) as client:
        every = (await client.get(path, headers=viewer)).json()
        assert [e["message"] for e in every["entries"]] == [
            "通讯中断",
            "水泵启动",
            "水泵停止",
            '更换机械密封, "急"',
        ]
        assert every["entries"][0]["equipment_name"] == "生活变频泵1号"
        assert every["next_cursor"] is None
        states = (await client.get(path, params={"type": "state"}, headers=viewer)).json()
        assert [e["message"] for e in states["entries"]] == ["水泵启动", "水泵停止"]
        two = (await client.get(path, params={"type": ["state", "comms"]}, headers=viewer)).json()
        assert len(two["entries"]) == 3
        window = {
            "start": (T0 + timedelta(minutes=2)).isoformat(),
            "end": "2026-03-01T08:09:00+08:00",
        }
        inside = (await client.get(path, params=window, headers=viewer)).json()
        assert [e["message"] for e in inside["entries"]] == ["水泵启动"]
        pages, cursor = [], None
        while True:
            params: dict[str, str | int] = {"limit": 3, "order": "desc"}
            if cursor is not None:
                params["cursor"] = cursor
            page = (await client.get(path, params=params, headers=viewer)).json()
            pages.append([e["message"] for e in page["entries"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == [['更换机械密封, "急"', "水泵停止", "水泵启动"], ["通讯中断"]]
        bad = await client.get(path, params={"cursor": 999}, headers=viewer)
        assert bad.status_code == 422 and "cursor" in bad.json()["error"]
        assert (
            await client.get(path, params={"type": "gossip"}, headers=viewer)
        ).status_code == 422
        unknown = await client.get("/api/v1/equipment/nope/log", headers=viewer)
        assert unknown.status_code == 404


async def test_csv_opens_with_the_right_columns_and_characters(
    context: ApiContext, records: RecordsDB
) -> None:
    async with client_for(context) as client:
        response = await client.get(
            f"/api/v1/equipment/{PUMP}/log",
            params={"format": "csv"},
            headers=auth(new_key(records, Role.VIEWER)),
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="{PUMP}-logbook.csv"' in response.headers["content-disposition"]
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM spreadsheet programs look for
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert list(rows[0]) == [
        "seq",
        "time",
        "time_utc",
        "equipment",
        "equipment_name",
        "type",
        "message",
        "actor",
        "data",
        "hash",
        "problem",
    ]
    assert [r["message"] for r in rows] == [
        "通讯中断",
        "水泵启动",
        "水泵停止",
        '更换机械密封, "急"',
    ]
    first = rows[0]
    assert first["time"] == "2026-03-01 08:01:00"  # site time zone, Asia/Shanghai
    assert first["equipment_name"] == "生活变频泵1号"
    assert first["data"] == '{"q": "stale"}'
    assert rows[-1]["actor"] == "张工"


async def test_tampering_with_a_row_is_detected(
    context: ApiContext, records: RecordsDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    viewer = auth(new_key(records, Role.VIEWER))
    monkeypatch.setenv("PLANTROOM_DB_URL", records.url)
    async with client_for(context) as client:
        intact = (await client.get("/api/v1/logbook/verify", headers=viewer)).json()
        assert intact == {"ok": True, "checked": 5, "problems": [], "keyed": False, "unkeyed": 0}
        assert main(["verify-log"]) == 0
        with records.engine.begin() as conn:  # someone "corrects" the record by hand
            conn.execute(
                sa.update(logbook.logbook)
                .where(logbook.logbook.c.message == "水泵停止")
                .values(message="水泵正常")
            )
        broken = (await client.get("/api/v1/logbook/verify", headers=viewer)).json()
        assert broken["ok"] is False
        assert broken["problems"] == ["entry 3: content altered (hash mismatch)"]
        assert main(["verify-log"]) == 1
        with records.engine.begin() as conn:  # ... and another removes an entry
            conn.execute(sa.delete(logbook.logbook).where(logbook.logbook.c.seq == 2))
        removed = (await client.get("/api/v1/logbook/verify", headers=viewer)).json()
        assert "entry 2 is missing (removed)" in removed["problems"]


async def test_notes_are_appended_to_the_chain(context: ApiContext, records: RecordsDB) -> None:
    engineer = auth(new_key(records, Role.ENGINEER, "李工"))
    async with client_for(context) as client:
        note = await client.post(
            f"/api/v1/equipment/{PUMP}/log", json={"message": "加注润滑油"}, headers=engineer
        )
        assert note.status_code == 201
        assert note.json()["seq"] == 6 and note.json()["type"] == "note"
        empty = await client.post(
            f"/api/v1/equipment/{PUMP}/log", json={"message": ""}, headers=engineer
        )
        assert empty.status_code == 422
        verified = (await client.get("/api/v1/logbook/verify", headers=engineer)).json()
        assert verified["ok"] and verified["checked"] == 6
