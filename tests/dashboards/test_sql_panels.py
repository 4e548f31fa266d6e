"""Every SQL panel runs on a real PostgreSQL holding tickets made by the alert engine.

The scenario drives the real alert service (``tests.alerts.rig``): a pump trips, is acknowledged
in time, repaired, closed, and trips again within the reopen window (a repeat repair); an
elevator fault is left unanswered until it escalates; a fire-panel fault stays open. Each
panel query, with Grafana's macros and variables filled in, must run and return a row with a
value, so no panel can name a column or table that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from core.site import Site, load_site, parse_site
from dashboards.build import Builder, all_queries
from dashboards.grafana import Query
from storage import RecordsDB
from storage.kpi_queries import kpis
from tests.kpi_cases import KpiCase, load_cases, load_into
from tests.servers.postgres import Postgres

KPI_CASES = load_cases()

# the tickets schema and the alert engine come from the alerts package
rig_module = pytest.importorskip("tests.alerts.rig", reason="needs the alerts package")

ROOT = Path(__file__).resolve().parents[2]


def _two_buildings() -> Site:
    """The alert tests' site with its lift and fire panel in a second building, so that the
    Building variable has something to tell apart."""
    raw = yaml.safe_load((ROOT / "tests" / "alerts" / "site.yaml").read_text("utf-8"))
    raw["buildings"].append({"id": "b2", "name": "2号楼"})
    for eq in raw["equipment"]:
        if eq["id"] in ("lift-1", "panel-1"):
            eq["building"] = "b2"
    return parse_site(raw)


SITE = _two_buildings()
MACHINES = [eq.id for eq in SITE.equipment]
SQL_QUERIES = [(uid, title, q) for uid, title, q in all_queries(SITE) if q.sql]


@pytest.fixture(scope="module")
def tickets_db(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Any]]:
    rig = rig_module.Rig(tmp_path_factory.mktemp("rig"), postgres.create_database(), site=SITE)
    start = rig.clock.now()
    rig.tick()
    # a pump trip, answered in time, repaired and closed
    rig.set("pump-1", fault=1)
    rig.tick()
    (pump_ticket,) = rig.tickets()
    rig.tick(seconds=60, times=2)
    for action in ("ack", "on_site"):
        rig.move(pump_ticket["id"], action)
    rig.set("pump-1", fault=0)
    rig.tick(seconds=60, times=5)
    for action in ("resolve", "close"):
        rig.move(pump_ticket["id"], action)
    # ... and it trips again within the hour: the ticket reopens (a repeat repair)
    rig.set("pump-1", fault=1)
    rig.tick()
    # an elevator fault nobody answers, and a fire-panel fault
    rig.set("lift-1", fault=1)
    rig.set("panel-1", fault=1)
    rig.tick(seconds=60, times=2)
    # the fire-panel fault is answered in time and repaired
    panel_ticket = next(t for t in rig.tickets() if t["equipment"] == "panel-1")
    rig.move(panel_ticket["id"], "ack")
    rig.tick(seconds=60, times=43)
    rig.move(panel_ticket["id"], "resolve")
    # a fire alarm, over after ten minutes (an incident, not a ticket)
    rig.set("panel-1", fire_alarm=1, alarm_zone=3)
    rig.tick(seconds=60, times=10)
    rig.set("panel-1", fire_alarm=0)
    rig.tick()
    assert rig.incidents() and rig.incidents()[0]["ended_at"] is not None
    statuses = {t["equipment"]: (t["status"], t["escalation_level"]) for t in rig.tickets()}
    assert statuses["pump-1"][0] == "reopened"
    assert statuses["lift-1"][1] > 0  # escalated
    yield rig.records.url, (start - timedelta(hours=1), rig.clock.now() + timedelta(hours=1))
    rig.close()


def grafana_sql(
    text: str,
    start: datetime,
    end: datetime,
    machines: list[str],
    buildings: tuple[str, ...] = ("b1", "b2"),
    site: str = "testsite",
) -> str:
    """The SQL Grafana's PostgreSQL datasource would run for this range and these variables."""
    frm, to = start.isoformat(), end.isoformat()
    text = text.replace("$__timeFrom()", f"'{frm}'").replace("$__timeTo()", f"'{to}'")
    text = re.sub(r"\$__timeFilter\(([\w.]+)\)", rf"\1 BETWEEN '{frm}' AND '{to}'", text)
    text = re.sub(
        r"\$__timeGroupAlias\(([\w.]+), '1d'\)",
        r'floor(extract(epoch FROM \1)/86400)*86400 AS "time"',
        text,
    )
    regex = "(" + "|".join(re.escape(m) for m in machines) + ")"
    text = text.replace("${machine:regex}", regex)
    text = text.replace("${building:regex}", "(" + "|".join(buildings) + ")")
    text = text.replace("${site}", site)
    assert "$" not in text.replace("$'", "'"), f"unfilled macro or variable in {text}"
    return text


def test_there_are_sql_panels() -> None:
    assert {uid for uid, title, _ in SQL_QUERIES if not title.startswith("annotation")} == {
        "plantroom-testsite-overview",
        "plantroom-testsite-tickets",
        "plantroom-testsite-fire",
    }
    # every dashboard draws the alarms on its time axes
    assert {uid for uid, title, _ in SQL_QUERIES if title.startswith("annotation")} == {
        f"plantroom-testsite-{name}"
        for name in ("overview", "pumps", "elevators", "tanks", "fire", "power", "tickets")
    }


@pytest.mark.parametrize(
    "query", [q for _, _, q in SQL_QUERIES], ids=[f"{u}:{t}" for u, t, _ in SQL_QUERIES]
)
def test_every_sql_panel_returns_rows(tickets_db: tuple[str, Any], query: Query) -> None:
    url, (start, end) = tickets_db
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(grafana_sql(query.text, start, end, MACHINES)).all()
    finally:
        engine.dispose()
    assert rows, f"no rows for {query.text}"
    assert all(any(v is not None for v in row) for row in rows)
    assert any(v is not None and v != 0 for row in rows for v in row), f"all zero: {query.text}"


@pytest.mark.parametrize(
    "query", [q for _, _, q in SQL_QUERIES], ids=[f"{u}:{t}" for u, t, _ in SQL_QUERIES]
)
def test_every_variable_reaches_every_sql_panel(tickets_db: tuple[str, Any], query: Query) -> None:
    """Site, Building and Machine each change what every SQL panel returns: the building of
    a ticket's machine comes from the site file, since the records carry none."""
    url, (start, end) = tickets_db
    engine = sa.create_engine(url)

    def rows(**chosen: Any) -> list[Any]:
        text = grafana_sql(query.text, start, end, **{"machines": MACHINES, **chosen})
        with engine.connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(text).all()]

    try:
        everything = rows()
        choices: dict[str, list[Any]] = {
            "site": ["elsewhere"],
            "buildings": [("b1",), ("b2",), ("nosuch",)],
            "machines": [[m] for m in MACHINES] + [["nosuch"]],
        }
        for name, values in choices.items():
            assert any(rows(**{name: value}) != everything for value in values), (
                f"the {name} variable changes nothing in {query.text}"
            )
    finally:
        engine.dispose()


KIND_OF = {
    "overview": None,
    "pumps": "pump",
    "elevators": "elevator",
    "tanks": "water_tank",
    "fire": "fire_panel",
    "power": None,  # four kinds: every machine, as the overview
    "tickets": None,
}


def test_the_machine_variable_lists_names_of_the_chosen_buildings(postgres: Postgres) -> None:
    """Machines are chosen by name and filtered by the Building variable (the query runs on
    the PostgreSQL datasource; it reads no table, only the site's list)."""
    lakeside = load_site(ROOT / "examples" / "site.yaml")
    engine = sa.create_engine(postgres.create_database())
    try:
        for d in Builder(lakeside).all():
            [machine] = [v for v in d.variables if v.name == "machine"]
            assert machine.sql, d.uid
            kind = KIND_OF[d.uid.removeprefix("plantroom-lakeside-")]
            for building in lakeside.buildings:
                text = machine.query.replace("${building:regex}", f"({building.id})")
                with engine.connect() as conn:
                    rows = {tuple(r) for r in conn.exec_driver_sql(text).all()}
                expected = {
                    (eq.name, eq.id)
                    for eq in lakeside.equipment
                    if eq.building == building.id and (kind is None or eq.kind == kind)
                }
                assert rows == expected, (d.uid, building.id)
    finally:
        engine.dispose()


# the KPI panels and the golden cases' names for what they show (core.kpis.KpiRow)
KPI_PANELS = {
    "维修及时率 Repair timeliness": ("timeliness", 100.0),
    "返修率 Repeat repairs": ("repeat_rate", 100.0),
    "回访率 Callbacks in time": ("callback_rate", 100.0),
    "满意率 Satisfaction": ("satisfaction", 100.0),
    "完好率 Equipment in good order": ("good_order", 100.0),
    "平均修复时间 MTTR": ("mttr_hours", 3600.0),
    "平均故障间隔 MTBF": ("mtbf_hours", 1.0),
}


@pytest.mark.parametrize("case", KPI_CASES, ids=[c.name for c in KPI_CASES])
def test_kpi_panels_give_the_golden_numbers(case: KpiCase, postgres: Postgres) -> None:
    """The golden cases loaded into PostgreSQL, read through the panels' own SQL (Grafana's
    clock set to the case's now), give the numbers ``/kpis`` gives."""
    records = RecordsDB(postgres.create_database())
    panels = {title: q for uid, title, q in all_queries(case.site) if uid.endswith("-tickets")}
    machines = [eq.id for eq in case.site.equipment]
    try:
        load_into(case, records)
        with records.engine.connect() as conn:
            reference = kpis(conn, case.machines, case.start, case.end, case.now)["*"]
            for title, (name, scale) in KPI_PANELS.items():
                text = grafana_sql(panels[title].text, case.start, case.end, machines)
                text = text.replace("now()", f"CAST('{case.now.isoformat()}' AS timestamptz)")
                [(value,)] = conn.exec_driver_sql(text).all()
                want = getattr(reference, name)
                expected = case.expected["*"].get(name, want)
                assert want == pytest.approx(expected, abs=1e-5)
                if want is None:
                    assert value is None, title
                else:
                    assert float(value) == pytest.approx(want * scale, rel=1e-6), title
    finally:
        records.close()
