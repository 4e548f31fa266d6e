"""The equipment ledger in the records DB: append-only changes, folded into the ledger
(``core.ledger``). Rows are only ever inserted; an edit and its logbook entry are one
transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.ledger import FIELDS, Ledger, LedgerChange, changed, fold
from storage import logbook
from storage.records import metadata

ledger_changes = sa.Table(
    "ledger_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("equipment", sa.String(64), nullable=False, index=True),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("value", sa.String(200)),  # None: the field was cleared
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
)


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at  # SQLite keeps no offset


def ledgers(conn: Connection, equipment: Iterable[str]) -> dict[str, Ledger]:
    """The ledgers of these machines (an empty one for a machine without changes)."""
    ids = list(equipment)
    rows = conn.execute(
        sa.select(
            ledger_changes.c.equipment,
            ledger_changes.c.field,
            ledger_changes.c.value,
            ledger_changes.c.actor,
            ledger_changes.c.at,
            ledger_changes.c.note,
        )
        .where(ledger_changes.c.equipment.in_(ids))
        .order_by(ledger_changes.c.id)
    ).all()
    by_machine: dict[str, list[LedgerChange]] = {eq: [] for eq in ids}
    for eq, field, value, actor, at, note in rows:
        by_machine[eq].append(LedgerChange(_aware(at), actor, field, value, note))
    return {eq: fold(eq, changes) for eq, changes in by_machine.items()}


def record(
    conn: Connection,
    equipment: str,
    wanted: Mapping[str, str | None],
    actor: str,
    now: datetime,
    note: str = "",
) -> Ledger:
    """Record the fields of ``wanted`` that change the ledger (LedgerError for a bad one),
    with one logbook entry naming them; returns the ledger after."""
    current = ledgers(conn, [equipment])[equipment]
    diff = changed(current, wanted)
    if not diff:
        return current
    conn.execute(
        ledger_changes.insert(),
        [
            {
                "equipment": equipment,
                "field": field,
                "value": value,
                "actor": actor,
                "at": now.astimezone(UTC),
                "note": note,
            }
            for field, value in diff.items()
        ],
    )
    text = "；".join(
        f"{FIELDS[f]}: {current.values.get(f) or '空'} → {v or '空'}" for f, v in diff.items()
    )
    logbook.append(
        conn,
        logbook.LogEntry(
            now, equipment, "ledger", f"台账变更 {text}", actor, {"changes": diff, "note": note}
        ),
    )
    return ledgers(conn, [equipment])[equipment]


class LedgerRepository:
    """Ledgers for the API: read, edit one, import many (one transaction each)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, equipment: str) -> Ledger:
        with self._engine.connect() as conn:
            return ledgers(conn, [equipment])[equipment]

    def all(self, equipment: Iterable[str]) -> dict[str, Ledger]:
        with self._engine.connect() as conn:
            return ledgers(conn, equipment)

    def edit(
        self, equipment: str, wanted: Mapping[str, str | None], actor: str, now: datetime, note: str
    ) -> Ledger:
        with self._engine.begin() as conn:
            return record(conn, equipment, wanted, actor, now, note)

    def import_sheet(
        self, rows: Mapping[str, Mapping[str, str | None]], actor: str, now: datetime, note: str
    ) -> dict[str, int]:
        """Every machine's row at once (all or nothing); how many fields each changed."""
        counts: dict[str, int] = {}
        with self._engine.begin() as conn:
            for equipment, wanted in rows.items():
                before = len(ledgers(conn, [equipment])[equipment].history)
                after = record(conn, equipment, wanted, actor, now, note)
                counts[equipment] = len(after.history) - before
        return counts
