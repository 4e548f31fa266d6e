"""Embedded time-series store on SQLite (WAL).

Layout: one row per series (machine, signal) and one ``samples`` table clustered on
(series_id, ts_ms), so a range scan of one series reads only that series' pages. The latest
value of every series is kept in its own small table so dashboards and the API never scan
history for it.

Rollups: hourly and daily count / sum / min / max / last of the good values of every series,
kept up to date by each write, so that a summary of a long range reads one row per hour or day
instead of every sample (a year of one value a minute at 1,000 buckets: 196 ms by scanning,
a few ms from the hourly rows; ``make bench-history``). A batch whose values of a series are
all newer than anything stored for it (the usual case) adds to its rollups; a series whose
batch rewrites or goes back in time (a replay, a late message) has the hours it touched
recomputed from its samples, so rollups always equal a scan of the samples.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from core.readings import Quality, Reading, ms_from_utc, utc_from_ms
from storage.timeseries import Bucket, SeriesTags, StoreError

K = TypeVar("K")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    equipment TEXT NOT NULL,
    signal TEXT NOT NULL,
    site TEXT NOT NULL DEFAULT '',
    building TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    UNIQUE (equipment, signal)
);
CREATE TABLE IF NOT EXISTS samples (
    series_id INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL,
    value REAL,
    quality TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (series_id, ts_ms)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
    series_id INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    value REAL,
    quality TEXT NOT NULL,
    reason TEXT
);
"""
# good values only, as buckets count them; ``last`` is the value at ``last_ts``
_ROLLUPS = """
CREATE TABLE IF NOT EXISTS rollups (
    series_id INTEGER NOT NULL,
    width_ms INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    count INTEGER NOT NULL,
    total REAL NOT NULL,
    low REAL NOT NULL,
    high REAL NOT NULL,
    last_ts INTEGER NOT NULL,
    last REAL NOT NULL,
    PRIMARY KEY (series_id, width_ms, start_ms)
) WITHOUT ROWID;
CREATE TEMP TABLE IF NOT EXISTS redo (series_id INTEGER NOT NULL, hour INTEGER NOT NULL);
"""
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# add a batch's new values to a rollup row
_ADD_ROLLUP = """
INSERT INTO rollups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, width_ms, start_ms) DO UPDATE SET
    count = count + excluded.count, total = total + excluded.total,
    low = min(low, excluded.low), high = max(high, excluded.high),
    last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END,
    last_ts = max(last_ts, excluded.last_ts)
"""
# recompute the hourly rows of the series and hours in temp table ``redo`` from the samples
_REDO_HOURS = f"""
INSERT OR REPLACE INTO rollups
SELECT g.series_id, {HOUR_MS}, g.hour, g.n, g.total, g.low, g.high, g.last_ts, s.value
FROM (
    SELECT r.series_id, r.hour, COUNT(x.value) AS n, SUM(x.value) AS total,
           MIN(x.value) AS low, MAX(x.value) AS high, MAX(x.ts_ms) AS last_ts
    FROM redo r JOIN samples x ON x.series_id = r.series_id
        AND x.ts_ms >= r.hour AND x.ts_ms < r.hour + {HOUR_MS}
    WHERE x.quality = 'good' AND x.value IS NOT NULL
    GROUP BY r.series_id, r.hour
) g JOIN samples s ON s.series_id = g.series_id AND s.ts_ms = g.last_ts
"""
# ... and the daily rows of the days they fall in, from the hourly rows
_REDO_DAYS = f"""
INSERT OR REPLACE INTO rollups
SELECT g.series_id, {DAY_MS}, g.day, g.n, g.total, g.low, g.high, g.last_ts, h.last
FROM (
    SELECT d.series_id, d.day, SUM(x.count) AS n, SUM(x.total) AS total,
           MIN(x.low) AS low, MAX(x.high) AS high, MAX(x.last_ts) AS last_ts
    FROM (SELECT DISTINCT series_id, hour - hour % {DAY_MS} AS day FROM redo) d
    JOIN rollups x ON x.series_id = d.series_id AND x.width_ms = {HOUR_MS}
        AND x.start_ms >= d.day AND x.start_ms < d.day + {DAY_MS}
    GROUP BY d.series_id, d.day
) g JOIN rollups h ON h.series_id = g.series_id AND h.width_ms = {HOUR_MS}
    AND h.start_ms = g.last_ts - g.last_ts % {HOUR_MS}
"""


def _fold(folded: dict[K, list[float]], bucket: K, summary: list[float]) -> None:
    """Merge one summary [count, total, low, high, last_ts, last] into ``bucket``."""
    held = folded.get(bucket)
    if held is None:
        folded[bucket] = summary
        return
    n, total, low, high, last_ts, last = summary
    held[0] += n
    held[1] += total
    held[2] = min(held[2], low)
    held[3] = max(held[3], high)
    if last_ts >= held[4]:
        held[4], held[5] = last_ts, last


class SqliteTimeSeriesStore:
    """``TimeSeriesStore`` on one SQLite file. Safe to share between threads."""

    def __init__(
        self,
        path: str | Path,
        tags: Mapping[str, SeriesTags] | None = None,
        busy_timeout_ms: int = 5000,
    ) -> None:
        self.path = Path(path)
        self._tags = dict(tags or {})
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            # the busy timeout first: switching to WAL needs the lock another process may hold
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            had_rollups = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rollups'"
            ).fetchone()
            self._db.executescript(_ROLLUPS)
            if not had_rollups:
                self._rebuild_rollups()
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"sqlite time-series store {self.path}: {err}") from err
        self._series: dict[tuple[str, str], int] = {
            (eq, sig): sid
            for sid, eq, sig in self._db.execute("SELECT id, equipment, signal FROM series")
        }

    def _series_id(self, equipment: str, signal: str) -> int:
        key = (equipment, signal)
        sid = self._series.get(key)
        if sid is None:
            tags = self._tags.get(equipment, SeriesTags("", "", ""))
            self._db.execute(
                "INSERT OR IGNORE INTO series (equipment, signal, site, building, kind) "
                "VALUES (?, ?, ?, ?, ?)",
                (equipment, signal, tags.site, tags.building, tags.kind),
            )
            row = self._db.execute(
                "SELECT id FROM series WHERE equipment = ? AND signal = ?", key
            ).fetchone()
            sid = int(row[0])
            self._series[key] = sid
        return sid

    def _rebuild_rollups(self) -> None:
        """Build every rollup row from the samples (a file written before rollups existed)."""
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM rollups")
        self._db.execute("DELETE FROM redo")
        self._db.execute(
            f"INSERT INTO redo SELECT DISTINCT series_id, ts_ms - ts_ms % {HOUR_MS} FROM samples"
        )
        self._db.execute(_REDO_HOURS)
        self._db.execute(_REDO_DAYS)
        self._db.execute("DELETE FROM redo")
        self._db.execute("COMMIT")

    def _update_rollups(self, rows: list[tuple[int, int, float | None, str, str | None]]) -> None:
        """Bring the rollups up to date with ``rows`` (just written, in the open transaction).

        Must run before ``latest`` is updated: a series whose rows are all newer than its
        latest stored time, and strictly increasing, only adds; any other is recomputed.
        """
        sids = list({row[0] for row in rows})
        newest: dict[int, int] = {}
        for start in range(0, len(sids), 500):
            chunk = sids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            newest.update(
                self._db.execute(
                    f"SELECT series_id, ts_ms FROM latest WHERE series_id IN ({marks})", chunk
                ).fetchall()
            )
        dirty: set[int] = set()
        hours: dict[tuple[int, int], list[float]] = {}
        for sid, ts, value, quality, _ in rows:
            if ts <= newest.get(sid, -1):
                dirty.add(sid)
                continue
            newest[sid] = ts
            if value is None or quality != "good":
                continue
            key = (sid, ts - ts % HOUR_MS)
            agg = hours.get(key)
            if agg is None:
                hours[key] = [1, value, value, value, ts, value]
                continue
            agg[0] += 1
            agg[1] += value
            if value < agg[2]:
                agg[2] = value
            elif value > agg[3]:
                agg[3] = value
            agg[4] = ts  # the rows of a series not in ``dirty`` come in time order
            agg[5] = value
        redo: set[tuple[int, int]] = set()
        if dirty:
            hours = {key: agg for key, agg in hours.items() if key[0] not in dirty}
            redo = {(sid, ts - ts % HOUR_MS) for sid, ts, *_ in rows if sid in dirty}
        days: dict[tuple[int, int], list[float]] = {}
        for (sid, hour), summary in hours.items():
            _fold(days, (sid, hour - hour % DAY_MS), list(summary))
        self._db.executemany(
            _ADD_ROLLUP,
            [(sid, HOUR_MS, hour, *agg) for (sid, hour), agg in hours.items()]
            + [(sid, DAY_MS, day, *agg) for (sid, day), agg in days.items()],
        )
        if redo:
            self._db.execute(
                "CREATE TEMP TABLE IF NOT EXISTS redo (series_id INTEGER, hour INTEGER)"
            )
            self._db.executemany("INSERT INTO redo VALUES (?, ?)", sorted(redo))
            # an hour whose good values were all replaced by other qualities has no row now
            self._db.execute(
                f"DELETE FROM rollups WHERE width_ms = {HOUR_MS} AND "
                "(series_id, start_ms) IN (SELECT series_id, hour FROM redo)"
            )
            self._db.execute(_REDO_HOURS)
            self._db.execute(
                f"DELETE FROM rollups WHERE width_ms = {DAY_MS} AND (series_id, start_ms) IN "
                f"(SELECT series_id, hour - hour % {DAY_MS} FROM redo)"
            )
            self._db.execute(_REDO_DAYS)
            self._db.execute("DELETE FROM redo")

    def _known_series(self, equipment: str, signal: str) -> int | None:
        """The id of an existing series. Another process (``plantroom collect`` beside
        ``plantroom api``) may have created it since this store was opened, so a miss in the
        cache is looked up in the file (issue 11)."""
        key = (equipment, signal)
        sid = self._series.get(key)
        if sid is None:
            row = self._db.execute(
                "SELECT id FROM series WHERE equipment = ? AND signal = ?", key
            ).fetchone()
            if row is not None:
                sid = self._series[key] = int(row[0])
        return sid

    def write(self, readings: Sequence[Reading]) -> None:
        if not readings:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                rows = [
                    (
                        self._series_id(r.equipment, r.signal),
                        ms_from_utc(r.ts),
                        r.value,
                        r.quality.value,
                        r.reason,
                    )
                    for r in readings
                ]
                self._db.executemany("INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?, ?)", rows)
                self._update_rollups(rows)
                newest: dict[int, tuple[int, int, float | None, str, str | None]] = {}
                for row in rows:  # one upsert per series per batch, not one per reading
                    held = newest.get(row[0])
                    if held is None or row[1] >= held[1]:
                        newest[row[0]] = row
                self._db.executemany(
                    "INSERT INTO latest VALUES (?, ?, ?, ?, ?) ON CONFLICT (series_id) DO UPDATE "
                    "SET ts_ms = excluded.ts_ms, value = excluded.value, "
                    "quality = excluded.quality, reason = excluded.reason "
                    "WHERE excluded.ts_ms >= latest.ts_ms",
                    list(newest.values()),
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                # the cache may hold ids of series rows that were rolled back
                self._series = {
                    (eq, sig): sid
                    for sid, eq, sig in self._db.execute("SELECT id, equipment, signal FROM series")
                }
                raise StoreError(
                    f"sqlite time-series store {self.path}: write failed: {err}"
                ) from err

    def latest(self, equipment: Iterable[str]) -> dict[tuple[str, str], Reading]:
        ids = list(equipment)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self._db.execute(
                "SELECT s.equipment, s.signal, l.ts_ms, l.value, l.quality, l.reason "
                f"FROM latest l JOIN series s ON s.id = l.series_id WHERE s.equipment IN ({marks})",
                ids,
            ).fetchall()
        return {
            (eq, sig): Reading(eq, sig, utc_from_ms(ts), value, Quality(quality), reason)
            for eq, sig, ts, value, quality, reason in rows
        }

    def history(
        self,
        equipment: str,
        signal: str,
        start: datetime,
        end: datetime,
        every: timedelta | None = None,
        limit: int | None = None,
    ) -> list[Reading] | list[Bucket]:
        start_ms, end_ms = ms_from_utc(start), ms_from_utc(end)
        with self._lock:
            sid = self._known_series(equipment, signal)
            if sid is None:
                return []
            if every is None:
                rows = self._db.execute(
                    "SELECT ts_ms, value, quality, reason FROM samples "
                    "WHERE series_id = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms LIMIT ?",
                    (sid, start_ms, end_ms, -1 if limit is None else limit),
                ).fetchall()
                return [
                    Reading(equipment, signal, utc_from_ms(ts), value, Quality(q), reason)
                    for ts, value, q, reason in rows
                ]
            every_ms = max(1, int(every.total_seconds() * 1000))
            return self._buckets(sid, start_ms, end_ms, every_ms)

    def _buckets(self, sid: int, start_ms: int, end_ms: int, every_ms: int) -> list[Bucket]:
        """Buckets of [start, end): from the rollups where the buckets are made of whole days
        or hours (UTC), the rest (a partial last hour, or any other grid) scanned."""
        width = next(
            (w for w in (DAY_MS, HOUR_MS) if start_ms % w == 0 and every_ms % w == 0), None
        )
        folded: dict[int, list[float]] = {}  # bucket -> [count, total, low, high, last_ts, last]
        scan_from = start_ms
        if width is not None:
            scan_from = min(end_ms, start_ms + (end_ms - start_ms) // width * width)
            # folded in SQL: a year of hourly rows never crosses into Python one by one
            rows = self._db.execute(
                "SELECT (start_ms - ?1) / ?2 AS bucket, SUM(count), SUM(total), MIN(low), "
                "MAX(high), MAX(last_ts), last FROM rollups "
                "WHERE series_id = ?3 AND width_ms = ?4 AND start_ms >= ?1 AND start_ms < ?5 "
                "GROUP BY bucket",
                (start_ms, every_ms, sid, width, scan_from),
            ).fetchall()
            for b, *summary in rows:
                _fold(folded, b, summary)
        if scan_from < end_ms:
            # last-in-bucket is the value at the bucket's greatest ts (SQLite's bare-column
            # rule for max())
            rows = self._db.execute(
                "SELECT (ts_ms - ?1) / ?2 AS bucket, COUNT(value), SUM(value), MIN(value), "
                "MAX(value), MAX(ts_ms), value FROM samples "
                "WHERE series_id = ?3 AND ts_ms >= ?5 AND ts_ms < ?4 AND quality = 'good' "
                "AND value IS NOT NULL GROUP BY bucket ORDER BY bucket",
                (start_ms, every_ms, sid, end_ms, scan_from),
            ).fetchall()
            for b, *summary in rows:
                _fold(folded, b, summary)
        return [
            Bucket(utc_from_ms(start_ms + b * every_ms), int(n), total / n, low, high, last)
            for b, (n, total, low, high, _, last) in sorted(folded.items())
        ]

    def close(self) -> None:
        with self._lock:
            self._db.close()
