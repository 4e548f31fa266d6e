"""Schema migrations of the records database (alembic), on SQLite and PostgreSQL alike.

``storage.records.metadata`` (the tables of ``storage.records``, ``storage.tickets`` …) is the
schema this release runs on; ``versions/`` holds the steps from every earlier release to it.
A fresh, empty database is created from the metadata and stamped with the newest revision. A
database at an older revision, or made before migrations existed (release 56f2a06, which has
tables but no ``alembic_version``), is refused at start with the command that upgrades it:
``plantroom migrate``. A revision this release does not know (a newer release's database) is
refused too: running old code on it could lose what the newer schema keeps.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.logs import event
from storage.timeseries import StoreError

# the schema of release 56f2a06, the last one without migrations
BASELINE = "0001"
UPGRADE_COMMAND = "plantroom migrate"
_HERE = Path(__file__).parent
_log = logging.getLogger("storage.migrations")
# alembic logs every context it configures at INFO, on each process start: keep its warnings
logging.getLogger("alembic").setLevel(logging.WARNING)


class SchemaError(StoreError):
    """The records database's schema is not the one this release runs on."""


class UnversionedSchema(SchemaError):
    """Tables but no revision: a database made before migrations, or one that another
    process is creating right now (SQLite commits each CREATE TABLE before the stamp)."""


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The revision this release's schema is at."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(_config())
    return {r.revision for r in script.walk_revisions()}


def current(conn: sa.Connection) -> str | None:
    """The database's revision; None when it has none (empty, or made before migrations)."""
    return MigrationContext.configure(conn).get_current_revision()


def _has_tables(conn: sa.Connection, metadata: sa.MetaData) -> bool:
    existing = set(sa.inspect(conn).get_table_names())
    return bool(existing & set(metadata.tables))


def ensure_schema(
    engine: sa.Engine, metadata: sa.MetaData, attempts: int = 5, settle: float = 2.0
) -> None:
    """Create the schema in an empty database, or check that it is this release's.

    Processes starting together race to create it: the loser's "already exists" or duplicate
    version row means the winner did the work, so look again rather than fail. Tables without
    a revision may be the winner half-way (its tables are there, its stamp not yet): look
    again for ``settle`` seconds before calling the database one made before migrations."""
    deadline = time.monotonic() + settle
    attempt = 0
    while True:
        try:
            with engine.begin() as conn:
                _ensure(conn, metadata)
            return
        except UnversionedSchema:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)
            continue
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError) as err:
            attempt += 1
            text = str(err)
            if not any(s in text for s in ("already exists", "duplicate key", "UNIQUE")):
                raise
            if attempt >= attempts:
                raise


def _ensure(conn: sa.Connection, metadata: sa.MetaData) -> None:
    revision = current(conn)
    if revision is None and not _has_tables(conn, metadata):
        metadata.create_all(conn)
        MigrationContext.configure(conn).stamp(ScriptDirectory.from_config(_config()), head())
        return
    expected = head()
    if revision == expected:
        return
    url = conn.engine.url.render_as_string(hide_password=True)
    if revision is None:
        raise UnversionedSchema(
            f"records database {url} was made by a release before schema migrations; "
            f"upgrade it with `{UPGRADE_COMMAND}` (same PLANTROOM_DB_URL), then start again"
        )
    if revision not in known_revisions():
        raise SchemaError(
            f"records database {url} is at schema revision {revision}, unknown to this "
            f"release (which runs on {expected}): it was made by a newer plantroom"
        )
    raise SchemaError(
        f"records database {url} is at schema revision {revision}; this release needs "
        f"{expected}: upgrade it with `{UPGRADE_COMMAND}` (same PLANTROOM_DB_URL)"
    )


def upgrade(engine: sa.Engine, metadata: sa.MetaData) -> tuple[str | None, str]:
    """Bring the database to this release's schema; returns its revision before (None: it was
    empty and is now created; a database made before migrations is at ``BASELINE``) and after."""
    with engine.begin() as conn:
        before = current(conn)
        if before is None and not _has_tables(conn, metadata):
            _ensure(conn, metadata)
            return None, head()
        config = _config(conn)
        if before is None:
            command.stamp(config, BASELINE)
            before = BASELINE
        elif before not in known_revisions():
            raise SchemaError(f"schema revision {before} is unknown to this release")
        event(_log, "records_db_upgrade", before=before, to=head())
        command.upgrade(config, "head")
    return before, head()


__all__ = ["BASELINE", "UPGRADE_COMMAND", "SchemaError", "current", "ensure_schema", "head"]
