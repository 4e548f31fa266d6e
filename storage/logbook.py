"""The equipment logbook: append-only, tamper-evident (DESIGN §8, 无涂改).

Every entry carries ``hash = sha256(prev_hash + canonical entry)``, chained across the whole
logbook in ``seq`` order; with ``PLANTROOM_LOGBOOK_KEY`` set it is an HMAC-SHA256 under that
key instead, so someone who can write the database but lacks the key cannot recompute it. A
head row (made with the schema) holds the last seq and hash; appending updates it in the same
transaction, which serialises concurrent writers (a row lock on PostgreSQL, the write lock on
SQLite) so the chain never forks.

``verify`` recomputes the chain and names every gap: entries removed at the start, in the
middle or at the end (from the head), a missing or altered head, unreadable rows. An append
that finds the chain's end tampered with (the head missing, or not matching the last entry)
does not fail: it first appends a ``tamper`` entry that records what it found, so the
evidence stays in the chain, and carries on.

State changes are logged once per transition (``append_transition``): the latest value of
each (machine, subject) is kept beside the chain, checked under the head's lock, so several
recorders (two alert engines) seeing the same change write one entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.records import metadata

GENESIS = "0" * 64
KEY_ENV = "PLANTROOM_LOGBOOK_KEY"
TAMPER = "tamper"  # the type of the entries an append writes when it finds tampering

logbook = sa.Table(
    "logbook",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("equipment", sa.String(64), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),  # state, alert, ticket, comms, note, tamper
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
# the head exists from the schema's creation on, so its absence is always tampering
HEAD_ROW = {"id": 1, "seq": 0, "hash": GENESIS}


@sa.event.listens_for(logbook_head, "after_create")
def _create_head(_table: sa.Table, connection: Connection, **_kw: Any) -> None:
    connection.execute(logbook_head.insert().values(**HEAD_ROW))


# the latest logged value of each (machine, subject): one entry per transition
logbook_transitions = sa.Table(
    "logbook_transitions",
    metadata,
    sa.Column("equipment", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(64), primary_key=True),  # a signal, or "comms"
    sa.Column("value", sa.String(64), nullable=False),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
)


@dataclass(frozen=True, slots=True)
class LogEntry:
    ts: datetime
    equipment: str
    type: str
    message: str
    actor: str = "system"
    data: dict[str, Any] = field(default_factory=dict)


def chain_key() -> bytes | None:
    """The chain's secret (``PLANTROOM_LOGBOOK_KEY``), None when the chain is not keyed.

    Read from the environment at each use, like the other secrets (DESIGN §3), so that every
    process writing the logbook (API, alert engine, ticket desk) uses the same one."""
    raw = os.environ.get(KEY_ENV, "")
    return raw.encode("utf-8") if raw else None


def _canonical_ts(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, seq: int, entry: LogEntry, key: bytes | None = None) -> str:
    """The entry's link in the chain: SHA-256, or HMAC-SHA256 under ``key``."""
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
    message = (prev_hash + body).encode("utf-8")
    if key is not None:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def _insert(conn: Connection, seq: int, prev: str, entry: LogEntry, key: bytes | None) -> str:
    digest = entry_hash(prev, seq, entry, key)
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
    return digest


def _lock_head(conn: Connection) -> tuple[int, str] | None:
    """Take the head's lock (it serialises appends); its seq and hash, None if it is gone."""
    head = conn.execute(
        logbook_head.update()
        .where(logbook_head.c.id == 1)
        .values(seq=logbook_head.c.seq)
        .returning(logbook_head.c.seq, logbook_head.c.hash)
    ).first()
    return None if head is None else (int(head.seq), str(head.hash))


def append(conn: Connection, entry: LogEntry) -> int:
    """Append ``entry`` inside the caller's transaction; returns its seq.

    When the chain's end was tampered with (the head row deleted, or not matching the last
    entry), a ``tamper`` entry recording it comes first, and the chain goes on from the last
    entry that is there, numbered after the highest seq either one knew."""
    key = chain_key()
    head = _lock_head(conn)
    last = conn.execute(
        sa.select(logbook.c.seq, logbook.c.hash).order_by(logbook.c.seq.desc()).limit(1)
    ).first()
    end = (int(last.seq), str(last.hash)) if last is not None else (0, GENESIS)
    seq, prev = end
    if head != end:
        if head is None:
            conn.execute(logbook_head.insert().values(**HEAD_ROW))
            found = f"the logbook's head row was missing; the last entry is {end[0]}"
        else:
            found = f"the head said entry {head[0]} but the last entry is {end[0]}"
        seq = max(end[0], head[0] if head is not None else 0)
        data = {
            "head_seq": None if head is None else head[0],
            "head_hash": None if head is None else head[1],
            "last_seq": end[0],
            "last_hash": end[1],
        }
        note = LogEntry(entry.ts, "", TAMPER, f"tampering found on append: {found}", data=data)
        seq += 1
        prev = _insert(conn, seq, prev, note, key)
    seq += 1
    digest = _insert(conn, seq, prev, entry, key)
    conn.execute(logbook_head.update().where(logbook_head.c.id == 1).values(seq=seq, hash=digest))
    return seq


class DuplicateTransition(Exception):
    """Another writer logged this transition first (only without the head's lock)."""


def append_transition(conn: Connection, entry: LogEntry, subject: str, value: str) -> int | None:
    """Append ``entry`` as the change of (machine, ``subject``) to ``value``; None when that
    transition is logged already, or a later one is (a recorder that saw it late).

    Under the head's lock, so two recorders seeing the same change serialise here and the
    second finds the first's row; the key of ``logbook_transitions`` and the compare-and-set
    on its ``seq`` hold the rule in the database itself."""
    _lock_head(conn)
    where = (
        logbook_transitions.c.equipment == entry.equipment,
        logbook_transitions.c.subject == subject,
    )
    known = conn.execute(sa.select(logbook_transitions).where(*where)).first()
    if known is not None and (known.value == value or _aware(known.ts) >= entry.ts):
        return None
    seq = append(conn, entry)
    values = {"value": value, "ts": entry.ts.astimezone(UTC), "seq": seq}
    if known is None:
        conn.execute(
            logbook_transitions.insert().values(
                equipment=entry.equipment, subject=subject, **values
            )
        )
    else:
        done = conn.execute(
            logbook_transitions.update()
            .where(*where, logbook_transitions.c.seq == known.seq)
            .values(**values)
        )
        if done.rowcount != 1:
            raise DuplicateTransition(f"{entry.equipment} {subject}")
    return seq


# ---------------------------------------------------------------- reading rows back

# ``ts`` as stored, untouched by the driver's conversion: a corrupt one must not stop a read
ROW_COLUMNS = (
    logbook.c.seq,
    sa.type_coerce(logbook.c.ts, sa.String).label("ts"),
    logbook.c.equipment,
    logbook.c.type,
    logbook.c.message,
    logbook.c.actor,
    logbook.c.data,
    logbook.c.prev_hash,
    logbook.c.hash,
)


class CorruptEntry(ValueError):
    """A stored row that is not a readable entry (bad time, data not a JSON object …)."""


def decode(row: Any) -> LogEntry:
    """The entry a row of ``ROW_COLUMNS`` holds; ``CorruptEntry`` saying what is wrong."""
    ts = parse_ts(row.ts)
    try:
        data = json.loads(row.data)
    except (TypeError, ValueError):
        raise CorruptEntry(f"data is not JSON: {str(row.data)[:40]!r}") from None
    if not isinstance(data, dict):
        raise CorruptEntry(f"data is not a JSON object: {str(row.data)[:40]!r}")
    texts = (row.equipment, row.type, row.message, row.actor)
    if not all(isinstance(t, str) for t in texts):
        raise CorruptEntry("a text field holds something else")
    return LogEntry(ts, row.equipment, row.type, row.message, row.actor, data)


def parse_ts(raw: object) -> datetime:
    """A stored time (a datetime from PostgreSQL's driver, text from SQLite), in UTC."""
    if isinstance(raw, datetime):
        return _aware(raw)
    try:
        return _aware(datetime.fromisoformat(str(raw)))
    except ValueError:
        raise CorruptEntry(f"time is not a time: {str(raw)[:40]!r}") from None


# ---------------------------------------------------------------- verification


@dataclass
class VerifyReport:
    ok: bool
    checked: int
    problems: list[str]
    keyed: bool = False  # verified with PLANTROOM_LOGBOOK_KEY
    unkeyed: int = 0  # entries hashed without the key (written before it was set)


def _missing(first: int, last: int) -> str:
    return f"entry {first} is" if first == last else f"entries {first}..{last} are"


def verify(conn: Connection, key: bytes | None = None) -> VerifyReport:
    """Recompute the whole chain; every altered, missing or unreadable entry is a problem.

    With ``key`` (default: ``PLANTROOM_LOGBOOK_KEY``) keyed links are checked under it;
    unkeyed links are accepted only before the first keyed one (entries written before the
    key was set) and counted in ``unkeyed``."""
    key = chain_key() if key is None else key
    problems: list[str] = []
    prev = GENESIS
    expected = 1
    checked = unkeyed = altered = 0
    keyed_seen = False
    for row in conn.execute(sa.select(*ROW_COLUMNS).order_by(logbook.c.seq)):
        checked += 1
        seq = int(row.seq)
        if seq != expected:
            problems.append(f"{_missing(expected, seq - 1)} missing (removed)")
        elif row.prev_hash != prev:
            problems.append(f"entry {seq}: does not follow entry {seq - 1} (its link was altered)")
        prev, expected = str(row.hash), seq + 1
        try:
            entry = decode(row)
        except CorruptEntry as err:
            problems.append(f"entry {seq}: unreadable ({err})")
            continue
        if key is not None and entry_hash(row.prev_hash, seq, entry, key) == row.hash:
            keyed_seen = True
        elif entry_hash(row.prev_hash, seq, entry) == row.hash:
            if key is not None and keyed_seen:
                problems.append(f"entry {seq}: not keyed after keyed entries (rewritten)")
            unkeyed += key is not None
        else:
            problems.append(f"entry {seq}: content altered (hash mismatch)")
            altered += 1
        if entry.type == TAMPER:
            problems.append(f"entry {seq} ({_canonical_ts(entry.ts)}): {entry.message}")
    if key is None and altered and altered == checked:
        problems.append(f"no entry matches: the chain may be keyed, and {KEY_ENV} is not set here")
    last = expected - 1
    head = conn.execute(sa.select(logbook_head).where(logbook_head.c.id == 1)).first()
    if head is None:
        problems.append(
            f"the logbook's head row is missing: entries after {last} may have been removed "
            "(the end of the chain cannot be checked)"
        )
    elif head.seq > last:
        problems.append(f"{_missing(last + 1, head.seq)} missing (removed from the end)")
    elif head.seq != last or head.hash != prev:
        problems.append(f"the head (entry {head.seq}) does not match the last entry ({last})")
    return VerifyReport(not problems, checked, problems, key is not None, unkeyed)


def _aware(ts: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored in UTC
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
