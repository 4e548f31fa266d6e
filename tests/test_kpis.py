"""KPIs on a scripted month, against numbers worked out by hand (see each ticket's comment)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.kpis import TicketFacts, compute_kpis

TZ = ZoneInfo("Asia/Shanghai")
START, END = datetime(2026, 3, 1, tzinfo=TZ), datetime(2026, 4, 1, tzinfo=TZ)  # 744 h
NOW = datetime(2026, 4, 2, tzinfo=TZ)
KINDS = {
    "pump-domestic-1": "pump",
    "pump-fire-1": "pump",
    "tank-domestic": "water_tank",
    "tank-fire": "water_tank",
    "lift-b1-1": "elevator",
    "lift-b2-1": "elevator",
    "firepanel-1": "fire_panel",
}


def t(day: int, hh: int, mm: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=TZ)


def m(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


def month_of_tickets() -> list[TicketFacts]:
    return [
        # 8: last month; makes #1 a repeat (same pump, same class, 10 days earlier)
        TicketFacts(8, "pump-domestic-1", "urgent", "closed", t(20, 8, month=2),
                    resolved_at=t(20, 9, month=2), closed_at=t(20, 10, month=2)),
        # 1: all on time; resolved Mon 12:00, called back Tue 09:00; repair 2 h
        TicketFacts(1, "pump-domestic-1", "urgent", "closed", t(2, 10),
                    respond_by=t(2, 10) + m(10), on_site_by=t(2, 10) + m(30),
                    acknowledged_at=t(2, 10, 5), on_site_at=t(2, 10, 20),
                    resolved_at=t(2, 12), closed_at=t(3, 9)),
        # 2: repeat of #1; late to respond and arrive; callback Wed 10:00 > Wed 09:00; 1 h
        TicketFacts(2, "pump-domestic-1", "urgent", "closed", t(10, 8),
                    respond_by=t(10, 8, 10), on_site_by=t(10, 8, 30),
                    acknowledged_at=t(10, 8, 15), on_site_at=t(10, 8, 35),
                    resolved_at=t(10, 9), closed_at=t(11, 10)),
        # 3: resolved Friday 20:00, one working day later is Monday 20:00; closed Mon 10:00; 2 h
        TicketFacts(3, "lift-b1-1", "elevator_fault", "closed", t(6, 18),
                    respond_by=t(6, 18, 30), on_site_by=t(6, 20),
                    acknowledged_at=t(6, 18, 10), on_site_at=t(6, 19),
                    resolved_at=t(6, 20), closed_at=t(9, 10)),
        # 4: another class on the same lift (not a repeat); never called back; 40 min
        TicketFacts(4, "lift-b1-1", "entrapment", "resolved", t(15, 12),
                    respond_by=t(15, 12, 5), on_site_by=t(15, 12, 30),
                    acknowledged_at=t(15, 12, 3), on_site_at=t(15, 12, 25),
                    resolved_at=t(15, 12, 40)),
        # 5: acknowledged, nobody went: on-site missed, overdue now; down 279 h to the end
        TicketFacts(5, "tank-domestic", "general", "acknowledged", t(20, 9),
                    respond_by=t(20, 9, 30), on_site_by=t(21, 9), resolve_by=t(22, 9),
                    acknowledged_at=t(20, 9, 10)),
        # 6: a false alarm: counts nowhere but "cancelled"
        TicketFacts(6, "pump-fire-1", "comms", "cancelled", t(25, 0),
                    respond_by=t(25, 0, 30), on_site_by=t(25, 2)),
        # 7: nothing done: both deadlines missed, overdue now; down 1 h to the end
        TicketFacts(7, "firepanel-1", "urgent", "open", t(31, 23),
                    respond_by=t(31, 23, 10), on_site_by=t(31, 23, 30)),
        # 9: reopened (cycle 2): a repeat; repair 06:00 -> 08:00 = 2 h; callback met
        TicketFacts(9, "tank-fire", "urgent", "closed", t(5, 0), cycle=2, cycle_start=t(5, 6),
                    respond_by=t(5, 0, 10), on_site_by=t(5, 0, 30),
                    acknowledged_at=t(5, 0, 5), on_site_at=t(5, 0, 20),
                    resolved_at=t(5, 8), closed_at=t(5, 9)),
    ]  # fmt: skip


def test_kpis_by_hand() -> None:
    k = compute_kpis(month_of_tickets(), KINDS, START, END, NOW, TZ)
    assert (k.tickets, k.cancelled) == (7, 1)  # 1, 2, 3, 4, 5, 7, 9
    assert (k.respond_on_time.met, k.respond_on_time.total) == (5, 7)  # 2 and 7 late
    assert (k.on_site_on_time.met, k.on_site_on_time.total) == (4, 7)  # 2, 5, 7 late
    assert (k.timeliness.met, k.timeliness.total) == (9, 14)
    assert k.timeliness.on_target is False
    assert (k.repeat_repairs.met, k.repeat_repairs.total) == (3, 7)  # 1, 2, 9
    assert k.repeat_repairs.on_target is False
    assert (k.callback_on_time.met, k.callback_on_time.total) == (3, 5)  # 2 late, 4 never
    assert (k.open_now, k.overdue_now) == (3, 2)  # 4, 5, 7 open; 5 and 7 overdue

    pump = k.by_equipment["pump-domestic-1"]
    assert (pump.failures, pump.mttr_hours) == (2, pytest.approx(1.5))
    assert pump.mtbf_hours == pytest.approx((744 - 3) / 2)
    lift = k.by_equipment["lift-b1-1"]
    assert lift.mttr_hours == pytest.approx((2 + 40 / 60) / 2)
    assert lift.mtbf_hours == pytest.approx((744 - 2 - 40 / 60) / 2)
    tank = k.by_equipment["tank-domestic"]
    assert (tank.mttr_hours, tank.mtbf_hours) == (None, pytest.approx(744 - 279))
    assert k.by_equipment["pump-fire-1"].mtbf_hours is None  # its only ticket was cancelled
    assert k.by_equipment["lift-b2-1"].tickets == 0

    assert k.by_kind["pump"].mtbf_hours == pytest.approx((2 * 744 - 3) / 2)
    assert k.by_kind["water_tank"].mtbf_hours == pytest.approx((2 * 744 - 279 - 2) / 2)
    assert k.by_kind["water_tank"].mttr_hours == pytest.approx(2.0)
    assert k.by_kind["elevator"].mtbf_hours == pytest.approx((2 * 744 - 2 - 40 / 60) / 2)
    assert k.by_kind["fire_panel"].mtbf_hours == pytest.approx(743.0)
    assert k.by_kind["fire_panel"].mttr_hours is None


def test_deadlines_still_running_are_not_judged() -> None:
    ticket = TicketFacts(1, "lift-b1-1", "entrapment", "open", t(15, 12),
                         respond_by=t(15, 12, 5), on_site_by=t(15, 12, 30))  # fmt: skip
    k = compute_kpis([ticket], KINDS, START, END, t(15, 12, 1), TZ)
    assert k.timeliness.total == 0 and k.timeliness.value is None
    assert (k.open_now, k.overdue_now) == (1, 0)
    late = compute_kpis([ticket], KINDS, START, END, t(15, 12, 6), TZ)
    assert (late.respond_on_time.met, late.respond_on_time.total, late.overdue_now) == (0, 1, 1)
