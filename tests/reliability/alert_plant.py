"""A site of many pumps, the time-series file the test writes faults into, the records DB,
and ``plantroom alerts`` processes; ``count_tickets`` is the final loss accounting.

Each fault episode is one pump tripping once: the test rewrites the fault (or the healthy
values) every ``write_every`` seconds, as a device reports, until told otherwise.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from core.readings import Reading
from core.site import load_site
from storage import RecordsDB, SqliteTimeSeriesStore, site_tags
from storage.tickets import alerts, ticket_events, tickets
from tests.alerts.engine_process import select_rows, start_engine, stop_processes, wait_for
from tests.alerts.rig import HEALTHY


@dataclass
class TicketCount:
    """Per fault episode: tickets missing (lost) and tickets beyond one (duplicated)."""

    lost: int
    duplicated: int
    tickets: int


class PumpPlant:
    def __init__(
        self, tmp: Path, db_url: str, pumps: int = 20, webhook_url: str | None = None
    ) -> None:
        self.webhook_url = webhook_url
        self.pumps = [f"pump-{n:02d}" for n in range(1, pumps + 1)]
        raw = {
            "site": {"id": "relsite", "name": "可靠性小区", "timezone": "Asia/Shanghai"},
            "buildings": [{"id": "b1", "name": "1号楼"}],
            "equipment": [
                {
                    "id": p,
                    "kind": "pump",
                    "name": f"生活泵{p[-2:]}号",
                    "building": "b1",
                    "role": "domestic",
                    "source": {"mqtt": {}},
                }
                for p in self.pumps
            ],
            "alerts": {"reopen_window": "0s", "rules": {"pump_trip": {"for": "1s"}}},
        }
        self.site_path = tmp / "site.yaml"
        self.site_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        self.site = load_site(self.site_path)
        self.ts_path = tmp / "ts.db"
        self.store = SqliteTimeSeriesStore(self.ts_path, site_tags(self.site))
        self.db_url = db_url
        self.records = RecordsDB(db_url)
        self.tmp = tmp
        self.engines: list[subprocess.Popen[bytes]] = []
        self.faulty: set[str] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.write()
        self._writer = threading.Thread(target=self._keep_writing, daemon=True)
        self._writer.start()

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PLANTROOM_SITE": str(self.site_path),
            "PLANTROOM_DB_URL": self.db_url,
            "PLANTROOM_TSDB_URL": f"sqlite:///{self.ts_path}",
            **({"PLANTROOM_WEBHOOK_URL": self.webhook_url} if self.webhook_url else {}),
        }

    def write(self) -> None:
        """Every pump's current values, now: tripped for those in ``faulty``."""
        now = datetime.now(UTC)
        with self._lock:
            faulty = set(self.faulty)
        self.store.write(
            [
                Reading(p, signal, now, float(value))
                for p in self.pumps
                for signal, value in {
                    **HEALTHY["pump"],
                    **({"fault": 1, "running": 0} if p in faulty else {}),
                }.items()
            ]
        )

    def _keep_writing(self) -> None:
        while not self._stop.wait(0.5):
            self.write()

    def trip(self, pump: str) -> None:
        with self._lock:
            self.faulty.add(pump)
        self.write()

    def clear(self, pump: str) -> None:
        with self._lock:
            self.faulty.discard(pump)
        self.write()

    def start_engine(self) -> subprocess.Popen[bytes]:
        process = start_engine(self.env, self.tmp / f"engine-{len(self.engines)}.log")
        self.engines.append(process)
        wait_for("the engine to store its first alert states", lambda: self.rows(alerts))
        return process

    def rows(self, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
        return select_rows(self.records, table, *where)

    def count_tickets(self, episodes: dict[str, int]) -> TicketCount:
        """Compare tickets (and their ``opened`` events) with the episodes per pump."""
        all_tickets = self.rows(tickets)
        per_pump = Counter(t["equipment"] for t in all_tickets)
        lost = sum(max(0, n - per_pump[p]) for p, n in episodes.items())
        duplicated = sum(max(0, n - episodes.get(p, 0)) for p, n in per_pump.items())
        opened = Counter(e["ticket_id"] for e in self.rows(ticket_events) if e["type"] == "opened")
        duplicated += sum(n - 1 for n in opened.values())
        return TicketCount(lost, duplicated, len(all_tickets))

    def close(self) -> None:
        self._stop.set()
        self._writer.join(5)
        stop_processes(self.engines)
        self.store.close()
        self.records.close()


def kill9(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()
