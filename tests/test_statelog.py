"""The state recorder: readings in, logbook entries out (and into the real records DB)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from alerts.statelog import StateRecorder, StateTracker
from core.readings import Quality, Reading
from core.site import Site
from storage import RecordsDB, SqliteTimeSeriesStore, logbook
from storage.logbook_query import LogQuery, StoredEntry, read_page
from tests.servers.postgres import Postgres

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _r(
    eq: str, signal: str, second: int, value: float | None, q: Quality = Quality.GOOD
) -> Reading:
    return Reading(eq, signal, T0 + timedelta(seconds=second), value, q)


def test_changes_become_entries_and_repeats_do_not(site: Site) -> None:
    tracker = StateTracker(site)
    tracker.prime([_r("pump-domestic-1", "running", 0, 0.0), _r("lift-b1-1", "in_service", 0, 1.0)])
    entries = tracker.observe(
        [
            _r("pump-domestic-1", "running", 2, 1.0),
            _r("pump-domestic-1", "running", 1, 0.0),  # out of order: sorted by time
            _r("pump-domestic-1", "running", 3, 1.0),
            _r("pump-domestic-1", "outlet_pressure_mpa", 3, 0.4),  # not a state signal
            _r("lift-b1-1", "in_service", 4, 0.0),
            _r("tank-domestic", "low_level", 4, 0.0),  # first value: the baseline, no entry
        ]
    )
    assert [(e.equipment, e.type, e.message, e.ts) for e in entries] == [
        ("pump-domestic-1", "state", "水泵启动", T0 + timedelta(seconds=2)),
        ("lift-b1-1", "state", "电梯停止服务", T0 + timedelta(seconds=4)),
    ]
    assert entries[0].data == {"signal": "running", "value": True}


def test_comms_lost_and_restored_once_each(site: Site) -> None:
    tracker = StateTracker(site)
    tracker.prime([_r("pump-fire-1", "running", 0, 1.0)])
    stale = [_r("pump-fire-1", s, 10, None, Quality.STALE) for s in ("running", "current_a")]
    lost = tracker.observe(stale)
    assert [(e.type, e.message) for e in lost] == [("comms", "通讯中断")]
    assert lost[0].data["quality"] == "stale"
    assert tracker.observe([_r("pump-fire-1", "running", 11, None, Quality.STALE)]) == []
    back = tracker.observe([_r("pump-fire-1", "running", 20, 0.0)])
    # the pump also stopped while nobody could see it
    assert [(e.type, e.message) for e in back] == [("comms", "通讯恢复"), ("state", "水泵停止")]


async def test_recorder_appends_to_the_chain_and_announces(site: Site, records: RecordsDB) -> None:
    announced: list[dict[str, object]] = []
    recorder = StateRecorder(site, records, announced.append)
    recorder.tracker.prime([_r("firepanel-1", "fire_alarm", 0, 0.0)])
    stop = asyncio.Event()
    running = asyncio.ensure_future(recorder.run(stop))
    recorder.observe([_r("firepanel-1", "fire_alarm", 5, 1.0)])
    stop.set()
    await asyncio.wait_for(running, 5)
    with records.engine.connect() as conn:
        page = read_page(conn, LogQuery("firepanel-1"), 10)
        assert logbook.verify(conn).ok
    assert [s.entry.message for s in page] == ["火警"]
    assert announced[0]["type"] == "log"
    entry = announced[0]["entry"]
    assert isinstance(entry, dict)
    assert entry["equipment_name"] == "消防报警主机" and entry["seq"] == page[0].seq


async def test_recorder_can_follow_the_store_instead(
    site: Site, records: RecordsDB, ts_store: SqliteTimeSeriesStore
) -> None:
    recorder = StateRecorder(site, records)
    ts_store.write([_r("pump-fire-1", "running", 0, 0.0)])
    recorder.tracker.prime(ts_store.latest(["pump-fire-1"]).values())
    stop = asyncio.Event()
    tasks = [
        asyncio.ensure_future(recorder.follow(ts_store, stop, every=0.05)),
        asyncio.ensure_future(recorder.run(stop)),
    ]
    ts_store.write([_r("pump-fire-1", "running", 1, 1.0)])
    deadline = asyncio.get_running_loop().time() + 5
    page: list[StoredEntry] = []
    while not page:
        assert asyncio.get_running_loop().time() < deadline, "no logbook entry in time"
        await asyncio.sleep(0.05)
        with records.engine.connect() as conn:
            page = read_page(conn, LogQuery("pump-fire-1"), 10)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert [s.entry.message for s in page] == ["水泵启动"]


async def test_two_recorders_log_each_change_once(site: Site, postgres: Postgres) -> None:
    """Two alert engines each run a recorder that sees the same changes: one entry each."""
    url = postgres.create_database()
    dbs = [RecordsDB(url), RecordsDB(url)]
    try:
        recorders = [StateRecorder(site, db) for db in dbs]
        stop = asyncio.Event()
        runs = [asyncio.ensure_future(r.run(stop)) for r in recorders]
        machines = ["pump-domestic-1", "pump-fire-1"]
        for recorder in recorders:
            recorder.tracker.prime([_r(eq, "running", 0, 0.0) for eq in machines])
        for second in range(1, 9):
            batch = [_r(eq, "running", second, float(second % 2)) for eq in machines]
            for recorder in recorders:  # both engines see every batch, and append at once
                recorder.observe(batch)
        # one engine also saw a late, stale start after the last stop was logged
        stop.set()
        await asyncio.wait_for(asyncio.gather(*runs), 30)
        recorders[1].tracker.prime([_r(eq, "running", 8, 0.0) for eq in machines])
        late = recorders[1].tracker.observe([_r(eq, "running", 7, 1.0) for eq in machines])
        recorders[1]._append(late)
        with dbs[0].engine.connect() as conn:
            for eq in machines:
                messages = [s.entry.message for s in read_page(conn, LogQuery(eq), 100)]
                assert messages == ["水泵启动", "水泵停止"] * 4, eq
            assert logbook.verify(conn).ok
    finally:
        for db in dbs:
            db.close()
