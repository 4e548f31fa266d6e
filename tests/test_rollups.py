"""Rollups of the SQLite store answer bucket queries exactly as a scan of the samples would:
checked against an oracle computed here from what was written (the last write of a series
and millisecond wins; only good values count), over in-order writes, late and rewritten
values, a good value replaced by a stale one, and a file written before rollups existed."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.readings import Quality, Reading
from storage.sqlite_ts import DAY_MS, HOUR_MS, SqliteTimeSeriesStore
from storage.timeseries import Bucket

T0 = datetime(2026, 3, 1, tzinfo=UTC)
Row = tuple[datetime, int, float, float, float, float]


def oracle(written: list[Reading], start: datetime, end: datetime, every: timedelta) -> list[Row]:
    final: dict[datetime, Reading] = {}
    for r in written:
        final[r.ts] = r
    buckets: dict[int, list[tuple[datetime, float]]] = {}
    for ts, r in sorted(final.items()):
        if r.quality is Quality.GOOD and r.value is not None and start <= ts < end:
            buckets.setdefault((ts - start) // every, []).append((ts, r.value))
    return [
        (
            start + b * every,
            len(vals),
            sum(v for _, v in vals) / len(vals),
            min(v for _, v in vals),
            max(v for _, v in vals),
            vals[-1][1],
        )
        for b, vals in sorted(buckets.items())
    ]


def shape(
    buckets: list[Reading] | list[Bucket],
) -> list[tuple[datetime, int, float, float, float, float]]:
    out = []
    for b in buckets:
        assert isinstance(b, Bucket)
        out.append((b.start, b.count, pytest.approx(b.mean), b.min, b.max, b.last))
    return out  # type: ignore[return-value]


QUERIES = [
    (T0, T0 + timedelta(days=3), timedelta(hours=1)),  # hourly rollups
    (T0, T0 + timedelta(days=3), timedelta(hours=5)),  # hours folded into buckets
    (T0, T0 + timedelta(days=3), timedelta(days=1)),  # daily rollups
    (T0 + timedelta(hours=16), T0 + timedelta(days=2, hours=16), timedelta(days=1)),  # UTC+8
    (T0, T0 + timedelta(days=2, minutes=90), timedelta(hours=2)),  # partial last hour scanned
    (T0 + timedelta(minutes=7), T0 + timedelta(days=2), timedelta(hours=1)),  # off the grid
]

offsets = st.integers(min_value=0, max_value=3 * DAY_MS - 1)
values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
qualities = st.sampled_from([Quality.GOOD, Quality.GOOD, Quality.GOOD, Quality.STALE])
batches = st.lists(
    st.lists(st.tuples(offsets, values, qualities), min_size=1, max_size=30),
    min_size=1,
    max_size=6,
)


def _reading(offset_ms: int, value: float, quality: Quality) -> Reading:
    ts = T0 + timedelta(milliseconds=offset_ms)
    if quality is Quality.GOOD:
        return Reading("pump-1", "outlet_pressure_mpa", ts, value)
    return Reading("pump-1", "outlet_pressure_mpa", ts, None, quality, "no data")


@settings(max_examples=60, deadline=None)
@given(batches=batches, in_order=st.booleans())
def test_rollups_equal_a_scan_of_what_was_written(
    batches: list[list[tuple[int, float, Quality]]], in_order: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _check(Path(tmp), batches, in_order)


def _check(tmp: Path, batches: list[list[tuple[int, float, Quality]]], in_order: bool) -> None:
    store = SqliteTimeSeriesStore(tmp / "ts.db")
    written: list[Reading] = []
    try:
        for batch in batches:
            rows = sorted(batch) if in_order else batch
            readings = [_reading(*row) for row in rows]
            store.write(readings)
            written += readings
        for start, end, every in QUERIES:
            got = store.history("pump-1", "outlet_pressure_mpa", start, end, every)
            assert shape(got) == oracle(written, start, end, every), (start, end, every)
    finally:
        store.close()


def test_hourly_and_daily_rows_are_kept_as_data_arrives(tmp_path: Path) -> None:
    store = SqliteTimeSeriesStore(tmp_path / "ts.db")
    minute = timedelta(minutes=1)
    store.write([Reading("p", "x", T0 + i * minute, float(i)) for i in range(120)])
    store.write([Reading("p", "x", T0 + 30 * minute, None, Quality.STALE, "late stale")])
    store.close()
    with sqlite3.connect(tmp_path / "ts.db") as db:
        rows = db.execute(
            "SELECT width_ms, start_ms, count, total, low, high, last FROM rollups ORDER BY 1, 2"
        ).fetchall()
    t0 = int(T0.timestamp() * 1000)
    first_hour = sum(range(60)) - 30
    assert rows == [
        (HOUR_MS, t0, 59, first_hour, 0.0, 59.0, 59.0),
        (HOUR_MS, t0 + HOUR_MS, 60, sum(range(60, 120)), 60.0, 119.0, 119.0),
        (DAY_MS, t0, 119, first_hour + sum(range(60, 120)), 0.0, 119.0, 119.0),
    ]


def test_a_file_written_before_rollups_gets_them_on_open(tmp_path: Path) -> None:
    path = tmp_path / "ts.db"
    store = SqliteTimeSeriesStore(path)
    written = [Reading("p", "x", T0 + timedelta(minutes=7 * i), float(i % 13)) for i in range(900)]
    store.write(written)
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE rollups")
    store = SqliteTimeSeriesStore(path)
    try:
        for start, end, every in QUERIES:
            got = store.history("p", "x", start, end, every)
            assert shape(got) == oracle(written, start, end, every)
    finally:
        store.close()
