"""Shift handovers (交接班记录): the drafted record, and the two signatures on it.

A handover is drafted once per shift window (unique on the shift's start, so two drafters
never make two) and its content is frozen then: a JSON document whose sha256 goes into the
hash-chained logbook with the draft. The outgoing engineer signs it with remarks; the
incoming engineer, a different person, signs to accept. Each step is a logbook entry on the
site's subject (``site:<id>``) in the same transaction as the row change, and each step can
happen once: the row is compare-and-set on the signature being still empty.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from storage import logbook
from storage.records import metadata

handovers = sa.Table(
    "handovers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("site", sa.String(64), nullable=False),
    sa.Column("shift_name", sa.String(64), nullable=False),
    sa.Column("shift_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("shift_end", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("content", sa.Text, nullable=False),  # canonical JSON, frozen at drafting
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("outgoing_by", sa.String(128)),
    sa.Column("outgoing_at", sa.DateTime(timezone=True)),
    sa.Column("remarks", sa.Text),
    sa.Column("incoming_by", sa.String(128)),
    sa.Column("incoming_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("site", "shift_start", name="ux_handovers_shift"),
)

MAX_REMARKS = 4000


class HandoverStatus(StrEnum):
    DRAFTED = "drafted"  # waiting for the outgoing engineer
    SIGNED = "signed"  # signed off, waiting for the incoming engineer
    ACCEPTED = "accepted"  # both signed


STATUS_ZH = {
    HandoverStatus.DRAFTED: "待交班签字",
    HandoverStatus.SIGNED: "待接班确认",
    HandoverStatus.ACCEPTED: "已交接",
}


class HandoverError(Exception):
    """A signature that cannot be given (unknown handover, already signed, same person)."""


@dataclass(frozen=True, slots=True)
class Handover:
    id: int
    site: str
    shift_name: str
    shift_start: datetime
    shift_end: datetime
    drafted_at: datetime
    content: dict[str, Any]
    content_hash: str
    outgoing_by: str | None
    outgoing_at: datetime | None
    remarks: str | None
    incoming_by: str | None
    incoming_at: datetime | None

    @property
    def status(self) -> HandoverStatus:
        if self.incoming_at is not None:
            return HandoverStatus.ACCEPTED
        if self.outgoing_at is not None:
            return HandoverStatus.SIGNED
        return HandoverStatus.DRAFTED


def canonical(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


def subject(site: str) -> str:
    """The logbook subject of site-wide entries (as the alert engine names the site)."""
    return f"site:{site}"[:64]


def insert_draft(
    conn: Connection,
    *,
    site: str,
    shift_name: str,
    shift_start: datetime,
    shift_end: datetime,
    content: dict[str, Any],
    now: datetime,
) -> Handover | None:
    """Store the draft of one shift and log it; None when that shift already has one."""
    digest = content_hash(content)
    try:
        with conn.begin_nested():
            inserted = conn.execute(
                handovers.insert().values(
                    site=site,
                    shift_name=shift_name,
                    shift_start=shift_start.astimezone(UTC),
                    shift_end=shift_end.astimezone(UTC),
                    drafted_at=now.astimezone(UTC),
                    content=canonical(content),
                    content_hash=digest,
                )
            ).inserted_primary_key
    except IntegrityError:
        return None
    assert inserted is not None
    handover_id = int(inserted[0])
    logbook.append(
        conn,
        logbook.LogEntry(
            now,
            subject(site),
            "handover",
            f"交接班记录#{handover_id} {shift_name}已生成，待交班签字",
            "system",
            {"handover_id": handover_id, "event": "drafted", "content_sha256": digest},
        ),
    )
    return get(conn, handover_id)


def sign(conn: Connection, handover_id: int, actor: str, remarks: str, now: datetime) -> Handover:
    """The outgoing engineer signs off, with remarks (may be empty)."""
    current = _existing(conn, handover_id)
    if current.outgoing_at is not None:
        raise HandoverError(
            f"handover {handover_id} was already signed off by {current.outgoing_by}"
        )
    remarks = remarks.strip()[:MAX_REMARKS]
    done = conn.execute(
        handovers.update()
        .where(handovers.c.id == handover_id, handovers.c.outgoing_at.is_(None))
        .values(outgoing_by=actor[:128], outgoing_at=now.astimezone(UTC), remarks=remarks)
    )
    if done.rowcount != 1:
        raise HandoverError(f"handover {handover_id} was signed off meanwhile")
    logbook.append(
        conn,
        logbook.LogEntry(
            now,
            subject(current.site),
            "handover",
            f"交接班记录#{handover_id} {current.shift_name} 交班签字"
            + (f"：{remarks}" if remarks else ""),
            actor,
            {
                "handover_id": handover_id,
                "event": "signed",
                "content_sha256": current.content_hash,
                "remarks": remarks,
            },
        ),
    )
    return get(conn, handover_id)


def accept(conn: Connection, handover_id: int, actor: str, now: datetime) -> Handover:
    """The incoming engineer, someone else than the outgoing one, accepts the signed handover
    (actors are ``name (key id)``: two keys of one person are still one person)."""
    current = _existing(conn, handover_id)
    if current.outgoing_at is None:
        raise HandoverError(f"handover {handover_id} must be signed off before it is accepted")
    if current.incoming_at is not None:
        raise HandoverError(f"handover {handover_id} was already accepted by {current.incoming_by}")
    if person(current.outgoing_by) == person(actor):
        raise HandoverError("the incoming engineer must be someone else than the outgoing one")
    done = conn.execute(
        handovers.update()
        .where(handovers.c.id == handover_id, handovers.c.incoming_at.is_(None))
        .values(incoming_by=actor[:128], incoming_at=now.astimezone(UTC))
    )
    if done.rowcount != 1:
        raise HandoverError(f"handover {handover_id} was accepted meanwhile")
    logbook.append(
        conn,
        logbook.LogEntry(
            now,
            subject(current.site),
            "handover",
            f"交接班记录#{handover_id} {current.shift_name} 接班确认",
            actor,
            {
                "handover_id": handover_id,
                "event": "accepted",
                "content_sha256": current.content_hash,
            },
        ),
    )
    return get(conn, handover_id)


def person(actor: str | None) -> str | None:
    """The person in an actor string ``name (key id)``."""
    return None if actor is None else actor.split(" (key ", 1)[0]


def problems(conn: Connection, h: Handover) -> list[str]:
    """What in the handover's row does not match what the hash-chained logbook recorded
    (the row itself is not chained: its content hash and remarks are, in its entries)."""
    found: list[str] = []
    if content_hash(h.content) != h.content_hash:
        found.append("content altered after drafting (its sha256 differs from the draft's)")
    entries = _entries(conn, h)
    events = {str(e.data.get("event")): e for e in entries}
    drafted = events.get("drafted")
    if drafted is None:
        found.append("the logbook has no entry of this handover's draft")
    elif drafted.data.get("content_sha256") != content_hash(h.content):
        found.append("content differs from the one logged when it was drafted")
    signed = events.get("signed")
    if (signed is None) != (h.outgoing_at is None):
        found.append("the sign-off in the row and in the logbook disagree")
    elif signed is not None and (
        signed.data.get("remarks") != (h.remarks or "")
        or person(signed.actor) != person(h.outgoing_by)
    ):
        found.append("remarks or signer differ from the sign-off logged")
    accepted = events.get("accepted")
    if (accepted is None) != (h.incoming_at is None):
        found.append("the acceptance in the row and in the logbook disagree")
    elif accepted is not None and person(accepted.actor) != person(h.incoming_by):
        found.append("the incoming engineer differs from the acceptance logged")
    return found


def _entries(conn: Connection, h: Handover) -> list[logbook.LogEntry]:
    """The logbook entries of handover ``h`` (its site's handover entries, matched by id)."""
    rows = conn.execute(
        sa.select(logbook.logbook).where(
            logbook.logbook.c.equipment == subject(h.site),
            logbook.logbook.c.type == "handover",
            logbook.logbook.c.data.like(f'%"handover_id": {h.id}%'),
        )
    )
    out: list[logbook.LogEntry] = []
    for row in rows:
        data = json.loads(row.data)
        if data.get("handover_id") == h.id:  # not 12 for 1
            out.append(
                logbook.LogEntry(
                    _aware(row.ts), row.equipment, row.type, row.message, row.actor, data
                )
            )
    return out


def get(conn: Connection, handover_id: int) -> Handover:
    return _existing(conn, handover_id)


def find(conn: Connection, handover_id: int) -> Handover | None:
    row = conn.execute(sa.select(handovers).where(handovers.c.id == handover_id)).first()
    return None if row is None else _record(row)


def _existing(conn: Connection, handover_id: int) -> Handover:
    found = find(conn, handover_id)
    if found is None:
        raise HandoverError(f"no handover {handover_id}")
    return found


def last_shift_end(conn: Connection, site: str) -> datetime | None:
    """The end of the newest shift with a draft."""
    value = conn.execute(
        sa.select(sa.func.max(handovers.c.shift_end)).where(handovers.c.site == site)
    ).scalar()
    return _aware(value) if isinstance(value, datetime) else None


def recent(conn: Connection, site: str, limit: int = 20) -> list[Handover]:
    """The newest handovers first."""
    query = (
        sa.select(handovers)
        .where(handovers.c.site == site)
        .order_by(handovers.c.shift_end.desc())
        .limit(limit)
    )
    return [_record(r) for r in conn.execute(query)]


def ending_at(conn: Connection, site: str, end: datetime) -> Handover | None:
    """The handover of the shift that ended at ``end``."""
    query = sa.select(handovers).where(
        handovers.c.site == site, handovers.c.shift_end == end.astimezone(UTC)
    )
    row = conn.execute(query).first()
    return None if row is None else _record(row)


def not_accepted(conn: Connection, site: str, ended_before: datetime) -> list[Handover]:
    """Handovers of shifts that ended before ``ended_before`` and still lack a signature."""
    query = (
        sa.select(handovers)
        .where(
            handovers.c.site == site,
            handovers.c.incoming_at.is_(None),
            handovers.c.shift_end < ended_before.astimezone(UTC),
        )
        .order_by(handovers.c.shift_end)
    )
    return [_record(r) for r in conn.execute(query)]


def _record(row: Any) -> Handover:
    return Handover(
        id=int(row.id),
        site=str(row.site),
        shift_name=str(row.shift_name),
        shift_start=_aware(row.shift_start),
        shift_end=_aware(row.shift_end),
        drafted_at=_aware(row.drafted_at),
        content=json.loads(row.content),
        content_hash=str(row.content_hash),
        outgoing_by=row.outgoing_by,
        outgoing_at=_aware(row.outgoing_at) if row.outgoing_at is not None else None,
        remarks=row.remarks,
        incoming_by=row.incoming_by,
        incoming_at=_aware(row.incoming_at) if row.incoming_at is not None else None,
    )


def _aware(ts: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored in UTC
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
