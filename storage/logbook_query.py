"""Reading the equipment logbook: filtered, time-ordered pages with a stable cursor.

Entries are ordered by ``(ts, seq)``. A page's cursor is the ``seq`` of its last entry; the
next page starts strictly after that entry's ``(ts, seq)``, so appends between two requests
never shift or repeat entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.logbook import ROW_COLUMNS, CorruptEntry, LogEntry, decode, logbook, parse_ts

# the time shown for a corrupt entry whose stored time cannot be read
UNREADABLE_TS = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as stored. A corrupt row is still one (``problem`` says what is wrong), with
    what could be read of it, so that a read never fails on it."""

    seq: int
    entry: LogEntry
    hash: str
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class LogQuery:
    equipment: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    types: Sequence[str] = ()
    descending: bool = False


class UnknownCursor(LookupError):
    """The cursor names no logbook entry."""


def read_page(
    conn: Connection, query: LogQuery, limit: int, after: int | None = None
) -> list[StoredEntry]:
    """Up to ``limit`` entries matching ``query``, after the entry with seq ``after``."""
    stmt = sa.select(*ROW_COLUMNS)
    if query.equipment is not None:
        stmt = stmt.where(logbook.c.equipment == query.equipment)
    if query.start is not None:
        stmt = stmt.where(logbook.c.ts >= _utc(query.start))
    if query.end is not None:
        stmt = stmt.where(logbook.c.ts < _utc(query.end))
    if query.types:
        stmt = stmt.where(logbook.c.type.in_(list(query.types)))
    if after is not None:
        found = conn.execute(sa.select(logbook.c.seq).where(logbook.c.seq == after)).first()
        if found is None:
            raise UnknownCursor(f"cursor {after} names no logbook entry")
        # the cursor entry's time compared in SQL, as stored: never converted in Python
        mark = sa.select(logbook.c.ts).where(logbook.c.seq == after).scalar_subquery()
        key = sa.tuple_(logbook.c.ts, logbook.c.seq)
        position = sa.tuple_(mark, sa.literal(after))
        stmt = stmt.where(key < position if query.descending else key > position)
    if query.descending:
        stmt = stmt.order_by(logbook.c.ts.desc(), logbook.c.seq.desc())
    else:
        stmt = stmt.order_by(logbook.c.ts, logbook.c.seq)
    return [_stored(row) for row in conn.execute(stmt.limit(limit))]


def read_all(
    conn: Connection, query: LogQuery, cap: int, page: int = 1000
) -> Iterator[StoredEntry]:
    """Every matching entry (at most ``cap``), fetched a page at a time."""
    after: int | None = None
    sent = 0
    while sent < cap:
        rows = read_page(conn, query, min(page, cap - sent), after)
        yield from rows
        sent += len(rows)
        if len(rows) < min(page, cap - sent + len(rows)):
            return
        after = rows[-1].seq


def read_after(conn: Connection, seq: int, limit: int) -> list[StoredEntry]:
    """Entries appended after ``seq``, in append order (for followers of the logbook)."""
    stmt = sa.select(*ROW_COLUMNS).where(logbook.c.seq > seq).order_by(logbook.c.seq).limit(limit)
    return [_stored(row) for row in conn.execute(stmt)]


def head_seq(conn: Connection) -> int:
    """The seq of the newest entry, 0 for an empty logbook."""
    return int(
        conn.execute(sa.select(sa.func.coalesce(sa.func.max(logbook.c.seq), 0))).scalar_one()
    )


def log_event(stored: StoredEntry, equipment_name: str) -> dict[str, Any]:
    """A ``log`` event for the live stream; ``entry`` has the API's logbook entry fields."""
    e = stored.entry
    return {
        "type": "log",
        "entry": {
            "seq": stored.seq,
            "ts": e.ts.isoformat(),
            "equipment": e.equipment,
            "equipment_name": equipment_name,
            "type": e.type,
            "message": e.message,
            "actor": e.actor,
            "data": e.data,
            "hash": stored.hash,
        },
    }


def read_entry(conn: Connection, seq: int) -> StoredEntry:
    row = conn.execute(sa.select(*ROW_COLUMNS).where(logbook.c.seq == seq)).first()
    if row is None:
        raise UnknownCursor(f"no logbook entry {seq}")
    return _stored(row)


def _stored(row: Any) -> StoredEntry:
    try:
        return StoredEntry(int(row.seq), decode(row), str(row.hash))
    except CorruptEntry as err:
        return StoredEntry(int(row.seq), _salvage(row), str(row.hash), str(err))


def _salvage(row: Any) -> LogEntry:
    """What can be read of a corrupt row: its readable fields, the rest emptied."""
    try:
        ts = parse_ts(row.ts)
    except CorruptEntry:
        ts = UNREADABLE_TS
    try:
        data = json.loads(row.data)
    except (TypeError, ValueError):
        data = {}
    return LogEntry(
        ts,
        str(row.equipment),
        str(row.type),
        str(row.message),
        str(row.actor),
        data if isinstance(data, dict) else {},
    )


def _utc(ts: datetime) -> datetime:
    # the logbook stores UTC; SQLite compares the stored text, so compare in the same zone
    return ts.astimezone(UTC) if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
