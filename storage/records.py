"""The records database (SQLAlchemy Core): SQLite by default, PostgreSQL in production.

Tables here are the durable records of what happened: dead letters now; alerts, tickets and
their append-only events as those parts arrive. ``metadata`` is the single schema definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from core.text import safe_text
from storage.timeseries import StoreError

metadata = sa.MetaData()

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("source", sa.String(32), nullable=False),  # mqtt, modbus
    sa.Column("topic", sa.String(512), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),  # at most MAX_KEPT_PAYLOAD bytes
    sa.Column("payload_size", sa.Integer, nullable=False),
)

MAX_KEPT_PAYLOAD = 4096
MAX_REASON_CHARS = 1000  # a reason quotes device input (keys, values): capped, made storable
MAX_TOPIC_CHARS = 512


@dataclass(frozen=True, slots=True)
class DeadLetter:
    received_at: datetime
    source: str
    topic: str
    reason: str
    payload: bytes
    payload_size: int


class RecordsDB:
    """Thin handle on the records database; creates the schema on first use and refuses a
    database whose schema is not this release's (``storage.migrations``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _engine(url)
            self._ensure_schema()
        except SQLAlchemyError as err:
            raise StoreError(f"records database {self.engine.url!r}: {err}") from err

    def _ensure_schema(self) -> None:
        from storage.migrations import ensure_schema

        ensure_schema(self.engine, full_metadata())

    def add_dead_letters(self, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        rows = [
            {
                "received_at": d.received_at,
                "source": d.source,
                "topic": safe_text(d.topic, MAX_TOPIC_CHARS),
                "reason": safe_text(d.reason, MAX_REASON_CHARS),
                "payload": d.payload[:MAX_KEPT_PAYLOAD],
                "payload_size": d.payload_size,
            }
            for d in letters
        ]
        try:
            with self.engine.begin() as conn:
                conn.execute(dead_letters.insert(), rows)
        except (SQLAlchemyError, ValueError) as err:  # ValueError: what a driver refuses
            raise StoreError(f"records database: cannot keep dead letters: {err}") from err

    def prune_dead_letters(self, before: datetime, keep_at_most: int) -> int:
        """Delete dead letters received before ``before``, and the oldest beyond the newest
        ``keep_at_most``; returns how many went. Dead letters are for diagnosis, not records."""
        try:
            with self.engine.begin() as conn:
                gone = conn.execute(
                    dead_letters.delete().where(dead_letters.c.received_at < before)
                ).rowcount
                cutoff = conn.execute(
                    sa.select(dead_letters.c.id)
                    .order_by(dead_letters.c.id.desc())
                    .offset(keep_at_most)
                    .limit(1)
                ).scalar()
                if cutoff is not None:
                    gone += conn.execute(
                        dead_letters.delete().where(dead_letters.c.id <= cutoff)
                    ).rowcount
        except SQLAlchemyError as err:
            raise StoreError(f"records database: cannot prune dead letters: {err}") from err
        return int(gone)

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        query = sa.select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [
                DeadLetter(
                    r.received_at, r.source, r.topic, r.reason, bytes(r.payload), r.payload_size
                )
                for r in conn.execute(query)
            ]

    def close(self) -> None:
        self.engine.dispose()


def full_metadata() -> sa.MetaData:
    """``metadata`` with every table of the records DB registered on it."""
    # each table module registers on ``metadata`` when imported: import them all, so that a
    # fresh database gets the whole schema whichever process opens it first
    from storage import api_keys, handovers, ledger, logbook, planned, tickets  # noqa: F401

    return metadata


def migrate(url: str) -> tuple[str | None, str]:
    """Upgrade the records DB at ``url`` to this release's schema (``plantroom migrate``);
    returns its revision before (None: made before migrations, or empty) and after."""
    from storage.migrations import upgrade

    engine = _engine(url)
    try:
        return upgrade(engine, full_metadata())
    except SQLAlchemyError as err:
        raise StoreError(f"records database {engine.url!r}: {err}") from err
    finally:
        engine.dispose()


def _engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA busy_timeout=5000")  # before WAL: the switch needs the lock
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
