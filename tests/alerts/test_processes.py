"""The engine as its own process: SIGKILL while pending and while firing loses no ticket and
makes no duplicate; two engines on one PostgreSQL make one ticket per episode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from core.readings import Reading
from core.site import load_site, ticket_policy
from storage import RecordsDB, SqliteTimeSeriesStore, logbook, site_tags
from storage.tickets import alerts, ticket_events, tickets
from tests.alerts.engine_process import select_rows, start_engine, stop_processes, wait_for
from tests.alerts.rig import HEALTHY, SITE_FILE, move
from tests.servers.postgres import Postgres


class Plant:
    """The site file, the time-series file the test writes, the records DB, engine processes."""

    def __init__(self, tmp: Path, db_url: str) -> None:
        raw = yaml.safe_load(SITE_FILE.read_text(encoding="utf-8"))
        raw["alerts"] = {"reopen_window": "0s", "rules": {"pump_trip": {"for": "3s"}}}
        self.site_path = tmp / "site.yaml"
        self.site_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        self.site = load_site(self.site_path)
        self.ts_path = tmp / "ts.db"
        self.store = SqliteTimeSeriesStore(self.ts_path, site_tags(self.site))
        self.db_url = db_url
        self.records = RecordsDB(db_url)
        self.tmp = tmp
        self.processes: list[subprocess.Popen[bytes]] = []
        self.write()

    def write(self, **overrides: dict[str, float]) -> None:
        now = datetime.now(UTC)
        readings = [
            Reading(eq.id, signal, now, float(value))
            for eq in self.site.equipment
            for signal, value in {**HEALTHY[eq.kind], **overrides.get(eq.id, {})}.items()
        ]
        self.store.write(readings)

    def start_engine(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PLANTROOM_SITE": str(self.site_path),
            "PLANTROOM_DB_URL": self.db_url,
            "PLANTROOM_TSDB_URL": f"sqlite:///{self.ts_path}",
        }
        process = start_engine(env, self.tmp / f"engine-{len(self.processes)}.log")
        self.processes.append(process)
        wait_for("the engine to store its first alert states", lambda: self.rows(alerts))
        return process

    def rows(self, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
        return select_rows(self.records, table, *where)

    def alert(self, rule_id: str, subject: str) -> dict[str, Any]:
        [row] = self.rows(alerts, alerts.c.rule_id == rule_id, alerts.c.subject == subject)
        return row

    def status(self, rule_id: str, subject: str) -> str | None:
        """The alert's status, or None while the engine has not stored it yet."""
        rows = self.rows(alerts, alerts.c.rule_id == rule_id, alerts.c.subject == subject)
        return str(rows[0]["status"]) if rows else None

    def close(self) -> None:
        stop_processes(self.processes)
        self.store.close()
        self.records.close()


@pytest.fixture
def plant(tmp_path: Path, db_url: str) -> Iterator[Plant]:
    engines = Plant(tmp_path, db_url)
    yield engines
    engines.close()


def kill9(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_sigkill_while_pending_and_while_firing(plant: Plant) -> None:
    first = plant.start_engine()
    plant.write(**{"pump-1": {"fault": 1}})
    wait_for("pending", lambda: plant.status("pump_trip", "pump-1") == "pending")
    pending_since = plant.alert("pump_trip", "pump-1")["pending_since"]
    kill9(first)
    assert plant.rows(tickets) == []

    second = plant.start_engine()
    wait_for("the ticket", lambda: plant.rows(tickets))
    alert = plant.alert("pump_trip", "pump-1")
    assert alert["status"] == "firing" and alert["pending_since"] == pending_since
    kill9(second)

    plant.start_engine()
    plant.write(**{"pump-1": {"fault": 1}})  # still tripped after the restart
    plant.write()  # then it recovers
    wait_for("recovery", lambda: not plant.rows(tickets)[0]["fault_active"])
    [ticket] = plant.rows(tickets)
    events = plant.rows(ticket_events, ticket_events.c.ticket_id == ticket["id"])
    assert [e["type"] for e in events] == ["opened", "recovered"]
    assert plant.alert("pump_trip", "pump-1")["episode"] == 1


def changes(plant: Plant, machine: str) -> list[bool]:
    """The machine's fault changes in the logbook, in order: True for each fault, False for
    each reset."""
    entries = plant.rows(
        logbook.logbook, logbook.logbook.c.type == "state", logbook.logbook.c.equipment == machine
    )
    data = [json.loads(e["data"]) for e in entries]
    return [bool(d["value"]) for d in data if d["signal"] == "fault"]


def test_two_engines_on_postgresql_make_one_ticket_per_episode(
    tmp_path: Path, postgres: Postgres
) -> None:
    plant = Plant(tmp_path, postgres.create_database())
    try:
        plant.start_engine()
        plant.start_engine()
        faulty = {"pump-1": {"fault": 1}, "panel-1": {"fault": 1}, "lift-1": {"fault": 1}}
        for episode in (1, 2, 3):
            plant.write(**faulty)
            wait_for(
                f"episode {episode} tickets",
                lambda n=episode: (
                    len(plant.rows(tickets, tickets.c.fault_active)) == 3
                    and len(plant.rows(tickets)) == 3 * n
                ),
            )
            plant.write()
            wait_for("recovery", lambda: not plant.rows(tickets, tickets.c.fault_active))
            # the engines' state recorders poll the store each second: let them see the recovery
            wait_for(
                f"episode {episode}'s recovery in the logbook",
                lambda n=episode: all(
                    changes(plant, machine).count(False) >= n for machine in faulty
                ),
            )
            for ticket in plant.rows(tickets, tickets.c.status == "open"):
                for action in ("ack", "resolve", "close"):
                    move(
                        plant.records.engine,
                        ticket_policy(plant.site),
                        ticket["id"],
                        action,
                        "王工",
                        datetime.now(UTC),
                    )
        all_tickets = plant.rows(tickets)
        assert len(all_tickets) == 9
        assert {(t["equipment"], t["status"]) for t in all_tickets} == {
            ("pump-1", "closed"),
            ("panel-1", "closed"),
            ("lift-1", "closed"),
        }
        opened = plant.rows(ticket_events, ticket_events.c.type == "opened")
        assert sorted(e["ticket_id"] for e in opened) == sorted(t["id"] for t in all_tickets)
        assert plant.rows(ticket_events, ticket_events.c.type.in_(["recurred", "reopened"])) == []
        # each state change in the logbook once, though both engines saw it (issue 11 item 9)
        for machine in faulty:
            assert changes(plant, machine) == [True, False] * 3, machine
        alert_entries = plant.rows(logbook.logbook, logbook.logbook.c.type == "alert")
        keys = [(e["equipment"], e["message"], e["data"]) for e in alert_entries]
        assert len(keys) == len(set(keys))
        with plant.records.engine.connect() as conn:
            assert logbook.verify(conn).ok
        assert all(p.poll() is None for p in plant.processes)  # both engines still running
    finally:
        plant.close()
