"""A simulated month of repairs (March 2026, 湖畔花园) for the monthly report: a scripted core
worked out by hand in ``test_monthly_report.py``, and optional seeded bulk for long ledgers.

Each ticket is opened, moved and closed through the real ticket functions at the times given
(the site's zone, stored in UTC), with the deadlines of the site's ticket classes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from core.plans import Category
from core.rules import TicketClass
from core.site import Site, ticket_policy
from core.tickets import due_times
from core.workorders import OrderAction, OrderSource
from storage import RecordsDB, planned
from storage.planned import DueOrder
from storage.ticket_desk import open_manual_ticket
from storage.tickets import record_callback, transition
from tests.alerts.rig import move

SITE = Path(__file__).parent / "cases" / "monthly" / "site.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 4, 3, 10, 0, tzinfo=SHANGHAI)  # when the report is made


def at(month: int, day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=SHANGHAI)


Step = tuple[str, datetime]


def ticket(
    records: RecordsDB,
    site: Site,
    equipment: str,
    ticket_class: str,
    title: str,
    opened: datetime,
    steps: list[Step],
) -> int:
    # in UTC, as the clock gives them: SQLite keeps no offset
    opened = opened.astimezone(UTC)
    due = due_times(opened, site.alerts.deadlines_for(TicketClass(ticket_class)))
    with records.engine.begin() as conn:
        row, _ = open_manual_ticket(
            conn, equipment, ticket_class, title, "major", due, "前台", opened
        )
    ticket_id = row.id
    for action, when in steps:
        person = "李工" if action.startswith("close") else "张工"
        reason = "误报，现场正常" if action == "cancel" else None
        if action == "close_unsatisfied":  # called back, not satisfied, closed all the same
            called = when.astimezone(UTC)
            record_callback(
                records.engine,
                ticket_id,
                person,
                called,
                False,
                "住户称仍有异响",
                person,
                called,
                ticket_policy(site),
            )
            transition(
                records.engine,
                ticket_id,
                "close",
                person,
                called,
                ticket_policy(site),
                "已向住户解释：异响为正常运行声",
            )
            continue
        # a close is called back at that moment (closing needs a callback record)
        move(
            records.engine,
            ticket_policy(site),
            ticket_id,
            action,
            person,
            when.astimezone(UTC),
            reason,
        )
    return ticket_id


def script_month(records: RecordsDB, site: Site) -> dict[str, int]:
    """The hand-checked core (letters as in the test's working)."""
    ids = {
        "feb": ticket(
            records,
            site,
            "pump-domestic-1",
            "general",
            "水泵异响",
            at(2, 20, 10),
            [("resolve", at(2, 20, 15)), ("close", at(2, 21, 9))],
        ),
        "A": ticket(
            records,
            site,
            "pump-domestic-1",
            "general",
            "水泵异响（再次）",
            at(3, 2, 9),
            [
                ("ack", at(3, 2, 9, 10)),
                ("on_site", at(3, 2, 10)),
                ("resolve", at(3, 2, 12)),
                ("close", at(3, 2, 16)),
            ],
        ),
        "B": ticket(
            records,
            site,
            "lift-b1-1",
            "elevator_fault",
            "电梯停梯",
            at(3, 3, 14),
            [
                ("ack", at(3, 3, 14, 45)),
                ("on_site", at(3, 3, 15, 30)),
                ("resolve", at(3, 3, 17)),
                ("close_unsatisfied", at(3, 5, 10)),
            ],
        ),
        "C": ticket(
            records,
            site,
            "tank-fire",
            "urgent",
            "消防水池低水位",
            at(3, 6, 20),
            [
                ("ack", at(3, 6, 20, 5)),
                ("on_site", at(3, 6, 20, 20)),
                ("resolve", at(3, 6, 23)),
                ("close", at(3, 9, 10)),
            ],
        ),
        "D": ticket(
            records,
            site,
            "lift-b2-1",
            "comms",
            "电梯网关通讯中断",
            at(3, 10, 8),
            [("ack", at(3, 10, 8, 10)), ("resolve", at(3, 10, 9)), ("close", at(3, 10, 10))],
        ),
        "E": ticket(
            records,
            site,
            "pump-fire-1",
            "general",
            "稳压泵报警",
            at(3, 12, 10),
            [("cancel", at(3, 12, 10, 20))],
        ),
        "F": ticket(
            records,
            site,
            "pump-domestic-1",
            "urgent",
            "生活泵跳闸",
            at(3, 15, 3),
            [
                ("ack", at(3, 15, 3, 5)),
                ("on_site", at(3, 15, 3, 25)),
                ("resolve", at(3, 15, 5)),
                ("close", at(3, 16, 9)),
            ],
        ),
        "J": ticket(
            records,
            site,
            "lift-b1-1",
            "entrapment",
            "电梯困人",
            at(3, 20, 19),
            [
                ("ack", at(3, 20, 19, 3)),
                ("on_site", at(3, 20, 19, 25)),
                ("resolve", at(3, 20, 19, 40)),
                ("close", at(3, 21, 10)),
            ],
        ),
        "G": ticket(
            records,
            site,
            "firepanel-1",
            "urgent",
            "火灾报警主机故障",
            at(3, 30, 22),
            [("ack", at(3, 30, 22, 30))],
        ),
        "H": ticket(
            records, site, "tank-domestic", "general", "水箱人孔盖松动", at(3, 31, 23, 30), []
        ),
        "april": ticket(records, site, "pump-domestic-1", "general", "四月报修", at(4, 1, 9), []),
    }
    return ids


def bulk(records: RecordsDB, site: Site, count: int, seed: int = 14) -> None:
    """``count`` more repairs spread over the month, each acknowledged, resolved and closed
    after seeded random delays (for long ledgers)."""
    rng = random.Random(seed)
    machines = [eq.id for eq in site.equipment]
    for n in range(count):
        opened = at(3, 1, 0) + timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
        ack = opened + timedelta(minutes=rng.randrange(2, 45))
        resolved = ack + timedelta(minutes=rng.randrange(20, 600))
        closed = resolved + timedelta(hours=rng.randrange(1, 40))
        ticket(
            records,
            site,
            rng.choice(machines),
            rng.choice(["general", "urgent"]),
            # ASCII marks at both ends: a row cut across pages shows them on two pages
            f"Q{n + 1:02d}A 巡查发现：设备运行声音异常，需检查轴承润滑与紧固件并记录 Q{n + 1:02d}Z",
            opened,
            [("ack", ack), ("resolve", resolved), ("close", closed)],
        )


def order(
    records: RecordsDB,
    equipment: str,
    name: str,
    category: Category,
    window: tuple[datetime, datetime],
    finish: tuple[str, datetime] | None = None,
) -> int:
    """A planned work order over ``window``, done (``("done", when)``) or skipped."""
    due = DueOrder(
        equipment,
        name,
        name,
        category,
        OrderSource.PLAN,
        window[0].astimezone(UTC),
        window[1].astimezone(UTC),
    )
    with records.engine.begin() as conn:
        (made,) = planned.schedule(conn, [due], window[0].astimezone(UTC))
        if finish is not None:
            action, when = finish
            planned.act(
                conn,
                made.id,
                OrderAction(action),
                "王工",
                when.astimezone(UTC),
                reason="停电，改期" if action == "skip" else None,
            )
    return made.id


def script_planned(records: RecordsDB) -> None:
    """March's rounds and maintenance: inspections 3 of 4 done in their window (one late),
    maintenance 1 of 2 (one skipped); one more falls due in April."""
    i, m = Category.INSPECTION, Category.MAINTENANCE
    order(
        records,
        "pump-domestic-1",
        "水泵点检",
        i,
        (at(3, 2, 8), at(3, 2, 18)),
        ("done", at(3, 2, 9)),
    )
    order(
        records,
        "pump-domestic-1",
        "水泵点检",
        i,
        (at(3, 4, 8), at(3, 4, 18)),
        ("done", at(3, 4, 17)),
    )
    order(
        records,
        "firepanel-1",
        "报警主机功能测试",
        i,
        (at(3, 5, 0), at(3, 6, 0)),
        ("done", at(3, 5, 10)),
    )
    order(
        records,
        "firepanel-1",
        "报警主机功能测试",
        i,
        (at(3, 6, 0), at(3, 7, 0)),
        ("done", at(3, 7, 9)),
    )  # late: after its window
    order(
        records,
        "lift-b1-1",
        "电梯半月保养",
        m,
        (at(3, 10, 0), at(3, 10, 5)),
        ("done", at(3, 10, 3)),
    )
    order(
        records,
        "lift-b1-1",
        "电梯半月保养",
        m,
        (at(3, 25, 0), at(3, 25, 5)),
        ("skip", at(3, 25, 1)),
    )
    order(records, "tank-domestic", "水箱清洗", m, (at(3, 31, 8), at(4, 2, 18)))
