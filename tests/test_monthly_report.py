"""The monthly report (月报) of a simulated March 2026: figures worked out by hand, the whole
report against its golden case, and the same answer every time it is recomputed.

Deadlines (DESIGN §8): general 30 min / 24 h, elevator fault 30 min / 2 h, urgent 10 min /
30 min, comms 30 min / 2 h, entrapment 5 min / 30 min. Report made 3 April 10:00.

Tickets opened in March (E cancelled, so left out; "feb" and "april" outside the month):
  A pump-domestic-1 general      respond ✓ 09:10  on site ✓  resolved after 3 h  callback ✓
    (a repeat: the same machine and class was repaired on 20 Feb, within 30 days)
  B lift-b1-1 elevator_fault     respond ✗ 14:45 > 14:30  on site ✓  3 h  callback ✗ (Thu 10:00
    > Wed 17:00), and the resident not satisfied (closed with an explanation)
  C tank-fire urgent             respond ✓  on site ✓  3 h  callback ✓ (Fri 23:00 → Mon 23:00)
  D lift-b2-1 comms              respond ✓  on site ✓ (resolved 09:00 ≤ 10:00)  1 h  callback ✓
  F pump-domestic-1 urgent       respond ✓  on site ✓  2 h  callback ✗ (Sun 05:00 → Mon 05:00,
    closed 09:00)
  J lift-b1-1 entrapment         respond ✓  on site ✓  40 min  callback ✓
  G firepanel-1 urgent           respond ✗ (22:30 > 22:10)  on site ✗ (never, due 22:30)
  H tank-domestic general        respond ✗ and on site ✗ (nobody came; both due before 3 April)
Respond 5/8, on site 6/8, timeliness 11/16; repeats 1/8; callback 4/6 (G and H unresolved).
MTTR = (3+3+3+1+2+⅔)/6 h. MTBF: 9 machines × 744 h, less the failures' repair time within the
month (A 3, B 3, C 3, F 2, J ⅔, G 26 to the month's end, H ½ = 38⅙ h), over 7 failures (D is a
comms loss, not a failure).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from api import ApiContext
from core.clock import FakeClock
from core.site import Site, load_site
from storage import RecordsDB, SqliteTimeSeriesStore
from storage.api_keys import Role
from tests.api_support import auth, client_for, new_key
from tests.monthly_case import NOW, SITE, script_month, script_planned
from tests.servers.postgres import Postgres

GOLDEN = Path(__file__).parent / "cases" / "monthly" / "lakeside-2026-03.json"


@pytest.fixture
def site() -> Site:
    """The month's own site (the example's nine machines), whatever the example grows into."""
    return load_site(SITE)


@pytest.fixture
def context(site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB) -> ApiContext:
    script_month(records, site)
    script_planned(records)
    return ApiContext(site=site, store=ts_store, records=records, clock=FakeClock(NOW))


async def _get(ctx: ApiContext, records: RecordsDB, **params: str) -> Any:
    viewer = auth(new_key(records, Role.VIEWER))
    async with client_for(ctx) as client:
        response = await client.get("/api/v1/reports/monthly", params=params, headers=viewer)
    assert response.status_code == 200, response.text
    return response


async def test_march_by_hand(context: ApiContext, records: RecordsDB) -> None:
    report = (await _get(context, records, month="2026-03")).json()
    assert (report["month"], report["complete"]) == ("2026-03", True)
    assert report["start"] == "2026-03-01T00:00:00+08:00"
    assert report["end"] == "2026-04-01T00:00:00+08:00"
    ledger = {t["title"]: t for t in report["ledger"]}
    assert len(ledger) == 8 and "稳压泵报警" not in ledger  # cancelled: a false alarm
    assert "四月报修" not in ledger and "水泵异响" not in ledger
    assert ledger["水泵异响（再次）"]["repeat"] is True
    assert ledger["电梯停梯"]["on_time"] is False and ledger["电梯困人"]["on_time"] is True
    assert ledger["电梯困人"]["repair_hours"] == pytest.approx(0.667)
    assert ledger["电梯停梯"]["opened_at"] == "2026-03-03T14:00:00+08:00"

    kpis = {k["key"]: k for k in report["kpis"]}
    assert (kpis["respond_on_time"]["numerator"], kpis["respond_on_time"]["denominator"]) == (5, 8)
    assert (kpis["on_site_on_time"]["numerator"], kpis["on_site_on_time"]["denominator"]) == (6, 8)
    assert kpis["timeliness"]["value"] == pytest.approx(11 / 16)
    assert kpis["timeliness"]["target"] == 0.98 and kpis["timeliness"]["on_target"] is False
    assert kpis["repeat_repairs"]["value"] == pytest.approx(1 / 8)
    assert kpis["repeat_repairs"]["at_least"] is False
    assert (kpis["callback_on_time"]["numerator"], kpis["callback_on_time"]["denominator"]) == (
        4,
        6,
    )
    assert kpis["mttr_hours"]["value"] == pytest.approx((3 + 3 + 3 + 1 + 2 + 2 / 3) / 6)
    down = 3 + 3 + 3 + 2 + 2 / 3 + 26 + 0.5
    assert kpis["mtbf_hours"]["value"] == pytest.approx((9 * 31 * 24 - down) / 7)

    callbacks = {c["ticket_id"]: c for c in report["callbacks"]}
    assert len(callbacks) == 6
    late = [c for c in callbacks.values() if c["within_one_working_day"] is False]
    assert sorted(c["equipment"] for c in late) == ["lift-b1-1", "pump-domestic-1"]
    assert {c["callback_by"] for c in callbacks.values()} == {"李工"}
    unhappy = [(c["equipment"], c["remarks"]) for c in callbacks.values() if not c["satisfied"]]
    assert unhappy == [("lift-b1-1", "住户称仍有异响")]  # B, closed with an explanation

    top = [(m["equipment"], m["failures"]) for m in report["top_failing"]]
    assert top == [
        ("pump-domestic-1", 2),  # A, F; mean repair 2.5 h
        ("lift-b1-1", 2),  # B, J; 1.83 h
        ("tank-fire", 1),
        ("firepanel-1", 1),
        ("tank-domestic", 1),
    ]
    buildings = {b["building"]: b for b in report["buildings"]}
    assert (buildings["b1"]["machines"], buildings["b1"]["tickets"]) == (6, 6)
    assert buildings["b1"]["timeliness"] == pytest.approx(7 / 12)  # B 1, G 2, H 2 missed
    assert buildings["b1"]["mttr_hours"] == pytest.approx((3 + 3 + 2 + 2 / 3) / 4)
    assert (buildings["b2"]["tickets"], buildings["b2"]["failures"]) == (2, 1)  # D: comms
    assert buildings["b2"]["timeliness"] == 1.0
    # rounds 3 of 4 within their window (one done the morning after), maintenance 1 of 2 (one
    # skipped); the tank cleaning falls due in April
    assert report["planned"] == {
        "inspections_due": 4,
        "inspections_done": 3,
        "maintenance_due": 2,
        "maintenance_done": 1,
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def any_records(request: pytest.FixtureRequest, records: RecordsDB) -> Iterator[RecordsDB]:
    """The records DB on SQLite, and on a real PostgreSQL."""
    if request.param == "sqlite":
        yield records
        return
    postgres: Postgres = request.getfixturevalue("postgres")
    db = RecordsDB(postgres.create_database())
    yield db
    db.close()


async def test_march_matches_its_golden_case_every_time(
    site: Site, ts_store: SqliteTimeSeriesStore, any_records: RecordsDB
) -> None:
    script_month(any_records, site)
    script_planned(any_records)
    context = ApiContext(site=site, store=ts_store, records=any_records, clock=FakeClock(NOW))
    first = (await _get(context, any_records, month="2026-03")).json()
    context.clock = FakeClock(NOW + timedelta(days=40))  # recomputed later: the same month
    again = (await _get(context, any_records, month="2026-03")).json()
    assert first == again
    if os.environ.get("PLANTROOM_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(first, ensure_ascii=False, indent=1) + "\n", "utf-8")
    assert first == json.loads(GOLDEN.read_text("utf-8"))


async def test_csv_and_page_in_chinese(context: ApiContext, records: RecordsDB) -> None:
    response = await _get(context, records, month="2026-03", format="csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert "monthly-lakeside-2026-03.csv" in response.headers["content-disposition"]
    sections = response.content.decode("utf-8-sig").split("\r\n\r\n")
    titles = [next(csv.reader(io.StringIO(s)))[0] for s in sections[1:]]
    assert titles == [
        "二、考核指标",
        "三、回访情况",
        "四、巡检与保养完成率",
        "五、故障最多的设备",
        "六、分楼栋统计",
        "七、本月用能",
    ]
    ledger = list(csv.DictReader(io.StringIO(sections[0], newline="")))
    assert len(ledger) == 8
    first = ledger[0]
    assert (first["设备"], first["类别"], first["报修"]) == (
        "生活变频泵1号",
        "一般维修",
        "03-02 09:00",
    )
    assert (first["返修"], first["按时"], first["状态"]) == ("是", "是", "已回访关闭")
    planned = list(csv.reader(io.StringIO(sections[3])))
    assert planned[2] == ["巡检", "4", "3", "75.0%", "≥ 98%"]
    assert planned[3] == ["保养", "2", "1", "50.0%", "≥ 98%"]
    kpis = list(csv.reader(io.StringIO(sections[1])))
    assert kpis[2][:6] == ["维修及时率", "68.8%", "11", "16", "≥ 98%", "未达标"]

    page = (await _get(context, records, month="2026-03", format="html")).text
    for text in (
        "工程部月报 2026-03",
        "一、维修台账",
        "二、考核指标",
        "三、回访情况",
        "四、巡检与保养完成率",
        "五、故障最多的设备",
        "六、分楼栋统计",
        "消防报警主机",
    ):
        assert text in page, text


async def test_months_in_the_future_or_malformed_are_refused(
    context: ApiContext, records: RecordsDB
) -> None:
    viewer = auth(new_key(records, Role.VIEWER))
    async with client_for(context) as client:
        for month, error in (
            ("2026-05", "has not begun"),
            ("2026-13", "out of range"),
            ("26-03", "expected YYYY-MM"),
            ("2026-3x", "expected YYYY-MM"),
        ):
            response = await client.get(
                "/api/v1/reports/monthly", params={"month": month}, headers=viewer
            )
            assert response.status_code == 422 and error in response.json()["error"], month
        current = await client.get(
            "/api/v1/reports/monthly", params={"month": "2026-04"}, headers=viewer
        )
        assert current.json()["complete"] is False
        assert current.json()["end"] == "2026-04-03T10:00:00+08:00"
        default = (await client.get("/api/v1/reports/monthly", headers=viewer)).json()
        assert default["month"] == "2026-03"  # last month in the site's zone
