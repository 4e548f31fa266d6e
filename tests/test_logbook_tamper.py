"""Logbook corners (issue 11 item 7), on SQLite and PostgreSQL: every removal named, the head's
removal included; appends go on after tampering and record it; corrupt rows are reported, never
a traceback or a 500; a keyed chain (``PLANTROOM_LOGBOOK_KEY``) cannot be recomputed without
its key; ``verify-log`` on a data directory that does not exist is an error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from api import ApiContext
from core.site import Site
from plantroom.cli import main
from storage import RecordsDB, SqliteTimeSeriesStore, logbook
from storage.api_keys import Role
from tests.api_support import auth, client_for, new_key
from tests.servers.postgres import Postgres

T0 = datetime(2026, 3, 1, tzinfo=UTC)
PUMP = "pump-domestic-1"
book, head = logbook.logbook, logbook.logbook_head


@pytest.fixture(params=["sqlite", "postgresql"])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordsDB]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'records.db'}"
    else:
        server: Postgres = request.getfixturevalue("postgres")
        url = server.create_database()
    db = RecordsDB(url)
    yield db
    db.close()


def entry(minute: int, message: str = "水泵启动") -> logbook.LogEntry:
    return logbook.LogEntry(T0 + timedelta(minutes=minute), PUMP, "state", message)


def fill(records: RecordsDB, count: int = 5) -> None:
    with records.engine.begin() as conn:
        for minute in range(count):
            logbook.append(conn, entry(minute))


def tamper(records: RecordsDB, *statements: sa.Executable) -> None:
    with records.engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def verify(records: RecordsDB) -> logbook.VerifyReport:
    with records.engine.connect() as conn:
        return logbook.verify(conn)


def append(records: RecordsDB, minute: int) -> int:
    with records.engine.begin() as conn:
        return logbook.append(conn, entry(minute, "水泵停止"))


def test_a_fresh_logbook_is_intact_and_has_its_head(records: RecordsDB) -> None:
    report = verify(records)
    assert report.ok and report.checked == 0
    with records.engine.connect() as conn:
        assert conn.execute(sa.select(head.c.seq, head.c.hash)).all() == [(0, logbook.GENESIS)]


def test_head_and_tail_removed_together_is_named_and_appends_go_on(records: RecordsDB) -> None:
    fill(records)
    tamper(records, sa.delete(book).where(book.c.seq >= 4), sa.delete(head))
    report = verify(records)
    assert not report.ok
    assert report.problems == [
        "the logbook's head row is missing: entries after 3 may have been removed "
        "(the end of the chain cannot be checked)"
    ]
    assert append(records, 10) == 5  # a tamper record (4), then the entry
    after = verify(records)
    assert after.checked == 5 and not after.ok
    assert after.problems == [
        "entry 4 (2026-03-01T00:10:00.000000+00:00): tampering found on append: "
        "the logbook's head row was missing; the last entry is 3"
    ]


def test_an_emptied_logbook_is_named(records: RecordsDB) -> None:
    fill(records)
    tamper(records, sa.delete(book))
    assert verify(records).problems == ["entries 1..5 are missing (removed from the end)"]
    assert append(records, 10) == 7  # numbered after what the head knew; 6 records the find
    problems = verify(records).problems
    assert problems[0] == "entries 1..5 are missing (removed)"
    assert "the head said entry 5 but the last entry is 0" in problems[1]


def test_an_emptied_logbook_with_its_head_is_named(records: RecordsDB) -> None:
    fill(records)
    tamper(records, sa.delete(book), sa.delete(head))
    report = verify(records)
    assert not report.ok and report.checked == 0
    assert "head row is missing" in report.problems[0]
    assert append(records, 10) == 2
    assert not verify(records).ok


@pytest.mark.parametrize(
    ("removed", "problem"),
    [
        ([1], "entry 1 is missing (removed)"),
        ([1, 2], "entries 1..2 are missing (removed)"),
        ([2, 3], "entries 2..3 are missing (removed)"),
        ([5], "entry 5 is missing (removed from the end)"),
        ([4, 5], "entries 4..5 are missing (removed from the end)"),
    ],
)
def test_every_gap_is_named(records: RecordsDB, removed: list[int], problem: str) -> None:
    fill(records)
    tamper(records, sa.delete(book).where(book.c.seq.in_(removed)))
    assert verify(records).problems == [problem]
    assert append(records, 10) > 5  # appends still work


def test_a_head_moved_back_does_not_break_appends(records: RecordsDB) -> None:
    fill(records)
    tamper(records, sa.update(head).values(seq=2))
    assert verify(records).problems == ["the head (entry 2) does not match the last entry (5)"]
    assert append(records, 10) == 7  # was a primary-key error (500) on every append
    assert "the head said entry 2 but the last entry is 5" in verify(records).problems[0]


def corrupt(records: RecordsDB) -> None:
    fill(records)
    statements: list[sa.Executable] = [
        sa.update(book).where(book.c.seq == 2).values(data="{not json"),
        sa.update(book).where(book.c.seq == 3).values(data="[1, 2]"),
    ]
    if records.engine.dialect.name == "sqlite":  # a timestamptz column holds only times
        statements.append(sa.text("UPDATE logbook SET ts = 'yesterday' WHERE seq = 4"))
    tamper(records, *statements)


def test_corrupt_rows_are_reported_not_raised(records: RecordsDB) -> None:
    corrupt(records)
    problems = verify(records).problems
    assert problems[:2] == [
        "entry 2: unreadable (data is not JSON: '{not json')",
        "entry 3: unreadable (data is not a JSON object: '[1, 2]')",
    ]
    if records.engine.dialect.name == "sqlite":
        assert problems[2] == "entry 4: unreadable (time is not a time: 'yesterday')"
    assert append(records, 10) == 6


async def test_corrupt_rows_through_the_api_and_the_cli(
    records: RecordsDB,
    site: Site,
    ts_store: SqliteTimeSeriesStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corrupt(records)
    viewer = auth(new_key(records, Role.VIEWER))
    context = ApiContext(site=site, store=ts_store, records=records)
    async with client_for(context) as client:
        verified = await client.get("/api/v1/logbook/verify", headers=viewer)
        assert verified.status_code == 200 and verified.json()["ok"] is False
        page = await client.get(f"/api/v1/equipment/{PUMP}/log", headers=viewer)
        assert page.status_code == 200
        entries = {e["seq"]: e for e in page.json()["entries"]}
        assert entries[2]["problem"] == "data is not JSON: '{not json'" and entries[2]["data"] == {}
        assert entries[1]["problem"] is None
        if records.engine.dialect.name == "sqlite":
            assert entries[4]["ts"] is None and "not a time" in entries[4]["problem"]
        exported = await client.get(
            f"/api/v1/equipment/{PUMP}/log", params={"format": "csv"}, headers=viewer
        )
        assert exported.status_code == 200 and "data is not JSON" in exported.text
        paged = await client.get(
            f"/api/v1/equipment/{PUMP}/log", params={"limit": 1, "cursor": 4}, headers=viewer
        )
        assert paged.status_code == 200
    monkeypatch.setenv("PLANTROOM_DB_URL", records.url)
    assert main(["verify-log"]) == 1
    err = capsys.readouterr().err
    assert "entry 2: unreadable" in err and "Traceback" not in err


def test_verify_log_on_a_missing_data_directory_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PLANTROOM_DB_URL", raising=False)
    missing = tmp_path / "no-such-dir"
    assert main(["verify-log", "--data-dir", str(missing)]) == 2
    assert "no records database" in capsys.readouterr().err
    assert not missing.exists()  # nothing was created to look at
    monkeypatch.setenv("PLANTROOM_DB_URL", f"sqlite:///{tmp_path / 'absent.db'}")
    assert main(["verify-log"]) == 2
    assert not (tmp_path / "absent.db").exists()


def test_a_keyed_chain_cannot_be_recomputed_without_its_key(
    records: RecordsDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(records, 2)  # written before the key was set
    monkeypatch.setenv(logbook.KEY_ENV, "s3cret-of-the-chief-engineer")
    with records.engine.begin() as conn:
        for minute in range(2, 5):
            logbook.append(conn, entry(minute))
    report = verify(records)
    assert report.ok and report.keyed and report.unkeyed == 2
    # someone who can write the DB alters entry 4 and recomputes its link without the key
    with records.engine.begin() as conn:
        row = conn.execute(sa.select(book).where(book.c.seq == 4)).one()
        forged = logbook.LogEntry(row.ts.replace(tzinfo=UTC), PUMP, "state", "水泵正常")
        digest = logbook.entry_hash(row.prev_hash, 4, forged)
        conn.execute(sa.update(book).where(book.c.seq == 4).values(message="水泵正常", hash=digest))
        conn.execute(sa.update(book).where(book.c.seq == 5).values(prev_hash=digest))
    problems = verify(records).problems
    assert problems[0] == "entry 4: not keyed after keyed entries (rewritten)"
    assert "entry 5: content altered (hash mismatch)" in problems  # its keyed link broke
    # without the key, the keyed entries cannot be checked at all, and it says so
    monkeypatch.delenv(logbook.KEY_ENV)
    unkeyed = verify(records)
    assert not unkeyed.ok and not unkeyed.keyed
    assert "entry 3: content altered (hash mismatch)" in unkeyed.problems


def running(second: int, value: bool) -> logbook.LogEntry:
    message = "水泵启动" if value else "水泵停止"
    data = {"signal": "running", "value": value}
    return logbook.LogEntry(T0 + timedelta(seconds=second), PUMP, "state", message, data=data)


def test_one_entry_per_state_transition(records: RecordsDB) -> None:
    """Two recorders that saw the same changes (two alert engines) write each once."""
    seqs = []
    for _recorder in range(2):
        for change, value in ((running(0, True), "on"), (running(5, False), "off")):
            with records.engine.begin() as conn:
                seqs.append(logbook.append_transition(conn, change, "running", value))
    assert seqs == [1, 2, None, None]
    # a recorder that saw the start late (after the stop was logged) writes nothing either
    with records.engine.begin() as conn:
        assert logbook.append_transition(conn, running(3, True), "running", "on") is None
    with records.engine.connect() as conn:
        rows = conn.execute(sa.select(book.c.message)).scalars().all()
    assert rows == ["水泵启动", "水泵停止"]
