"""Offline administration of the records DB: API keys and the logbook's hash chain."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from storage import RecordsDB, logbook
from storage.api_keys import Role, UnknownKey, create_key, list_keys, revoke_key


def keys_create(db: RecordsDB, role: str, name: str) -> tuple[int, str]:
    with db.engine.begin() as conn:
        key, clear = create_key(conn, Role(role), name, datetime.now(UTC))
    return 0, (
        f"created API key {key.id} ({key.name}, role {key.role})\n"
        f"{clear}\n"
        "this is the only time the key is shown; store it now "
        "(send it as 'Authorization: Bearer <key>')"
    )


def keys_list(db: RecordsDB, zone: tzinfo = UTC) -> tuple[int, str]:
    """The keys, their times in ``zone`` (the site's, where a person reads them)."""
    with db.engine.connect() as conn:
        keys = list_keys(conn)
    if not keys:
        return 0, "no API keys (create one with: plantroom keys create --role admin)"
    lines = [f"times in {zone}", f"{'id':<10}{'role':<10}{'created':<22}{'state':<30}name"]
    for k in keys:
        created = _aware(k.created_at).astimezone(zone)
        revoked = _aware(k.revoked_at).astimezone(zone) if k.revoked_at else None
        state = f"revoked {revoked:%Y-%m-%d %H:%M}" if revoked else "active"
        lines.append(f"{k.id:<10}{k.role:<10}{created:%Y-%m-%d %H:%M:%S}   {state:<30}{k.name}")
    return 0, "\n".join(lines)


def _aware(ts: datetime) -> datetime:
    # SQLite hands back naive datetimes; the records DB stores UTC
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def site_zone(site_path: Path) -> tzinfo:
    """The site's time zone, for what these commands print; UTC if the site file is unusable
    (key management must still work while the site file is being fixed)."""
    from core.site import SiteError, load_site

    try:
        return ZoneInfo(load_site(site_path).site.timezone)
    except (SiteError, OSError, ValueError):
        return UTC


def keys_revoke(db: RecordsDB, key_id: str) -> tuple[int, str]:
    try:
        with db.engine.begin() as conn:
            key = revoke_key(conn, key_id, datetime.now(UTC))
    except UnknownKey as err:
        return 1, str(err)
    return 0, f"API key {key.id} ({key.name}) revoked"


def missing_logbook(url: str) -> str | None:
    """Why the records DB at ``url`` has no logbook to verify, or None when it has one."""
    shown = sa.make_url(url).render_as_string(hide_password=True)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return (
            f"no records database at {url.removeprefix('sqlite:///')}: nothing to verify "
            "(check --data-dir or PLANTROOM_DB_URL)"
        )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            present = sa.inspect(conn).has_table("logbook")
    except SQLAlchemyError as err:
        return f"records database {shown} unreachable: {type(err).__name__}"
    finally:
        engine.dispose()
    return None if present else f"no logbook in the records database {shown}: nothing to verify"


def verify_log(db: RecordsDB) -> tuple[int, str]:
    """Exit code 0 when the logbook's chain is intact, 1 when anything was altered or removed."""
    with db.engine.connect() as conn:
        report = logbook.verify(conn)
    keyed = ""
    if report.keyed:
        keyed = ", keyed"
        if report.unkeyed:
            keyed += f" ({report.unkeyed} earlier entries predate the key: chained, not keyed)"
    if report.ok:
        return 0, f"logbook intact: {report.checked} entries, hash chain verified{keyed}"
    lines = [f"logbook BROKEN: {len(report.problems)} problem(s) in {report.checked} entries"]
    lines += [f"  {p}" for p in report.problems]
    return 1, "\n".join(lines)
