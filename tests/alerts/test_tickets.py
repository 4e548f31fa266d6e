"""Faults become exactly one ticket with the right deadlines (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import yaml

from alerts.maintenance import in_window
from core.readings import Quality
from core.rules import MaintenanceWindow
from core.site import parse_site, ticket_policy
from storage import logbook
from storage.tickets import TicketError, tickets, transition
from tests.alerts.rig import SITE_FILE, Rig, aware, minutes


def test_pump_trip_opens_one_urgent_ticket_with_deadlines(rig: Rig) -> None:
    rig.set("pump-1", fault=1)
    fault_at = rig.clock.now() + timedelta(seconds=1)
    rig.tick(times=10)
    [ticket] = rig.tickets()
    assert (ticket["equipment"], ticket["rule_id"], ticket["ticket_class"]) == (
        "pump-1",
        "pump_trip",
        "urgent",
    )
    assert ticket["status"] == "open" and ticket["fault_active"]
    assert ticket["title"] == "生活泵1号 水泵跳闸"  # Chinese names round-trip
    assert aware(ticket["respond_by"]) == fault_at + minutes(10)
    assert aware(ticket["on_site_by"]) == fault_at + minutes(30)
    assert aware(ticket["resolve_by"]) == fault_at + timedelta(hours=12)
    assert rig.events(ticket["id"]) == ["opened"]
    assert len(rig.outbox()) == 1
    with rig.records.engine.connect() as conn:
        report = logbook.verify(conn)
        kinds = (
            conn.execute(
                sa.select(logbook.logbook.c.type).where(logbook.logbook.c.equipment == "pump-1")
            )
            .scalars()
            .all()
        )
    assert report.ok and set(kinds) == {"alert", "ticket"}

    # recovery does not close the ticket: it awaits verification on site
    rig.set("pump-1", fault=0)
    rig.tick()
    [ticket] = rig.tickets()
    assert ticket["status"] == "open" and not ticket["fault_active"] and ticket["recovered_at"]
    # the fault comes back: the same ticket, re-armed
    rig.set("pump-1", fault=1)
    rig.tick(times=3)
    [ticket] = rig.tickets()
    assert ticket["fault_active"]
    assert rig.events(ticket["id"]) == ["opened", "recovered", "recurred"]


def test_entrapment_deadlines_run_from_the_fault(rig: Rig) -> None:
    rig.set("lift-1", moving=0, door_zone=0, car_occupied=1)
    fault_at = rig.clock.now() + timedelta(seconds=1)
    rig.tick(times=29)
    assert rig.tickets() == []  # still pending: 30 s to confirm
    rig.tick(times=5)
    [ticket] = rig.tickets()
    assert ticket["ticket_class"] == "entrapment" and ticket["rule_id"] == "entrapment"
    assert aware(ticket["respond_by"]) == fault_at + minutes(5)
    assert aware(ticket["on_site_by"]) == fault_at + minutes(30)
    assert ticket["resolve_by"] is None


def test_entrapment_pages_even_in_inspection_mode_but_a_pump_trip_does_not(rig: Rig) -> None:
    rig.set("pump-1", inspection_mode=1, fault=1)
    rig.tick(times=5)
    assert rig.tickets() == [] and rig.outbox() == []
    alert = rig.service.state("pump_trip", "pump-1")
    assert alert.status == "firing" and alert.suppressed  # recorded, pages nobody
    # inspection over, still tripped: now it pages
    rig.set("pump-1", inspection_mode=0)
    rig.tick()
    [ticket] = rig.tickets()
    assert ticket["rule_id"] == "pump_trip"

    rig.set("lift-1", inspection_mode=1, moving=0, door_zone=0, alarm_button=1)
    rig.tick(times=32)
    assert [t["rule_id"] for t in rig.tickets()] == ["pump_trip", "entrapment"]


def test_flapping_level_switch_opens_at_most_one_ticket(rig: Rig) -> None:
    for i in range(120):
        rig.set("tank-1", high_level=i % 4 < 2)  # toggles every 2 s
        rig.tick()
    assert len(rig.tickets()) <= 1
    flapping = [s for s in rig.service.states.values() if s.flapping]
    assert [s.rule_id for s in flapping] == ["tank_high"]


def test_gateway_down_opens_one_comms_ticket_for_the_gateway(rig: Rig) -> None:
    for eq in ("gw-pump-a", "gw-pump-b", "gw-tank"):
        rig.quality[eq] = Quality.COMM_FAULT
    rig.tick(times=40)
    [ticket] = rig.tickets()
    assert ticket["equipment"] == "gateway:10.0.0.9:502" and ticket["ticket_class"] == "comms"
    # one device behind a healthy gateway losing comms is its own ticket
    rig.quality.clear()
    rig.quality["gw-pump-a"] = Quality.COMM_FAULT
    rig.tick(times=20)
    assert [t["equipment"] for t in rig.tickets()] == ["gateway:10.0.0.9:502", "gw-pump-a"]


def test_one_failed_poll_round_is_not_an_outage(rig: Rig) -> None:
    # every machine behind a gateway misses one poll (a busy moment): no gateway ticket, and
    # the same for a moment when no machine of the site has a good value (a restart)
    gateway = ("gw-pump-a", "gw-pump-b", "gw-tank")
    for _ in range(3):
        rig.quality.update(dict.fromkeys(gateway, Quality.COMM_FAULT))
        rig.tick(seconds=5)
        rig.quality.clear()
        rig.tick(seconds=5, times=4)
    everyone = {eq.id: Quality.COMM_FAULT for eq in rig.site.equipment}
    rig.quality.update(everyone)
    rig.tick(seconds=5)
    rig.quality.clear()
    rig.tick(seconds=5, times=4)
    assert rig.tickets() == []
    # held for longer than the rule's 10 s, the gateway outage is one ticket
    rig.quality.update(dict.fromkeys(gateway, Quality.COMM_FAULT))
    rig.tick(seconds=5, times=3)
    assert [t["equipment"] for t in rig.tickets()] == ["gateway:10.0.0.9:502"]


def test_collector_down_is_one_site_alert(rig: Rig) -> None:
    rig.silent = {eq.id for eq in rig.site.equipment}
    rig.tick(seconds=5, times=30)
    [ticket] = rig.tickets()
    assert ticket["equipment"] == "site:testsite" and ticket["rule_id"] == "no_data"


def test_fire_alarm_is_an_incident_not_a_ticket_and_panel_fault_is_urgent(rig: Rig) -> None:
    rig.set("panel-1", fire_alarm=1)
    rig.tick()
    assert rig.tickets() == []
    [incident] = rig.incidents()
    assert incident["equipment"] == "panel-1" and incident["ended_at"] is None
    assert [n.type for n in rig.notices if n.type == "incident"] == ["incident"]
    rig.set("panel-1", fire_alarm=0, fault=1)
    rig.tick(times=6)
    assert rig.incidents()[0]["ended_at"] is not None
    [ticket] = rig.tickets()
    assert (ticket["rule_id"], ticket["ticket_class"]) == ("fire_panel_fault", "urgent")


def test_breached_deadlines_escalate_once_per_level(rig: Rig) -> None:
    rig.set("pump-1", fault=1)
    rig.tick()
    [ticket] = rig.tickets()
    rig.tick(seconds=60, times=11)  # respond-by (10 min) passed
    assert rig.events(ticket["id"]) == ["opened", "escalated"]
    rig.tick(seconds=60, times=10)  # respond twice overdue: manager
    assert rig.events(ticket["id"]) == ["opened", "escalated", "escalated"]
    rig.move(ticket["id"], "ack")
    rig.tick(seconds=60, times=10)  # on-site-by (30 min) passed too
    levels = [e for e in rig.events(ticket["id"]) if e == "escalated"]
    assert len(levels) == 3
    [ticket] = rig.tickets()
    assert ticket["escalation_level"] == 2


def test_lifecycle_is_enforced_and_on_site_suppresses(rig: Rig) -> None:
    rig.set("pump-1", fault=1)
    rig.tick()
    [ticket] = rig.tickets()
    engine, now, config = rig.records.engine, rig.clock.now(), ticket_policy(rig.site)
    with pytest.raises(TicketError, match="cannot close"):
        transition(engine, ticket["id"], "close", "王工", now, config)
    with pytest.raises(TicketError, match="needs a reason"):
        transition(engine, ticket["id"], "cancel", "王工", now, config)
    rig.move(ticket["id"], "ack")
    assert rig.move(ticket["id"], "on_site").status == "on_site"
    # technician on site: another fault of this pump is recorded but pages nobody
    rig.set("pump-1", outlet_pressure_mpa=0.01)
    rig.tick(times=35)
    assert len(rig.tickets()) == 1
    rig.move(ticket["id"], "resolve")
    with pytest.raises(TicketError, match="needs a callback record before closing"):
        transition(engine, ticket["id"], "close", "李主管", rig.clock.now(), config)
    rig.move(ticket["id"], "close", "李主管")
    assert rig.events(ticket["id"]) == ["opened", "ack", "on_site", "resolve", "callback", "close"]


def test_recurrence_within_reopen_window_reopens_after_that_opens_new(rig: Rig) -> None:
    rig.set("pump-1", fault=1)
    rig.tick()
    rig.set("pump-1", fault=0)
    rig.tick()
    [ticket] = rig.tickets()
    for action in ("ack", "resolve", "close"):
        rig.move(ticket["id"], action)
    rig.tick(seconds=60, times=10)
    rig.set("pump-1", fault=1)
    rig.tick()
    [ticket] = rig.tickets()
    assert ticket["status"] == "reopened" and ticket["cycle"] == 2
    rig.set("pump-1", fault=0)
    rig.tick()
    for action in ("ack", "resolve", "close"):
        rig.move(ticket["id"], action)
    rig.tick(seconds=600, times=7)  # beyond the 1 h reopen window
    rig.set("pump-1", fault=1)
    rig.tick()
    assert [t["status"] for t in rig.tickets()] == ["closed", "open"]


def test_restart_resumes_pending_timer_and_never_refires(rig: Rig) -> None:
    rig.set("pump-1", outlet_pressure_mpa=0.01)  # dry running, 30 s to confirm
    rig.tick(times=20)
    rig.restart()
    rig.tick(times=11)  # 31 s since the fault: fires on the persisted pending_since
    [ticket] = rig.tickets()
    assert ticket["rule_id"] == "dry_running"
    rig.restart()
    rig.tick(times=5)
    assert len(rig.tickets()) == 1 and rig.events(ticket["id"]) == ["opened"]


def test_short_cycling_counts_starts_in_the_hour(rig: Rig) -> None:
    starts = 100
    for _ in range(6):
        starts += 1
        rig.set("pump-1", starts=starts)
        rig.tick(seconds=300)
    assert rig.tickets() == []
    rig.set("pump-1", starts=starts + 1)
    rig.tick()
    [ticket] = rig.tickets()
    assert ticket["rule_id"] == "short_cycling"


def test_two_live_tickets_for_one_fault_are_refused_by_the_database(rig: Rig) -> None:
    rig.set("pump-1", fault=1)
    rig.tick()
    [ticket] = rig.tickets()
    copy = {k: v for k, v in ticket.items() if k != "id"}
    with pytest.raises(sa.exc.IntegrityError), rig.records.engine.begin() as conn:
        conn.execute(tickets.insert().values(**copy))


def test_an_entrapment_is_one_ticket_not_also_a_fault_and_an_outage(rig: Rig) -> None:
    rig.set("lift-1", moving=0, door_zone=0, alarm_button=1, fault=1, in_service=0)
    rig.tick(times=90)
    assert [t["rule_id"] for t in rig.tickets()] == ["entrapment"]
    assert rig.service.state("elevator_fault", "lift-1").suppressed
    # rescued, but the lift stays faulted: now the fault is a ticket of its own
    rig.set("lift-1", door_zone=1, alarm_button=0)
    rig.tick(times=2)
    assert [t["rule_id"] for t in rig.tickets()] == ["entrapment", "elevator_fault"]


def test_maintenance_window_records_but_pages_nobody(tmp_path: Path, db_url: str) -> None:
    raw = yaml.safe_load(SITE_FILE.read_text(encoding="utf-8"))
    # T0 is Monday 09:00 in Asia/Shanghai
    raw["alerts"]["maintenance"] = [
        {"days": ["mon"], "start": "09:00", "end": "09:30", "equipment": ["pump-1"]}
    ]
    rig = Rig(tmp_path, db_url, site=parse_site(raw))
    try:
        rig.set("pump-1", fault=1)
        rig.set("gw-pump-a", fault=1)  # not in the window
        rig.tick(seconds=60, times=29)
        assert [t["equipment"] for t in rig.tickets()] == ["gw-pump-a"]
        rig.tick(seconds=60, times=2)  # 09:31: the window is over and the pump still tripped
        assert [t["equipment"] for t in rig.tickets()] == ["gw-pump-a", "pump-1"]
    finally:
        rig.close()


@pytest.mark.parametrize(
    ("local", "inside"),
    [
        ("2026-03-06 23:30", True),  # Friday night
        ("2026-03-07 01:59", True),  # Saturday morning, still Friday's window
        ("2026-03-07 02:00", False),
        ("2026-03-05 23:30", False),  # Thursday
    ],
)
def test_windows_across_midnight(local: str, inside: bool) -> None:
    tz = ZoneInfo("Asia/Shanghai")
    window = MaintenanceWindow(days=["fri"], start="22:00", end="02:00")
    now = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    assert in_window(window, now, tz) is inside


def test_an_unreadable_store_is_one_root_cause_ticket(rig: Rig) -> None:
    rig.set("pump-1", fault=1)
    rig.tick()
    rig.store.close()  # the time-series store is gone: nothing can be evaluated
    for _ in range(40):
        rig.clock.advance(1)
        rig.service.step()
    assert [(t["equipment"], t["rule_id"]) for t in rig.tickets()] == [
        ("pump-1", "pump_trip"),
        ("site:testsite", "store_down"),
    ]
    # what was firing stays firing: no data is not a recovery
    assert rig.service.state("pump_trip", "pump-1").status == "firing"


def test_a_level_falling_fast_is_a_rate_of_change_alert(rig: Rig) -> None:
    level = 60.0  # where the rig's tank has been
    for _ in range(150):  # 8 %/min for 2.5 minutes: a burst pipe
        level -= 8.0 / 60
        rig.set("tank-1", level_pct=level)
        rig.tick()
    assert [t["rule_id"] for t in rig.tickets()] == ["level_falling_fast"]


def test_failure_to_start_is_its_own_ticket_not_also_a_trip(rig: Rig) -> None:
    rig.set("pump-1", running=0, fault=1, fault_code=31)
    rig.tick(times=3)
    assert [t["rule_id"] for t in rig.tickets()] == ["failure_to_start"]
    rig.set("gw-pump-a", fault=1, fault_code=12)  # another drive code: a trip
    rig.tick()
    assert [t["rule_id"] for t in rig.tickets()] == ["failure_to_start", "pump_trip"]


def test_an_overflow_is_not_also_a_high_level_ticket(rig: Rig) -> None:
    rig.set("tank-1", level_pct=99.5, high_level=1, overflow=1)
    rig.tick(times=15)
    assert [t["rule_id"] for t in rig.tickets()] == ["tank_overflow"]


def test_a_tickets_deadlines_run_from_the_reading_that_caused_it(rig: Rig) -> None:
    rig.tick()
    rig.set("pump-1", fault=1)
    rig.clock.advance(1)
    fault_at = rig.clock.now()
    rig.write()  # the trip is stored with the time it was read...
    rig.clock.advance(3)
    rig.notices += rig.service.step()  # ...and the engine gets to it 3 s later
    [ticket] = rig.tickets()
    assert aware(ticket["respond_by"]) == fault_at + minutes(10)
    with rig.records.engine.connect() as conn:
        [firing] = [
            e
            for e in conn.execute(sa.select(logbook.logbook)).mappings()
            if e["equipment"] == "pump-1" and e["type"] == "alert"
        ]
    assert aware(firing["ts"]) == fault_at


def test_overflow_is_the_overflow_pipes_switch_not_a_level(rig: Rig) -> None:
    # a transmitter reading 99.5 % (or over-ranged) is high, not an overflow: water is lost
    # only when the overflow pipe's flow switch sees it
    rig.set("tank-1", level_pct=99.5, high_level=1, overflow=0)
    rig.tick(times=15)
    assert [t["rule_id"] for t in rig.tickets()] == ["tank_high"]
