"""The equipment logbook: append-only, tamper-evident (DESIGN §8, 无涂改).

Every entry carries ``hash = sha256(prev_hash + canonical entry)``, chained across the whole
logbook in ``seq`` order. A head row holds the last seq and hash, and appending updates it in
the same transaction, which serialises concurrent writers (a row lock on PostgreSQL, the
write lock on SQLite) so the chain never forks. ``verify`` recomputes the chain and reports
altered, removed or truncated entries.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.records import metadata

GENESIS = "0" * 64

logbook = sa.Table(
    "logbook",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("equipment", sa.String(64), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),  # state, alert, ticket, comms, note
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # canonical JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_logbook_equipment_ts", "equipment", "ts"),
)

logbook_head = sa.Table(
    "logbook_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


@dataclass(frozen=True, slots=True)
class LogEntry:
    ts: datetime
    equipment: str
    type: str
    message: str
    actor: str = "system"
    data: dict[str, Any] = field(default_factory=dict)


def _canonical_ts(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, seq: int, entry: LogEntry) -> str:
    body = json.dumps(
        [
            seq,
            _canonical_ts(entry.ts),
            entry.equipment,
            entry.type,
            entry.message,
            entry.actor,
            entry.data,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def append(conn: Connection, entry: LogEntry) -> int:
    """Append ``entry`` inside the caller's transaction; returns its seq."""
    bumped = conn.execute(
        logbook_head.update()
        .where(logbook_head.c.id == 1)
        .values(seq=logbook_head.c.seq + 1)
        .returning(logbook_head.c.seq, logbook_head.c.hash)
    ).first()
    if bumped is None:
        conn.execute(logbook_head.insert().values(id=1, seq=1, hash=GENESIS))
        seq, prev = 1, GENESIS
    else:
        seq, prev = int(bumped.seq), str(bumped.hash)
    digest = entry_hash(prev, seq, entry)
    conn.execute(
        logbook.insert().values(
            seq=seq,
            # SQLite keeps no offset: store UTC, as verify and the hash read it back
            ts=entry.ts.astimezone(UTC),
            equipment=entry.equipment,
            type=entry.type,
            message=entry.message,
            actor=entry.actor,
            data=json.dumps(entry.data, ensure_ascii=False, sort_keys=True),
            prev_hash=prev,
            hash=digest,
        )
    )
    conn.execute(logbook_head.update().where(logbook_head.c.id == 1).values(hash=digest))
    return seq


@dataclass
class VerifyReport:
    ok: bool
    checked: int
    problems: list[str]


def verify(conn: Connection) -> VerifyReport:
    """Recompute the whole chain; every altered, missing or truncated entry is a problem."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for row in conn.execute(sa.select(logbook).order_by(logbook.c.seq)):
        checked += 1
        if row.seq != expected_seq:
            problems.append(f"entries {expected_seq}..{row.seq - 1} are missing (removed)")
        entry = LogEntry(
            _aware(row.ts), row.equipment, row.type, row.message, row.actor, json.loads(row.data)
        )
        if row.prev_hash != prev and row.seq == expected_seq:
            problems.append(f"entry {row.seq}: does not follow entry {row.seq - 1}")
        if entry_hash(row.prev_hash, row.seq, entry) != row.hash:
            problems.append(f"entry {row.seq}: content altered (hash mismatch)")
        prev = row.hash
        expected_seq = row.seq + 1
    head = conn.execute(sa.select(logbook_head).where(logbook_head.c.id == 1)).first()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        problems.append(
            f"the chain ends at entry {expected_seq - 1} but the head says {head.seq}: "
            "entries were removed from the end or the head was altered"
        )
    return VerifyReport(not problems, checked, problems)


def _aware(ts: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored in UTC
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
