"""Schema migrations: a records DB made by the release before migrations (the fixture under
``tests/cases/records_v1``) upgrades on SQLite and PostgreSQL with its data intact, ends with
exactly this release's schema, and plantroom refuses to start on a schema it does not know."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.tickets import TicketStatus
from storage import RecordsDB, logbook
from storage.migrations import SchemaError, _config, head
from storage.records import full_metadata, migrate
from storage.ticket_queries import earlier_cycles, get_ticket
from tests.servers.postgres import Postgres
from tests.test_processes import run_cli

FIXTURE = Path(__file__).parent / "cases" / "records_v1"


def _sqlite_v1(tmp_path: Path) -> str:
    path = tmp_path / "records.sqlite"
    shutil.copy(FIXTURE / "records.sqlite", path)
    return f"sqlite:///{path}"


def _postgres_v1(postgres: Postgres) -> str:
    url = postgres.create_database()
    database = url.rsplit("/", 1)[1]
    server = ["-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres", "-d", database]
    subprocess.run(
        [
            "psql",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            *server,
            "-f",
            str(FIXTURE / "records.postgresql.sql"),
        ],
        check=True,
        capture_output=True,
    )
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def v1_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return _sqlite_v1(tmp_path)
    return _postgres_v1(request.getfixturevalue("postgres"))


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = ("tickets", "ticket_events", "alerts", "incidents", "outbox", "logbook")
            names += ("api_keys", "dead_letters")
            return {
                n: conn.execute(sa.text(f"SELECT count(*) FROM {n}")).scalar_one() for n in names
            }
    finally:
        engine.dispose()


def test_a_database_of_the_release_before_migrations_is_refused_then_upgraded(
    v1_url: str,
) -> None:
    before = _counts(v1_url)
    assert before["tickets"] == 3 and before["ticket_events"] == 18  # what the fixture holds
    with pytest.raises(SchemaError, match="plantroom migrate"):
        RecordsDB(v1_url)

    assert migrate(v1_url) == ("0001", head())
    assert migrate(v1_url) == (head(), head())  # a second run changes nothing

    db = RecordsDB(v1_url)
    try:
        with db.engine.connect() as conn:
            assert logbook.verify(conn).ok  # not one logbook entry altered
            diff = compare_metadata(MigrationContext.configure(conn), full_metadata())
        assert diff == [], f"the migrations do not give this release's schema: {diff}"
    finally:
        db.close()
    after = _counts(v1_url)
    assert {k: after[k] for k in before} == before
    engine = sa.create_engine(v1_url)
    with engine.connect() as conn:
        acked = conn.execute(
            sa.text(
                "SELECT rule_id, acked_by, acked_episode FROM alerts WHERE acked_by IS NOT NULL"
            )
        ).all()
    engine.dispose()
    assert [tuple(r) for r in acked] == [("entrapment", "监控中心", 1)]  # was "1|监控中心"
    _reopened_ticket_is_split_in_cycles(v1_url)


def _reopened_ticket_is_split_in_cycles(url: str) -> None:
    """The fixture's pump ticket was acked, on site, resolved, closed, then reopened by hand:
    the earlier release kept cycle 1's times and deadlines on cycle 2."""
    db = RecordsDB(url)
    try:
        with db.engine.connect() as conn:
            ticket = get_ticket(conn, 1)
            [(first, ended)] = earlier_cycles(conn, 1)
    finally:
        db.close()
    assert ticket is not None and ticket.status is TicketStatus.REOPENED
    now = ticket.cycle.start + timedelta(minutes=1)
    cycle = ticket.cycle
    assert cycle.number == 2 and cycle.acknowledged_at is None and cycle.resolved_at is None
    assert cycle.respond_by is not None and cycle.respond_by > cycle.start  # fresh deadlines
    assert cycle.respond_by - cycle.start == first.respond_by - ticket.opened_at  # type: ignore[operator]
    assert ticket.overdue(now) is False
    assert (first.number, ended) == (1, TicketStatus.CLOSED)
    assert first.acknowledged_at and first.resolved_at and first.closed_at
    assert first.resolved_at < cycle.start


def test_a_fresh_database_is_created_at_the_newest_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    RecordsDB(url).close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head()
    engine.dispose()
    assert migrate(url) == (head(), head())


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    RecordsDB(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaError, match=r"unknown to this release.*newer plantroom"):
        RecordsDB(url)


def test_plantroom_says_which_command_upgrades_the_database(tmp_path: Path) -> None:
    url = _sqlite_v1(tmp_path)
    env = {
        **os.environ,
        "PLANTROOM_DB_URL": url,
        "PLANTROOM_TSDB_URL": f"sqlite:///{tmp_path / 'ts.db'}",
        "PLANTROOM_BUFFER_PATH": str(tmp_path / "buffer.db"),
        "PLANTROOM_SITE": str(Path(__file__).parent.parent / "examples" / "site.yaml"),
    }
    refused = run_cli(["alerts"], env)
    assert refused.returncode == 1
    assert "upgrade it with `plantroom migrate`" in refused.stderr
    upgraded = run_cli(["migrate"], env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from schema revision 0001 to {head()}" in upgraded.stdout


def test_a_process_finding_another_half_way_through_creating_the_schema_waits_for_it(
    tmp_path: Path,
) -> None:
    # two collectors start on a fresh SQLite file: SQLite commits the winner's tables before
    # its revision stamp, and the loser, looking in between, called the file one made before
    # migrations and exited (seen in tests/reliability/test_modbus_shards.py)
    url = f"sqlite:///{tmp_path / 'records.db'}"
    engine = sa.create_engine(url)
    full_metadata().create_all(engine)  # the winner's tables, not yet stamped

    def stamp_soon() -> None:
        time.sleep(0.3)
        with engine.begin() as conn:
            MigrationContext.configure(conn).stamp(ScriptDirectory.from_config(_config()), head())

    winner = threading.Thread(target=stamp_soon)
    winner.start()
    try:
        RecordsDB(url).close()  # waits for the stamp instead of refusing
    finally:
        winner.join()
        engine.dispose()
