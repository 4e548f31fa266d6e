"""Maintenance plans (DESIGN §11): defaults, site overrides, and three months of due dates on
a fake clock against golden cases worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from core.plans import (
    MaintenanceConfig,
    PlanError,
    PlanOverride,
    calendar_occurrences,
    occurrence_at,
    plans_for,
    usage_occurrences,
)
from core.readings import Reading
from core.site import SiteError, parse_site
from plantroom.check import summarise
from storage.counters import counter_samples
from storage.sqlite_ts import SqliteTimeSeriesStore

TZ = ZoneInfo("Asia/Shanghai")
CASES = Path(__file__).parent / "cases" / "plans"
Q1_START = datetime(2026, 1, 1, tzinfo=TZ)
Q1_END = datetime(2026, 4, 1, tzinfo=TZ)


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def _plan(kind: str, role: str | None, name: str, config: MaintenanceConfig | None = None) -> Any:
    plans = plans_for("m-1", kind, role, config or MaintenanceConfig())
    return next(p for p in plans if p.plan == name)


GOLDEN = yaml.safe_load((CASES / "q1-2026.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "case", GOLDEN["cases"], ids=lambda c: f"{c['kind']}-{c['role']}-{c['plan']}"
)
def test_three_months_of_calendar_plans_match_the_golden_dates(case: dict[str, Any]) -> None:
    plan = _plan(case["kind"], case["role"], case["plan"])
    found = calendar_occurrences(plan, TZ, date(2026, 1, 1), Q1_START, Q1_END)
    assert len(found) == case["count"]
    assert [found[0].start, found[0].due] == [_local(t) for t in case["first"]]
    assert [found[-1].start, found[-1].due] == [_local(t) for t in case["last"]]
    if "starts" in case:
        assert [o.start for o in found] == [_local(t) for t in case["starts"]]
    # each occurrence is due when the next starts: no gap, no overlap
    assert all(a.due == b.start for a, b in pairwise(found))


def test_the_occurrence_due_now_on_a_fake_clock_walks_the_quarter() -> None:
    """Stepping an hourly fake clock through the quarter meets every occurrence exactly once,
    and the one due at each step is the one the list says."""
    plan = _plan("pump", "domestic", "check")
    listed = calendar_occurrences(plan, TZ, date(2026, 1, 1), Q1_START, Q1_END)
    seen = []
    now = datetime(2026, 1, 2, tzinfo=TZ)
    while now < Q1_END:
        due = occurrence_at(plan, TZ, date(2026, 1, 1), now)
        assert due.start <= now < due.due
        if not seen or seen[-1] != due:
            seen.append(due)
        now += timedelta(hours=1)
    assert seen == listed


def test_elevator_maintenance_has_its_night_window() -> None:
    plan = _plan("elevator", None, "maintain")
    assert plan.within_window(datetime(2026, 1, 5, 2, 30, tzinfo=TZ), TZ)
    assert not plan.within_window(datetime(2026, 1, 5, 5, 0, tzinfo=TZ), TZ)
    assert not plan.within_window(datetime(2026, 1, 5, 14, 0, tzinfo=TZ), TZ)
    # UTC 18:30 is 02:30 in Shanghai
    assert plan.within_window(datetime(2026, 1, 4, 18, 30, tzinfo=UTC), TZ)


def _simulate_counters(store: SqliteTimeSeriesStore, reset_on: date | None) -> None:
    """A fake clock steps hourly through the quarter: the pump runs 06:00-22:00 (run_hours
    +1 at each hour 07:00..22:00, 16 a day) and starts three times a day (07:00, 12:00,
    18:00); on ``reset_on`` the counters are replaced and start again from 0."""
    now = Q1_START
    run_hours, starts = 1000.0, 5000.0
    batch: list[Reading] = []
    while now < Q1_END:
        local = now.astimezone(TZ)
        if reset_on is not None and local.date() == reset_on and local.hour == 0:
            run_hours, starts = 0.0, 0.0
        if 7 <= local.hour <= 22:
            run_hours += 1
        if local.hour in (7, 12, 18):
            starts += 1
        batch.append(Reading("pump-1", "run_hours", now, run_hours))
        batch.append(Reading("pump-1", "starts", now, starts))
        now += timedelta(hours=1)
    store.write(batch)


@pytest.mark.parametrize("reset_on", [None, date(2026, 2, 10)], ids=["steady", "counter-replaced"])
def test_usage_plans_from_the_stores_counters_match_the_golden_dates(
    tmp_path: Path, reset_on: date | None
) -> None:
    """By hand: 16 run hours a day, so the 500th hour of use is the 4th of 1 February (10:00)
    and the 1000th the 8th of 4 March (14:00); 3 starts a day, so the 100th start is the
    first of 3 February (07:00) and the 200th the second of 8 March (12:00). A replaced
    counter (back to 0) changes nothing: use goes on from the new value."""
    config = MaintenanceConfig(
        plans=[
            PlanOverride(
                kind="pump", plan="hours", name_zh="运行保养", category="maintenance", run_hours=500
            ),
            PlanOverride(
                kind="pump",
                plan="starts",
                name_zh="启动保养",
                category="maintenance",
                starts=100,
                grace=timedelta(days=3),
            ),
        ]
    )
    store = SqliteTimeSeriesStore(tmp_path / "ts.db")
    try:
        _simulate_counters(store, reset_on)
        by_hours = _plan("pump", None, "hours", config)
        by_starts = _plan("pump", None, "starts", config)
        hours = counter_samples(store, "pump-1", "run_hours", Q1_START, Q1_END)
        starts = counter_samples(store, "pump-1", "starts", Q1_START, Q1_END)
    finally:
        store.close()
    assert [(o.start, o.due) for o in usage_occurrences(by_hours, hours)] == [
        (_local("2026-02-01T10:00"), _local("2026-02-08T10:00")),
        (_local("2026-03-04T14:00"), _local("2026-03-11T14:00")),
    ]
    assert [(o.start, o.due) for o in usage_occurrences(by_starts, starts)] == [
        (_local("2026-02-03T07:00"), _local("2026-02-06T07:00")),
        (_local("2026-03-08T12:00"), _local("2026-03-11T12:00")),
    ]
    # 400 hours already used since the last service: due 100 h in (6 days x 16 = 96, then
    # 07:00..10:00 of 7 January)
    first = usage_occurrences(by_hours, hours, used_before=400)[0]
    assert first.start == _local("2026-01-07T10:00")


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
}


def test_site_overrides_replace_drop_and_add_plans() -> None:
    raw = dict(SITE)
    raw["maintenance"] = {
        "start": "2026-01-05",
        "plans": [
            {"kind": "pump", "plan": "check", "every": "2 days"},  # any pump: every other day
            {"equipment": "p-1", "plan": "lubricate", "off": True},
            {"kind": "elevator", "plan": "maintain", "window": "01:00-04:00"},  # keeps 15 days
            {
                "equipment": "lift-1",
                "plan": "rope_check",
                "name_zh": "钢丝绳检查",
                "category": "inspection",
                "every": "1 months",
            },
        ],
    }
    site = parse_site(raw)
    pump = {p.plan: p for p in site.plans(site.machine("p-1"))}
    assert set(pump) == {"check", "service"}
    assert pump["check"].every == "2 days" and pump["check"].weekdays is None
    assert pump["check"].name_zh == "生活水泵巡检"  # inherited from the default
    lift = {p.plan: p for p in site.plans(site.machine("lift-1"))}
    assert lift["maintain"].every == "15 days" and lift["maintain"].window == "01:00-04:00"
    assert lift["rope_check"].category == "inspection"
    due = occurrence_at(
        lift["maintain"], TZ, site.maintenance.start, datetime(2026, 1, 21, tzinfo=TZ)
    )
    assert (due.start, due.due) == (_local("2026-01-20T00:00"), _local("2026-02-04T00:00"))


def test_the_loader_reports_every_bad_override_with_its_path() -> None:
    raw = dict(SITE)
    raw["maintenance"] = {
        "plans": [
            {"equipment": "nope", "plan": "check", "every": "2 days"},
            {"kind": "boiler", "plan": "check", "every": "2 days"},
            {"kind": "pump", "plan": "new_one", "every": "2 days"},  # no name_zh, category
            {"kind": "pump", "plan": "check", "every": "0 days"},
            {"kind": "pump", "plan": "check", "every": "2 days", "run_hours": 100},
            {"kind": "elevator", "plan": "maintain", "window": "25:00-26:00"},
        ]
    }
    with pytest.raises(SiteError) as caught:
        parse_site(raw)
    text = "\n".join(caught.value.errors)
    assert "maintenance.plans[0].equipment: unknown equipment 'nope'" in text
    assert "maintenance.plans[1].kind: unknown equipment kind 'boiler'" in text
    assert "maintenance.plans[2].name_zh: Field required" in text
    assert "maintenance.plans[2].category: Field required" in text
    assert "maintenance.plans[3].every: Value error, expected 'N hours|days|weeks|months'" in text
    assert "maintenance.plans[4]: Value error, give exactly one schedule" in text
    assert "maintenance.plans[5].window: Value error, expected HH:MM-HH:MM" in text
    assert len(caught.value.errors) == 7


def test_an_override_names_one_machine_or_a_kind() -> None:
    raw = dict(SITE)
    raw["maintenance"] = {"plans": [{"equipment": "p-1", "kind": "pump", "plan": "check"}]}
    with pytest.raises(SiteError) as caught:
        parse_site(raw)
    assert caught.value.errors == [
        "maintenance.plans[0]: Value error, give either equipment or kind (with an optional role)"
    ]


def test_plan_errors_name_the_override() -> None:
    config = MaintenanceConfig(plans=[PlanOverride(kind="pump", plan="x", every="1 days")])
    with pytest.raises(PlanError) as caught:
        plans_for("p-1", "pump", None, config)
    assert caught.value.errors[0].startswith("maintenance.plans[0].name_zh")


def test_check_shows_each_machines_plans_and_next_due() -> None:
    site = parse_site(SITE)
    text = summarise(site, now=datetime(2026, 3, 3, 12, tzinfo=TZ))
    assert (
        "plan maintain           maintenance 电梯半月保养: every 15 days, 00:00-05:00; "
        "now 2026-03-02 00:00 to 2026-03-17 00:00, next from 2026-03-17 00:00"
    ) in text
    assert (
        "plan check              inspection  生活水泵巡检: mon,wed,fri at 00:00; now 2026-03-02"
        in text
    )


def test_inspection_routes_are_data_in_the_site_file() -> None:
    raw = dict(SITE)
    raw["shifts"] = {
        "rota": [{"name": "白班", "hours": "08:00-20:00"}, {"name": "夜班", "hours": "20:00-08:00"}]
    }
    raw["inspections"] = {
        "routes": [
            {
                "id": "plant_room",
                "name": "1号楼设备房巡检",
                "machines": ["p-1", "lift-1"],
                "times": ["09:00", "15:00"],
                "shift": "白班",
            },
        ]
    }
    site = parse_site(raw)
    for eq_id in ("p-1", "lift-1"):
        route = {p.plan: p for p in site.plans(site.machine(eq_id))}["route_plant_room"]
        assert route.category == "inspection" and route.window == "08:00-20:00"
    found = calendar_occurrences(
        route, TZ, date(2026, 1, 1), _local("2026-01-05T00:00"), _local("2026-01-06T00:00")
    )
    assert [(o.start, o.due) for o in found] == [
        (_local("2026-01-05T09:00"), _local("2026-01-05T15:00")),
        (_local("2026-01-05T15:00"), _local("2026-01-06T09:00")),
    ]
    raw["inspections"] = {
        "routes": [
            {
                "id": "a",
                "name": "x",
                "machines": ["p-1", "nope"],
                "times": ["09:00"],
                "shift": "早班",
            },
            {"id": "a", "name": "y", "machines": ["p-1"]},
        ]
    }
    with pytest.raises(SiteError) as caught:
        parse_site(raw)
    assert caught.value.errors == [
        "inspections.routes[0].machines[1]: unknown equipment 'nope'",
        "inspections.routes[0].shift: no shift '早班' in shifts.rota",
        "inspections.routes[1].id: duplicate route id 'a'",
        "inspections.routes[1]: Value error, give exactly one schedule: every, weekdays/times, "
        "run_hours or starts",
    ]
