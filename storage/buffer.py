"""Store-and-forward: a bounded, durable FIFO of readings on local disk.

When the time-series store is unreachable or slow, the sink puts readings here (and only then
acknowledges them) and replays them in order, with their original timestamps, once the store
is back. Replays are safe because every store treats a reading for the same
(equipment, signal, ts) as the same point.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from core.readings import Quality, Reading, ms_from_utc, utc_from_ms
from storage.timeseries import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buffered (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    equipment TEXT NOT NULL,
    signal TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    value REAL,
    quality TEXT NOT NULL,
    reason TEXT
);
"""


class BufferFull(StoreError):
    """The buffer holds ``capacity`` readings; the caller must apply its full policy."""


class DiskBuffer:
    def __init__(self, path: str | Path, capacity: int = 5_000_000) -> None:
        self.path = Path(path)
        self.capacity = capacity
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # buffered means acknowledged: fsync
            self._db.executescript(_SCHEMA)
            self._depth = int(self._db.execute("SELECT COUNT(*) FROM buffered").fetchone()[0])
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"local buffer {self.path}: {err}") from err

    @property
    def depth(self) -> int:
        return self._depth

    def oldest(self) -> datetime | None:
        """Timestamp of the reading that has waited longest (first in, first out)."""
        with self._lock:
            row = self._db.execute("SELECT ts_ms FROM buffered ORDER BY id LIMIT 1").fetchone()
        return utc_from_ms(row[0]) if row and row[0] is not None else None

    def append(self, readings: Sequence[Reading]) -> None:
        """Durably append all of ``readings`` or none; BufferFull when they do not fit."""
        if not readings:
            return
        with self._lock:
            if self._depth + len(readings) > self.capacity:
                raise BufferFull(
                    f"local buffer {self.path} is full ({self._depth} of {self.capacity} readings)"
                )
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO buffered (equipment, signal, ts_ms, value, quality, reason) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            r.equipment,
                            r.signal,
                            ms_from_utc(r.ts),
                            r.value,
                            r.quality.value,
                            r.reason,
                        )
                        for r in readings
                    ],
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"local buffer {self.path}: append failed: {err}") from err
            self._depth += len(readings)

    def peek(self, limit: int) -> tuple[int, list[Reading]]:
        """The oldest ``limit`` readings and the id to ``drop`` them by."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, equipment, signal, ts_ms, value, quality, reason FROM buffered "
                "ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        if not rows:
            return 0, []
        readings = [
            Reading(eq, sig, utc_from_ms(ts), value, Quality(q), reason)
            for _, eq, sig, ts, value, q, reason in rows
        ]
        return int(rows[-1][0]), readings

    def drop(self, up_to_id: int) -> None:
        with self._lock:
            cursor = self._db.execute("DELETE FROM buffered WHERE id <= ?", (up_to_id,))
            self._depth = max(0, self._depth - cursor.rowcount)

    def close(self) -> None:
        with self._lock:
            self._db.close()
