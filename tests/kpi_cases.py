"""Golden KPI cases (``tests/cases/kpis/*.yaml``): ticket timelines worked out by hand, loaded
into a records DB through the real ticket code, and their expected KPI values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from core.calendar import Calendar
from core.site import Site, load_site, ticket_policy
from core.tickets import TicketEvent, due_times
from storage import RecordsDB
from storage.tickets import add_event, insert_ticket, record_callback, transition

CASES = Path(__file__).parent / "cases" / "kpis"
SITE = Path(__file__).parent / "alerts" / "site.yaml"
TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class KpiCase:
    name: str
    site: Site
    start: datetime
    end: datetime
    now: datetime
    tickets: list[dict[str, Any]]
    expected: dict[str, dict[str, float | None]]

    @property
    def machines(self) -> list[tuple[str, str]]:
        return [(eq.id, eq.kind) for eq in self.site.equipment]


def _at(text: str) -> datetime:
    ts = datetime.fromisoformat(text)
    ts = ts if ts.tzinfo is not None else ts.replace(tzinfo=TZ)
    return ts.astimezone(UTC)  # as the clock gives it: SQLite keeps no offset


def load_cases() -> list[KpiCase]:
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text("utf-8"))
        site = load_site(SITE)
        site = site.model_copy(update={"calendar": Calendar(**raw.get("calendar", {}))})
        out.append(
            KpiCase(
                path.stem,
                site,
                _at(raw["window"]["start"]),
                _at(raw["window"]["end"]),
                _at(raw["now"]),
                raw["tickets"],
                raw["expected"],
            )
        )
    return out


def load_into(case: KpiCase, records: RecordsDB) -> None:
    """Open each ticket and replay its steps through the ticket code, at their times."""
    policy = ticket_policy(case.site)
    engine = records.engine
    for i, t in enumerate(case.tickets):
        opened = _at(t["opened"])
        manual = "rule" not in t
        with engine.begin() as conn:
            ticket = insert_ticket(
                conn,
                fingerprint=f"{t['key']}-{i}",
                rule_id="manual" if manual else t["rule"],
                equipment=t["equipment"],
                ticket_class=t["class"],
                title=t.get("category") or t["rule"],
                severity="major",
                now=opened,
                cycle_start=opened,
                due=due_times(opened, policy.deadlines_for(t["class"])),
                category=t.get("category"),
            )
            add_event(conn, ticket, TicketEvent.OPENED, opened, t["key"])
        for step in t["steps"]:
            action, when = step[0], _at(step[1])
            if action == "callback":
                satisfied, remarks = step[2], step[3]
                record_callback(
                    engine, ticket.id, "客服", when, satisfied, remarks, "客服", when, policy
                )
            else:
                reason = step[2] if len(step) > 2 else None
                transition(engine, ticket.id, action, "值班", when, policy, reason)
