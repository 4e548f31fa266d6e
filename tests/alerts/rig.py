"""A test rig: a site, a real SQLite time-series store, a real records DB, a fake clock.

Every ``tick`` advances the clock, writes the current value of every signal of every machine
that is not silenced (as a device would report it), and runs one engine step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from alerts.runner import AlertService
from core.clock import FakeClock
from core.events import EventBus
from core.notices import Notice
from core.readings import Quality, Reading
from core.site import Site, load_site, ticket_policy
from core.tickets import Ticket, TicketPolicy
from storage import RecordsDB, SqliteTimeSeriesStore, site_tags
from storage.tickets import (
    incidents,
    outbox,
    record_callback,
    ticket_events,
    tickets,
    transition,
)

SITE_FILE = Path(__file__).with_name("site.yaml")
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Asia/Shanghai

HEALTHY: dict[str, dict[str, float]] = {
    "pump": {
        "running": 1,
        "fault": 0,
        "outlet_pressure_mpa": 0.4,
        "current_a": 12.0,
        "auto_mode": 1,
        "starts": 100,
        "inspection_mode": 0,
        "frequency_hz": 45.0,
    },
    "elevator": {
        "in_service": 1,
        "fault": 0,
        "moving": 0,
        "door_zone": 1,
        "car_occupied": 0,
        "alarm_button": 0,
        "inspection_mode": 0,
        "machine_room_temp_c": 26.0,
    },
    "water_tank": {
        "level_pct": 60.0,
        "level_m": 1.8,
        "high_level": 0,
        "low_level": 0,
        "overflow": 0,
    },
    "fire_panel": {"fire_alarm": 0, "fault": 0, "mains_fail": 0, "battery_fail": 0},
}


class Rig:
    def __init__(
        self,
        tmp: Path,
        db_url: str,
        site: Site | None = None,
        bus: EventBus | None = None,
        webhook_url: str | None = None,
    ) -> None:
        self.site = site or load_site(SITE_FILE)
        self.clock = FakeClock(T0)
        self.store = SqliteTimeSeriesStore(tmp / "ts.db", site_tags(self.site))
        self.records = RecordsDB(db_url)
        self.values = {eq.id: dict(HEALTHY[eq.kind]) for eq in self.site.equipment}
        self.quality: dict[str, Quality] = {}
        self.silent: set[str] = set()
        self.service = AlertService(
            self.site, self.store, self.records, self.clock, bus, webhook_url
        )
        self.notices: list[Notice] = []

    def set(self, equipment: str, **values: float) -> None:
        self.values[equipment].update(values)

    def write(self) -> None:
        now = self.clock.now()
        readings = []
        for eq_id, values in self.values.items():
            if eq_id in self.silent:
                continue
            quality = self.quality.get(eq_id, Quality.GOOD)
            for signal, value in values.items():
                if quality is Quality.GOOD:
                    readings.append(Reading(eq_id, signal, now, value))
                else:
                    readings.append(Reading(eq_id, signal, now, None, quality, "test"))
        self.store.write(readings)

    def tick(self, seconds: float = 1.0, times: int = 1) -> None:
        for _ in range(times):
            self.clock.advance(seconds)
            self.write()
            self.notices += self.service.step()
            self.notices += self.service.escalate()

    def restart(self) -> None:
        """A new engine on the same databases, as after a process restart."""
        self.service = AlertService(
            self.site, self.store, self.records, self.clock, self.service.bus, None
        )

    def move(
        self, ticket_id: int, action: str, actor: str = "王工", reason: str | None = None
    ) -> Ticket:
        """A person's transition now, on the site's deadlines (see ``move``)."""
        return move(
            self.records.engine,
            ticket_policy(self.site),
            ticket_id,
            action,
            actor,
            self.clock.now(),
            reason,
        )

    def rows(self, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
        with self.records.engine.connect() as conn:
            query = sa.select(table).where(*where).order_by(*table.primary_key.columns)
            return [dict(r) for r in conn.execute(query).mappings()]

    def tickets(self, *where: Any) -> list[dict[str, Any]]:
        return self.rows(tickets, *where)

    def events(self, ticket_id: int) -> list[str]:
        return [e["type"] for e in self.rows(ticket_events, ticket_events.c.ticket_id == ticket_id)]

    def outbox(self) -> list[dict[str, Any]]:
        return self.rows(outbox)

    def incidents(self) -> list[dict[str, Any]]:
        return self.rows(incidents)

    def close(self) -> None:
        self.service.outbox.close()
        self.store.close()  # closing twice is harmless
        self.records.close()


def move(
    engine: sa.Engine,
    policy: TicketPolicy,
    ticket_id: int,
    action: str,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> Ticket:
    """A person's transition; a ``close`` is preceded by a satisfied callback, as closing
    needs one."""
    if action == "close":
        record_callback(engine, ticket_id, actor, now, True, "住户满意", actor, now, policy)
    ticket, _ = transition(engine, ticket_id, action, actor, now, policy, reason)
    return ticket


def aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
