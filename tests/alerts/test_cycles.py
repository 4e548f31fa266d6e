"""Ticket cycles (DESIGN §8): every reopen starts a fresh cycle — deadlines from the reopen time,
escalation back to level 0, the earlier cycle kept; callbacks before closing; an entrapment's
two arrivals. Regression tests for the defects of issue 12, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.notices import TicketNotice
from core.site import ticket_policy
from core.tickets import Ticket
from storage.ticket_queries import callbacks_of, earlier_cycles, get_ticket
from storage.tickets import TicketError, record_callback, transition
from tests.alerts.rig import Rig, aware, minutes


def _escalations(rig: Rig, ticket_id: int) -> int:
    return rig.events(ticket_id).count("escalated")


def test_a_fault_recurring_after_a_repair_reopens_with_fresh_deadlines_and_no_storm(
    rig: Rig,
) -> None:
    """Was: a trip recurring 2 h after the repair kept the old deadlines; level 2
    (due + (due − start)) was long past, and 4 escalations came within a second."""
    rig.set("pump-1", fault=1)
    rig.tick()
    [ticket] = rig.tickets()
    first_start = aware(ticket["cycle_start"])
    for action in ("ack", "on_site"):
        rig.move(ticket["id"], action)
    rig.set("pump-1", fault=0)
    rig.tick(seconds=60, times=20)
    rig.move(ticket["id"], "resolve")
    rig.tick(seconds=600, times=12)  # two hours later, still resolved (no callback yet)
    rig.set("pump-1", fault=1)
    rig.tick()
    reopened_at = rig.clock.now()
    rig.tick(times=3)
    [ticket] = rig.tickets()
    assert ticket["status"] == "reopened" and ticket["cycle"] == 2
    assert aware(ticket["cycle_start"]) == reopened_at
    assert aware(ticket["respond_by"]) == reopened_at + minutes(10)
    assert aware(ticket["on_site_by"]) == reopened_at + minutes(30)
    assert ticket["acknowledged_at"] is None and ticket["resolved_at"] is None
    assert ticket["escalation_level"] == 0 and _escalations(rig, ticket["id"]) == 0
    # the earlier cycle is kept as it was
    with rig.records.engine.connect() as conn:
        [(first, ended)] = earlier_cycles(conn, ticket["id"])
    assert (first.number, ended, first.start) == (1, "resolved", first_start)
    assert first.acknowledged_at is not None and first.resolved_at is not None
    # the new cycle escalates on its own deadlines, once per level
    rig.tick(seconds=60, times=11)
    assert _escalations(rig, ticket["id"]) == 1
    rig.tick(seconds=60, times=10)
    assert _escalations(rig, ticket["id"]) == 2


def test_a_manual_reopen_of_a_closed_ticket_starts_a_fresh_cycle(rig: Rig) -> None:
    """Was: 6 escalation events at once, "to manager", and ``deadline: null``."""
    rig.set("pump-1", fault=1)
    rig.tick()
    rig.set("pump-1", fault=0)
    rig.tick()
    [ticket] = rig.tickets()
    for action in ("ack", "on_site", "resolve", "close"):
        rig.move(ticket["id"], action)
    rig.tick(seconds=3600, times=5)
    reopened = rig.move(ticket["id"], "reopen", "李主管", reason="住户反映仍有异响")
    now = rig.clock.now()
    assert reopened.status == "reopened" and reopened.cycle.number == 2
    assert reopened.cycle.start == now and reopened.cycle.respond_by == now + minutes(10)
    assert reopened.cycle.escalation_level == 0 and not reopened.overdue(now)
    rig.tick()
    assert _escalations(rig, ticket["id"]) == 0
    with rig.records.engine.connect() as conn:
        [(first, ended)] = earlier_cycles(conn, ticket["id"])
    assert ended == "closed" and first.closed_at is not None


def test_closing_needs_a_callback_and_an_unsatisfied_one_can_reopen(rig: Rig) -> None:
    rig.set("pump-1", fault=1)
    rig.tick()
    [ticket] = rig.tickets()
    tid, engine, config = ticket["id"], rig.records.engine, ticket_policy(rig.site)
    for action in ("ack", "on_site", "resolve"):
        rig.move(tid, action)
    now = rig.clock.now()
    # resolved on a Monday morning: the callback is due the next working day, same time
    assert get_ticket_now(rig, tid).cycle.callback_by == now + timedelta(days=1)
    with pytest.raises(TicketError, match="needs a callback record"):
        transition(engine, tid, "close", "李主管", now, config)
    with pytest.raises(TicketError, match="future"):
        record_callback(engine, tid, "客服", now + minutes(5), True, "", "客服", now, config)
    rig.tick(seconds=3600)
    updated, notices = record_callback(
        engine, tid, "客服小陈", rig.clock.now(), False, "水压仍偏低", "客服小陈", rig.clock.now(),
        config, reopen_if_unsatisfied=True,
    )  # fmt: skip
    assert [n.event for n in notices] == ["callback", "reopen"]
    assert notices[0].satisfied is False and notices[1].reason == "水压仍偏低"
    assert updated.status == "reopened" and updated.cycle.number == 2
    assert updated.cycle.respond_by == rig.clock.now() + minutes(10)
    with rig.records.engine.connect() as conn:
        [callback] = callbacks_of(conn, tid)
    assert (callback.cycle, callback.satisfied, callback.remarks) == (1, False, "水压仍偏低")
    # the second cycle: an unsatisfied callback closes only with a reason
    for action in ("ack", "resolve"):
        rig.move(tid, action)
    record_callback(
        engine, tid, "客服", rig.clock.now(), False, "住户不在家", "客服", rig.clock.now(), config
    )
    with pytest.raises(TicketError, match="unsatisfied"):
        transition(engine, tid, "close", "李主管", rig.clock.now(), config)
    closed, notice = transition(
        engine, tid, "close", "李主管", rig.clock.now(), config, "已电话说明"
    )
    assert closed.status == "closed" and notice.text == "回访确认，关单"


def test_entrapment_records_both_arrivals_and_the_release(rig: Rig) -> None:
    """Was: one on-site time, and the 5 minutes were met by an acknowledgement."""
    rig.set("lift-1", moving=0, door_zone=0, car_occupied=1)
    rig.tick(times=35)
    [ticket] = rig.tickets()
    tid = ticket["id"]
    rig.move(tid, "ack", "监控中心")  # the control room answers at once ...
    assert get_ticket_now(rig, tid).allowed() == [
        "staff_on_site", "on_site", "release", "resolve", "cancel"
    ]  # fmt: skip
    rig.tick(seconds=60, times=5)  # ... but nobody is at the lift 5 minutes in
    assert rig.events(tid)[-1] == "escalated"
    [escalated] = [n for n in rig.notices if isinstance(n, TicketNotice) and n.level]
    assert escalated.message == "未按时物业人员到场，升级至工程主管"
    rig.move(tid, "staff_on_site", "保安老张")
    rig.tick(seconds=60, times=10)
    rig.move(tid, "on_site", "电梯维保李工")
    rig.move(tid, "release", "电梯维保李工")
    t = get_ticket_now(rig, tid)
    c = t.cycle
    assert c.acknowledged_at and c.staff_on_site_at and c.on_site_at and c.released_at
    assert c.acknowledged_at < c.respond_by < c.staff_on_site_at  # type: ignore[operator]
    assert c.on_site_at <= c.on_site_by  # type: ignore[operator]
    assert t.overdue(rig.clock.now()) is False  # late, but done: no longer overdue
    # a pump ticket has no staff arrival nor release
    rig.set("pump-1", fault=1)
    rig.tick()
    pump = next(p for p in rig.tickets() if p["equipment"] == "pump-1")
    assert "staff_on_site" not in get_ticket_now(rig, pump["id"]).allowed()
    with pytest.raises(TicketError, match="cannot release"):
        rig.move(pump["id"], "release")


def get_ticket_now(rig: Rig, ticket_id: int) -> Ticket:
    with rig.records.engine.connect() as conn:
        ticket = get_ticket(conn, ticket_id)
    assert ticket is not None
    return ticket


def test_escalation_reads_chinese_and_keeps_english_fields(rig: Rig) -> None:
    rig.set("pump-1", fault=1)
    rig.tick()
    rig.tick(seconds=60, times=11)
    [notice] = [n for n in rig.notices if isinstance(n, TicketNotice) and n.event == "escalated"]
    assert notice.message == "未按时接单，升级至工程主管"
    assert (notice.notify, notice.deadline, notice.level) == ("supervisor", "respond", 1)
    assert notice.text == "超时升级"


def test_later_callbacks_cannot_predate_the_repair(rig: Rig) -> None:
    rig.set("pump-1", fault=1)
    rig.tick()
    [ticket] = rig.tickets()
    rig.move(ticket["id"], "resolve")
    early = rig.clock.now() - timedelta(minutes=5)
    with pytest.raises(TicketError, match="before the repair"):
        record_callback(
            rig.records.engine, ticket["id"], "客服", early, True, "", "客服", rig.clock.now(),
            ticket_policy(rig.site),
        )  # fmt: skip
