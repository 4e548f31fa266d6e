"""History queries on the SQLite store, each beside the hand-written SQL that is its floor.

A year of one value a minute (525,600 readings) of one series is written through the store
(so its rollups are kept as in production); then each query runs ``--rounds`` times and prints
min / median / max in milliseconds:

- a year at ~1,000 buckets (``every=9h``: 974) through ``history()``, which reads the hourly
  rollups, beside a hand-written GROUP BY over the raw samples (the scan it replaces) and the
  same GROUP BY over the rollup rows in SQL (its floor);
- a year by day (365 buckets, daily rollups), and one local day of a site at UTC+8 in one
  bucket (the daily report's query: hourly rollups);
- a page of 10,000 raw readings (``limit=``) beside the same rows in SQL.

    make bench-history      (or: python -m bench.history --rounds 20)
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.rounds import load_average
from core.readings import Reading, ms_from_utc
from storage.sqlite_ts import HOUR_MS, SqliteTimeSeriesStore

START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)


def timed(run: Callable[[], object], rounds: int) -> tuple[list[float], object]:
    out = run()  # warm the page cache: every round then reads the same pages
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        out = run()
        times.append((time.perf_counter() - began) * 1000)
    return times, out


def row(name: str, times: list[float], size: int) -> str:
    return (
        f"{name:<58}{min(times):>8.2f}{statistics.median(times):>8.2f}{max(times):>8.2f}{size:>8}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ts.db"
        store = SqliteTimeSeriesStore(path)
        minutes = int(YEAR / timedelta(minutes=1))
        began = time.perf_counter()
        for first in range(0, minutes, 5000):
            store.write(
                [
                    Reading("pump-1", "outlet_pressure_mpa", START + timedelta(minutes=m), m % 97)
                    for m in range(first, min(first + 5000, minutes))
                ]
            )
        wrote = time.perf_counter() - began
        print(f"{minutes:,} readings written in {wrote:.1f} s ({minutes / wrote:,.0f}/s)")
        db = sqlite3.connect(path)
        sid = db.execute("SELECT id FROM series").fetchone()[0]
        start_ms, end_ms = ms_from_utc(START), ms_from_utc(START + YEAR)
        nine = timedelta(hours=9)
        every_ms = int(nine.total_seconds() * 1000)

        def store_buckets(s: datetime, e: datetime, w: timedelta) -> Callable[[], object]:
            return lambda: store.history("pump-1", "outlet_pressure_mpa", s, e, w)

        def scan(s_ms: int, e_ms: int, w_ms: int) -> Callable[[], object]:
            return lambda: db.execute(
                "SELECT (ts_ms - ?1) / ?2 AS b, COUNT(value), AVG(value), MIN(value), "
                "MAX(value), MAX(ts_ms), value FROM samples WHERE series_id = ?3 "
                "AND ts_ms >= ?1 AND ts_ms < ?4 AND quality = 'good' GROUP BY b",
                (s_ms, w_ms, sid, e_ms),
            ).fetchall()

        def rollup_rows(width: int, w_ms: int) -> Callable[[], object]:
            return lambda: db.execute(
                "SELECT (start_ms - ?1) / ?2 AS b, SUM(count), SUM(total), MIN(low), MAX(high), "
                "MAX(last_ts), last FROM rollups WHERE series_id = ?3 AND width_ms = ?4 "
                "AND start_ms >= ?1 AND start_ms < ?5 GROUP BY b",
                (start_ms, w_ms, sid, width, end_ms),
            ).fetchall()

        day_start = datetime(2025, 6, 1, 16, tzinfo=UTC)  # 00:00 at UTC+8
        day = timedelta(days=1)
        cases: list[tuple[str, Callable[[], object]]] = [
            (
                "year, every=9h: history() (hourly rollups)",
                store_buckets(START, START + YEAR, nine),
            ),
            ("  floor: the same rollup rows in SQL", rollup_rows(HOUR_MS, every_ms)),
            ("  the raw scan it replaces: GROUP BY over samples", scan(start_ms, end_ms, every_ms)),
            ("year, every=1d: history() (daily rollups)", store_buckets(START, START + YEAR, day)),
            ("  floor: the same rollup rows in SQL", rollup_rows(24 * HOUR_MS, 86_400_000)),
            (
                "one local day (UTC+8), one bucket: history()",
                store_buckets(day_start, day_start + day, day),
            ),
            (
                "  the raw scan: GROUP BY over samples",
                scan(ms_from_utc(day_start), ms_from_utc(day_start + day), 86_400_000),
            ),
            (
                "raw page of 10,000: history(limit=10000)",
                lambda: store.history(
                    "pump-1", "outlet_pressure_mpa", START, START + YEAR, limit=10_000
                ),
            ),
            (
                "  floor: the same rows in SQL",
                lambda: db.execute(
                    "SELECT ts_ms, value, quality, reason FROM samples WHERE series_id = ? "
                    "AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms LIMIT 10000",
                    (sid, start_ms, end_ms),
                ).fetchall(),
            ),
        ]
        print(f"SQLite history, {args.rounds} rounds each, ms; {load_average()}")
        print(f"{'query':<58}{'min':>8}{'median':>8}{'max':>8}{'rows':>8}")
        for name, run in cases:
            times, out = timed(run, args.rounds)
            print(row(name, times, len(out) if isinstance(out, list) else 0))
        db.close()
        store.close()
    print(load_average())


if __name__ == "__main__":
    main()
