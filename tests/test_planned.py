"""Planned work orders (DESIGN §11): the planner on a fake clock for three months against the
golden dates, one order per occurrence however many planners run (SQLite and a real
PostgreSQL), escalation, and the lifecycle through the API with readings attached."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from alerts.planner import plan_and_escalate
from alerts.records import on_site_equipment
from api import ApiContext
from core.clock import FakeClock
from core.readings import Reading
from core.site import Site, parse_site
from core.workorders import OrderAction, OrderStatus, PlannedOrder
from storage import RecordsDB, SqliteTimeSeriesStore, site_tags
from storage.api_keys import Role
from storage.logbook import logbook
from storage.planned import PlannedRepository, find, planned_orders
from tests.api_support import auth, client_for, new_key
from tests.servers.postgres import Postgres
from tests.test_plans import GOLDEN

TZ = ZoneInfo("Asia/Shanghai")
Q1_START = datetime(2026, 1, 1, tzinfo=TZ)
Q1_END = datetime(2026, 4, 1, tzinfo=TZ)

SITE: dict[str, Any] = {
    "site": {"id": "s", "name": "测试"},
    "buildings": [{"id": "b1", "name": "1号楼"}],
    "equipment": [
        {
            "id": "p-1",
            "kind": "pump",
            "name": "生活泵",
            "building": "b1",
            "role": "domestic",
            "source": {"mqtt": {}},
        },
        {
            "id": "lift-1",
            "kind": "elevator",
            "name": "客梯",
            "building": "b1",
            "source": {"mqtt": {}},
        },
    ],
    "maintenance": {
        "start": "2026-01-01",
        "plans": [
            {
                "equipment": "p-1",
                "plan": "hours",
                "name_zh": "运行保养",
                "category": "maintenance",
                "run_hours": 500,
            },
        ],
    },
}


class Planners:
    """A site, a store with a pump's simulated run-hours counter, a records DB."""

    def __init__(self, tmp: Path, url: str) -> None:
        self.site: Site = parse_site(SITE)
        self.store = SqliteTimeSeriesStore(tmp / "ts.db", site_tags(self.site))
        self.records = RecordsDB(url)
        self.url = url

    def counters(self) -> None:
        """Run hours +1 at each hour 07:00..22:00 local (16 a day) through the quarter."""
        now, hours, batch = Q1_START, 1000.0, []
        while now < Q1_END:
            if 7 <= now.astimezone(TZ).hour <= 22:
                hours += 1
            batch.append(Reading("p-1", "run_hours", now.astimezone(UTC), hours))
            now += timedelta(hours=1)
        self.store.write(batch)

    def orders(self) -> list[PlannedOrder]:
        with self.records.engine.connect() as conn:
            return sorted(
                find(conn, limit=10_000), key=lambda o: (o.equipment, o.plan, o.due_start)
            )

    def close(self) -> None:
        self.store.close()
        self.records.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def planners(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Planners]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'records.db'}"
    else:
        server: Postgres = request.getfixturevalue("postgres")
        url = server.create_database()
    p = Planners(tmp_path, url)
    yield p
    p.close()


def _starts(orders: list[PlannedOrder], equipment: str, plan: str) -> list[datetime]:
    return [
        o.due_start.astimezone(TZ) for o in orders if (o.equipment, o.plan) == (equipment, plan)
    ]


def _golden(kind: str, plan: str) -> dict[str, Any]:
    return next(c for c in GOLDEN["cases"] if (c["kind"], c["plan"]) == (kind, plan))


def test_three_months_of_planners_on_a_fake_clock_make_each_order_once(
    planners: Planners,
) -> None:
    """Two planners (and a restart: a second records handle) step a fake clock through the
    quarter every 6 hours; every due date is the golden one, and each occurrence is one
    order however many planners saw it."""
    planners.counters()
    second = RecordsDB(planners.url)  # another engine process on the same records
    try:
        clock = FakeClock(Q1_START.astimezone(UTC))
        while clock.now() < Q1_END:
            for records in (planners.records, second, planners.records):
                plan_and_escalate(planners.site, planners.store, records.engine, clock.now())
            clock.advance(6 * 3600)
    finally:
        second.close()
    orders = planners.orders()
    lift = _golden("elevator", "maintain")
    assert _starts(orders, "lift-1", "maintain") == [
        datetime.fromisoformat(t).replace(tzinfo=TZ) for t in lift["starts"]
    ]
    checks = _starts(orders, "p-1", "check")
    # the occurrence current when planning began (Wed 31 Dec), then the quarter's 38
    assert checks[0] == datetime(2025, 12, 31, tzinfo=TZ)
    assert len(checks) == 1 + _golden("pump", "check")["count"]
    assert checks[1] == datetime(2026, 1, 2, tzinfo=TZ) and checks[-1] == datetime(
        2026, 3, 30, tzinfo=TZ
    )
    # usage: the 500th and 1000th run hour of use (worked out in tests/test_plans.py)
    assert _starts(orders, "p-1", "hours") == [
        datetime(2026, 2, 1, 10, tzinfo=TZ),
        datetime(2026, 3, 4, 14, tzinfo=TZ),
    ]
    assert _starts(orders, "p-1", "lubricate") == [datetime(2026, 1, 1, tzinfo=TZ)]
    keys = [(o.equipment, o.plan, o.due_start) for o in orders]
    assert len(keys) == len(set(keys))
    # nobody did anything: every order whose window closed is overdue and was escalated once
    # per level (one logbook entry each, whichever planner saw it first)
    with planners.records.engine.connect() as conn:
        escalations = conn.execute(
            sa.select(sa.func.count())
            .select_from(logbook)
            .where(logbook.c.type == "planned", logbook.c.message.like("%升级至%"))
        ).scalar_one()
        levels = conn.execute(sa.select(sa.func.sum(planned_orders.c.escalation))).scalar_one()
    assert escalations == levels > 0


def test_the_database_refuses_a_second_order_for_one_occurrence(planners: Planners) -> None:
    now = datetime(2026, 1, 5, 9, tzinfo=TZ)
    made, _ = plan_and_escalate(planners.site, planners.store, planners.records.engine, now)
    assert made
    row = {c: getattr(made[0], c) for c in ("equipment", "plan", "name_zh")}
    with pytest.raises(IntegrityError), planners.records.engine.begin() as conn:
        existing = (
            conn.execute(sa.select(planned_orders).where(planned_orders.c.id == made[0].id))
            .mappings()
            .one()
        )
        conn.execute(
            planned_orders.insert().values(
                {**{k: v for k, v in existing.items() if k != "id"}, **row}
            )
        )


def test_a_stopped_planner_makes_up_for_the_occurrences_it_missed(tmp_path: Path) -> None:
    p = Planners(tmp_path, f"sqlite:///{tmp_path / 'records.db'}")
    try:
        first = datetime(2026, 1, 5, 9, tzinfo=TZ)  # Monday
        plan_and_escalate(p.site, p.store, p.records.engine, first)
        plan_and_escalate(p.site, p.store, p.records.engine, first + timedelta(days=5))
        assert _starts(p.orders(), "p-1", "check") == [
            datetime(2026, 1, d, tzinfo=TZ) for d in (5, 7, 9)
        ]
    finally:
        p.close()


async def test_an_order_through_the_api_start_done_skip(tmp_path: Path) -> None:
    p = Planners(tmp_path, f"sqlite:///{tmp_path / 'records.db'}")
    clock = FakeClock(datetime(2026, 1, 5, 9, tzinfo=TZ).astimezone(UTC))
    try:
        plan_and_escalate(p.site, p.store, p.records.engine, clock.now())
        p.store.write(
            [
                Reading("p-1", "outlet_pressure_mpa", clock.now(), 0.4213),
                Reading("p-1", "running", clock.now(), 1.0),
            ]
        )
        key = new_key(p.records, Role.ENGINEER, "张工")
        viewer = new_key(p.records, Role.VIEWER)
        client = client_for(ApiContext(p.site, p.store, p.records, clock=clock))
        async with client:
            listed = (
                await client.get("/api/v1/planned?equipment=p-1", headers=auth(viewer))
            ).json()
            check = next(o for o in listed if o["plan"] == "check")
            assert check["status"] == "scheduled" and check["status_text"] == "待执行"
            assert check["due_start"] == "2026-01-05T00:00:00+08:00"
            assert check["due_by"] == "2026-01-07T00:00:00+08:00"
            assert check["allowed"] == ["start", "done", "skip"]
            url = f"/api/v1/planned/{check['id']}"
            assert (await client.post(f"{url}/start", headers=auth(viewer))).status_code == 403
            started = await client.post(f"{url}/start", headers=auth(key))
            assert started.status_code == 200 and started.json()["status"] == "in_progress"
            with p.records.engine.connect() as conn:
                assert "p-1" in on_site_equipment(conn)  # its alerts page nobody now
            assert (await client.post(f"{url}/start", headers=auth(key))).status_code == 409
            clock.advance(3600)
            done = await client.post(
                f"{url}/done",
                headers=auth(key),
                json={
                    "checklist": {"运行声音": "正常", "漏水": "无"},
                    "parts": [{"name": "机械密封", "quantity": 1}],
                    "notes": "已紧固",
                },
            )
            assert done.status_code == 200, done.text
            body = done.json()
            assert (
                body["status"] == "done"
                and body["on_time"]
                and body["finished_by"].startswith("张工")
            )
            assert body["result"]["checklist"] == {"运行声音": "正常", "漏水": "无"}
            assert body["result"]["parts"] == [{"name": "机械密封", "quantity": 1.0}]
            assert body["result"]["readings"]["outlet_pressure_mpa"]["value"] == 0.421
            assert body["result"]["readings"]["running"]["value"] is True
            with p.records.engine.connect() as conn:
                assert "p-1" not in on_site_equipment(conn)
            assert (
                await client.post(f"{url}/skip", headers=auth(key), json={"reason": "x"})
            ).status_code == 409
            lube = next(o for o in listed if o["plan"] == "lubricate")
            lube_url = f"/api/v1/planned/{lube['id']}"
            assert (
                await client.post(f"{lube_url}/skip", headers=auth(key), json={"reason": " "})
            ).status_code == 409
            assert (
                await client.post(f"{lube_url}/skip", headers=auth(key), json={})
            ).status_code == 422
            skipped = await client.post(
                f"{lube_url}/skip", headers=auth(key), json={"reason": "备件未到"}
            )
            assert (
                skipped.json()["status"] == "skipped"
                and skipped.json()["skip_reason"] == "备件未到"
            )
            assert (
                await client.get("/api/v1/planned/99999", headers=auth(viewer))
            ).status_code == 404
            log = (await client.get("/api/v1/equipment/p-1/log", headers=auth(viewer))).json()
        texts = [e["message"] for e in (log["entries"] if isinstance(log, dict) else log)]
        assert any("已完成" in t and "生活水泵巡检" in t for t in texts)
        assert any("已跳过：备件未到" in t for t in texts)
    finally:
        p.close()


def test_overdue_escalates_supervisor_then_manager(tmp_path: Path) -> None:
    p = Planners(tmp_path, f"sqlite:///{tmp_path / 'records.db'}")
    try:
        monday = datetime(2026, 1, 5, 9, tzinfo=TZ)
        plan_and_escalate(p.site, p.store, p.records.engine, monday)
        # Mon 00:00 -> Wed 00:00: overdue from Wednesday, the manager from Friday 00:00
        _, raised = plan_and_escalate(p.site, p.store, p.records.engine, monday + timedelta(days=2))
        assert [(o.plan, level) for o, level in raised] == [("check", 1)]
        _, raised = plan_and_escalate(p.site, p.store, p.records.engine, monday + timedelta(days=2))
        assert raised == []
        _, raised = plan_and_escalate(
            p.site, p.store, p.records.engine, datetime(2026, 1, 9, 0, 0, tzinfo=TZ)
        )
        assert ("check", 2) in [(o.plan, level) for o, level in raised]
        assert {o.status for o in p.orders()} == {OrderStatus.SCHEDULED}
    finally:
        p.close()


async def test_completion_rates_in_kpis(tmp_path: Path) -> None:
    """巡检完成率 / 保养完成率: orders whose window closed in the period, done within it.
    By hand: checks created 5 Jan (due 7 Jan, done on time), 8 Jan (due 9 Jan) and, made up
    on 20 Jan after the planner stood still, the last 7 days' (14 and 16 Jan, due by 19 Jan;
    9 and 12 Jan are past the catch-up): 1 of 4 on time. The elevator's
    1-16 January maintenance done on the 17th is late: 0 of 1."""
    p = Planners(tmp_path, f"sqlite:///{tmp_path / 'records.db'}")
    repo = PlannedRepository(p.records.engine)
    try:
        at = datetime(2026, 1, 5, 9, tzinfo=TZ)
        plan_and_escalate(p.site, p.store, p.records.engine, at)
        check = next(o for o in p.orders() if o.plan == "check")
        repo.act(check.id, OrderAction.DONE, "张工", at + timedelta(hours=1))
        plan_and_escalate(p.site, p.store, p.records.engine, datetime(2026, 1, 8, 9, tzinfo=TZ))
        lift = next(o for o in p.orders() if o.plan == "maintain")
        repo.act(lift.id, OrderAction.DONE, "张工", datetime(2026, 1, 17, 2, tzinfo=TZ))
        now = datetime(2026, 1, 20, 9, tzinfo=TZ)
        plan_and_escalate(p.site, p.store, p.records.engine, now)
        viewer = new_key(p.records, Role.VIEWER)
        clock = FakeClock(now.astimezone(UTC))
        async with client_for(ApiContext(p.site, p.store, p.records, clock=clock)) as client:
            kpis = await client.get(
                "/api/v1/kpis?start=2026-01-01T00:00&end=2026-01-20T00:00", headers=auth(viewer)
            )
        body = kpis.json()
        assert (
            body["inspection_completion"]["numerator"],
            body["inspection_completion"]["denominator"],
        ) == (
            1,
            4,
        )
        assert body["inspection_completion"]["target"] == 0.98
        assert body["inspection_completion"]["on_target"] is False
        assert (
            body["maintenance_completion"]["numerator"],
            body["maintenance_completion"]["denominator"],
        ) == (
            0,
            1,
        )
    finally:
        p.close()


async def test_a_fire_pump_test_run_seen_in_the_telemetry_is_offered_as_the_record(
    tmp_path: Path,
) -> None:
    raw = copy.deepcopy(SITE)
    raw["equipment"].append(
        {
            "id": "fp-1",
            "kind": "pump",
            "name": "消防泵",
            "building": "b1",
            "role": "fire",
            "source": {"mqtt": {}},
        }
    )
    p = Planners(tmp_path, f"sqlite:///{tmp_path / 'records.db'}")
    p.site = parse_site(raw)
    now = datetime(2026, 2, 10, 12, tzinfo=TZ)
    clock = FakeClock(now.astimezone(UTC))
    try:
        plan_and_escalate(p.site, p.store, p.records.engine, now)
        base = datetime(2026, 2, 10, 9, tzinfo=TZ)
        minute = timedelta(minutes=1)
        states = [(0, 0), (1, 1), (3, 0), (30, 1), (50, 0)]  # a 2-minute start, a 20-minute run
        p.store.write([Reading("fp-1", "running", base + m * minute, float(v)) for m, v in states])
        key = new_key(p.records, Role.ENGINEER)
        async with client_for(ApiContext(p.site, p.store, p.records, clock=clock)) as client:
            orders = (await client.get("/api/v1/planned?equipment=fp-1", headers=auth(key))).json()
            test = next(o for o in orders if o["plan"] == "test_run")
            assert test["test_runs"] == [
                {
                    "start": "2026-02-10T09:30:00+08:00",
                    "end": "2026-02-10T09:50:00+08:00",
                    "minutes": 20.0,
                }
            ]
            service = next(o for o in orders if o["plan"] == "service")
            assert service["test_runs"] == []  # not a test-run plan
            url = f"/api/v1/planned/{test['id']}/done"
            wrong = await client.post(
                url, headers=auth(key), json={"test_run_start": "2026-02-10T09:01:00+08:00"}
            )
            assert wrong.status_code == 409
            done = await client.post(
                url,
                headers=auth(key),
                json={"test_run_start": "2026-02-10T09:30:00+08:00", "notes": "季度试运行"},
            )
        assert done.status_code == 200, done.text
        assert done.json()["result"]["test_run"]["minutes"] == 20.0
        assert done.json()["test_runs"] == []  # done: nothing left to offer
    finally:
        p.close()


def test_the_alert_engine_runs_the_planner(tmp_path: Path) -> None:
    """The engine process's planner step (AlertService.plan) makes the due orders, and a
    machine with planned work in progress is one whose alerts page nobody."""
    from tests.alerts.rig import Rig

    rig = Rig(tmp_path, f"sqlite:///{tmp_path / 'records.db'}")
    try:
        rig.service.plan()
        with rig.records.engine.connect() as conn:
            orders = find(conn)
        machines = {eq.id for eq in rig.site.equipment}
        assert orders and {o.equipment for o in orders} <= machines
        assert {o.equipment for o in orders} == {
            eq.id for eq in rig.site.equipment if rig.site.plans(eq)
        }
        rig.service.plan()  # again: nothing new
        with rig.records.engine.connect() as conn:
            assert len(find(conn)) == len(orders)
    finally:
        rig.close()
