"""The records database (SQLAlchemy Core): SQLite by default, PostgreSQL in production.

Tables here are the durable records of what happened: dead letters now; alerts, tickets and
their append-only events as those parts arrive. ``metadata`` is the single schema definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

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


@dataclass(frozen=True, slots=True)
class DeadLetter:
    received_at: datetime
    source: str
    topic: str
    reason: str
    payload: bytes
    payload_size: int


class RecordsDB:
    """Thin handle on the records database; creates the schema on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            _create_schema(self.engine)
        except SQLAlchemyError as err:
            raise StoreError(f"records database {self.engine.url!r}: {err}") from err

    def add_dead_letters(self, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        rows = [
            {
                "received_at": d.received_at,
                "source": d.source,
                "topic": d.topic[:512],
                "reason": d.reason,
                "payload": d.payload[:MAX_KEPT_PAYLOAD],
                "payload_size": d.payload_size,
            }
            for d in letters
        ]
        try:
            with self.engine.begin() as conn:
                conn.execute(dead_letters.insert(), rows)
        except SQLAlchemyError as err:
            raise StoreError(f"records database: cannot keep dead letters: {err}") from err

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


def _create_schema(engine: sa.Engine, attempts: int = 5) -> None:
    """Create missing tables. Processes starting together race to create them: the loser's
    "already exists" means the winner did the work, so look again rather than fail."""
    for attempt in range(attempts):
        try:
            metadata.create_all(engine)
            return
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError) as err:
            if "already exists" not in str(err) and "duplicate key" not in str(err):
                raise
            if attempt == attempts - 1:
                raise


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA busy_timeout=5000")  # before WAL: the switch needs the lock
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
