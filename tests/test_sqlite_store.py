"""The embedded SQLite time-series store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.readings import Quality, Reading
from storage import Bucket, SqliteTimeSeriesStore

T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


def pressure(minute: int, value: float | None, quality: Quality = Quality.GOOD) -> Reading:
    return Reading(
        "pump-domestic-1", "outlet_pressure_mpa", T0 + timedelta(minutes=minute), value, quality
    )


def test_write_latest_and_raw_history(ts_store: SqliteTimeSeriesStore) -> None:
    ts_store.write([pressure(m, (40 + m) / 100) for m in range(10)])
    ts_store.write([pressure(10, None, Quality.STALE)])
    latest = ts_store.latest(["pump-domestic-1", "tank-fire"])
    assert latest[("pump-domestic-1", "outlet_pressure_mpa")].quality is Quality.STALE
    assert latest[("pump-domestic-1", "outlet_pressure_mpa")].value is None
    rows = ts_store.history("pump-domestic-1", "outlet_pressure_mpa", T0, T0 + timedelta(minutes=5))
    assert [r.value for r in rows if isinstance(r, Reading)] == [0.4, 0.41, 0.42, 0.43, 0.44]


def test_rewriting_a_timestamp_replaces_it_and_older_writes_do_not_move_latest(
    ts_store: SqliteTimeSeriesStore,
) -> None:
    ts_store.write([pressure(5, 0.5)])
    ts_store.write([pressure(5, 0.55)])
    ts_store.write([pressure(1, 0.1)])  # late arrival
    rows = ts_store.history("pump-domestic-1", "outlet_pressure_mpa", T0, T0 + timedelta(hours=1))
    assert [(r.ts.minute, r.value) for r in rows if isinstance(r, Reading)] == [(1, 0.1), (5, 0.55)]
    assert (
        ts_store.latest(["pump-domestic-1"])[("pump-domestic-1", "outlet_pressure_mpa")].value
        == 0.55
    )


def test_downsampling_summarises_good_values_per_bucket(ts_store: SqliteTimeSeriesStore) -> None:
    ts_store.write([pressure(m, float(m)) for m in range(30)])
    ts_store.write([pressure(31, None, Quality.COMM_FAULT)])
    buckets = ts_store.history(
        "pump-domestic-1", "outlet_pressure_mpa", T0, T0 + timedelta(hours=1), timedelta(minutes=10)
    )
    assert all(isinstance(b, Bucket) for b in buckets)
    summary = [
        (b.start.minute, b.count, b.mean, b.min, b.max, b.last)
        for b in buckets
        if isinstance(b, Bucket)
    ]
    assert summary == [
        (0, 10, 4.5, 0.0, 9.0, 9.0),
        (10, 10, 14.5, 10.0, 19.0, 19.0),
        (20, 10, 24.5, 20.0, 29.0, 29.0),
    ]


def test_unknown_series_is_empty(ts_store: SqliteTimeSeriesStore) -> None:
    assert ts_store.history("nobody", "level_m", T0, T0 + timedelta(hours=1)) == []
    assert ts_store.latest(["nobody"]) == {}


def test_range_scans_use_the_series_time_index(ts_store: SqliteTimeSeriesStore) -> None:
    ts_store.write([pressure(1, 0.1)])
    plan = ts_store._db.execute(
        "EXPLAIN QUERY PLAN SELECT ts_ms, value FROM samples WHERE series_id = 1 "
        "AND ts_ms >= 0 AND ts_ms < 10"
    ).fetchall()
    detail = " ".join(str(row[-1]) for row in plan)
    assert "SEARCH samples USING PRIMARY KEY (series_id=? AND ts_ms>? AND ts_ms<?)" in detail


def test_reopening_keeps_data_and_series_ids(tmp_path: Path) -> None:
    store = SqliteTimeSeriesStore(tmp_path / "ts.db")
    store.write([pressure(1, 0.1)])
    store.close()
    store = SqliteTimeSeriesStore(tmp_path / "ts.db")
    store.write([pressure(2, 0.2)])
    rows = store.history("pump-domestic-1", "outlet_pressure_mpa", T0, T0 + timedelta(hours=1))
    assert len(rows) == 2
    store.close()


def test_two_stores_on_one_file_see_each_others_new_series(tmp_path: Path) -> None:
    """``plantroom api`` and ``plantroom collect`` as separate processes on one SQLite file
    (the README's setup): a machine first seen after the reader opened still has history."""
    reader = SqliteTimeSeriesStore(tmp_path / "shared.db")
    writer = SqliteTimeSeriesStore(tmp_path / "shared.db")
    assert reader.history("pump-new", "running", T0, T0 + timedelta(hours=1)) == []
    reading = Reading("pump-new", "running", T0 + timedelta(minutes=1), 1.0)
    writer.write([reading])
    assert reader.history("pump-new", "running", T0, T0 + timedelta(hours=1)) == [reading]
    buckets = reader.history("pump-new", "running", T0, T0 + timedelta(hours=1), timedelta(hours=1))
    assert buckets == [Bucket(T0, 1, 1.0, 1.0, 1.0, 1.0)]
    assert reader.latest(["pump-new"]) == {("pump-new", "running"): reading}
    # and the reader writing the same series joins it rather than making another
    later = Reading("pump-new", "running", T0 + timedelta(minutes=2), 0.0)
    reader.write([later])
    assert writer.history("pump-new", "running", T0, T0 + timedelta(hours=1)) == [reading, later]
    reader.close()
    writer.close()
