"""API keys with roles (DESIGN §9): stored hashed, shown in clear exactly once.

A key reads ``pr_<id>_<secret>``: ``id`` (8 hex chars) finds the row, ``secret`` is 256 random
bits. Only ``sha256(key)`` is stored; with 256 bits of entropy a fast hash is enough (there
is nothing to brute-force), and the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.records import metadata

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

_KEY = re.compile(r"^pr_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")


class Role(StrEnum):
    """Roles are ordered: each one may do everything the ones before it may."""

    VIEWER = "viewer"  # read
    ENGINEER = "engineer"  # ticket transitions, logbook notes
    ADMIN = "admin"  # keys

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class UnknownKey(LookupError):
    """No key has this id."""


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def create_key(conn: Connection, role: Role, name: str, now: datetime) -> tuple[ApiKey, str]:
    """Store a new key; returns it and the clear key, which is never stored or shown again."""
    while True:
        key_id = secrets.token_hex(4)
        taken = conn.execute(sa.select(api_keys.c.id).where(api_keys.c.id == key_id)).first()
        if taken is None:
            break
    clear = f"pr_{key_id}_{secrets.token_urlsafe(32)}"
    record = ApiKey(key_id, name, role, now)
    conn.execute(
        api_keys.insert().values(
            id=key_id, name=name, role=role.value, key_hash=_hash(clear), created_at=now
        )
    )
    return record, clear


def authenticate(conn: Connection, clear: str) -> ApiKey | None:
    """The active key matching ``clear``, or None (malformed, unknown, wrong or revoked)."""
    match = _KEY.match(clear)
    if match is None:
        return None
    row = conn.execute(sa.select(api_keys).where(api_keys.c.id == match.group(1))).first()
    if row is None or not hmac.compare_digest(row.key_hash, _hash(clear)):
        return None
    key = _record(row)
    return key if key.active else None


def is_active(conn: Connection, key_id: str) -> bool:
    """Whether the key with this id exists and is not revoked (for sessions that outlive a
    request, such as an open stream)."""
    row = conn.execute(sa.select(api_keys.c.revoked_at).where(api_keys.c.id == key_id)).first()
    return row is not None and row.revoked_at is None


def list_keys(conn: Connection) -> list[ApiKey]:
    return [_record(r) for r in conn.execute(sa.select(api_keys).order_by(api_keys.c.created_at))]


def revoke_key(conn: Connection, key_id: str, now: datetime) -> ApiKey:
    row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None:
        raise UnknownKey(f"no API key with id {key_id!r}")
    key = _record(row)
    if key.revoked_at is not None:
        return key  # revoking twice keeps the first time
    conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(revoked_at=now))
    return ApiKey(key.id, key.name, key.role, key.created_at, now)


def _record(row: sa.Row[tuple[object, ...]]) -> ApiKey:
    return ApiKey(
        str(row.id),
        str(row.name),
        Role(row.role),
        _aware(row.created_at),
        _aware(row.revoked_at) if row.revoked_at is not None else None,
    )


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
