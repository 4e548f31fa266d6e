"""Embedded time-series store on SQLite (WAL).

Layout: one row per series (machine, signal) and one ``samples`` table clustered on
(series_id, ts_ms), so a range scan of one series reads only that series' pages. The latest
value of every series is kept in its own small table so dashboards and the API never scan
history for it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from core.readings import Quality, Reading, ms_from_utc, utc_from_ms
from storage.timeseries import Bucket, SeriesTags, StoreError

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
            # last-in-bucket picks the value at the bucket's greatest ts (SQLite's bare-column rule)
            rows = self._db.execute(
                "SELECT (ts_ms - ?1) / ?2 AS bucket, COUNT(value), AVG(value), MIN(value), "
                "MAX(value), value, MAX(ts_ms) FROM samples "
                "WHERE series_id = ?3 AND ts_ms >= ?1 AND ts_ms < ?4 AND quality = 'good' "
                "GROUP BY bucket ORDER BY bucket",
                (start_ms, every_ms, sid, end_ms),
            ).fetchall()
        return [
            Bucket(utc_from_ms(start_ms + b * every_ms), n, mean, lo, hi, last)
            for b, n, mean, lo, hi, last, _ in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._db.close()
