"""Dashboards as code: the committed JSON is current, and every query finds real data.

Each InfluxQL panel and variable query runs, with Grafana's template variables filled in,
against a real InfluxDB 1.6 loaded with simulator data through our own line protocol; each
must return rows, so no panel can silently name a field or measurement that does not exist.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.catalogue import load_catalogue
from core.site import load_site
from dashboards.build import GENERATED, all_queries, main, render_all
from dashboards.grafana import INFLUX_UID, POSTGRES_UID, Query
from tests.dashboards.conftest import END, START, LoadedInflux

ROOT = Path(__file__).resolve().parents[2]
SITE = load_site(ROOT / "examples" / "site.yaml")
IDS = [eq.id for eq in SITE.equipment]


def regex_of(values: list[str]) -> str:
    """How Grafana formats a multi-value variable for a regex: escaped, in a group."""
    return "(" + "|".join(re.escape(v) for v in values) + ")"


VARIABLES = {
    "site": "lakeside",
    "building": regex_of(["b1", "b2"]),
    "machine": regex_of(IDS),
}


def influxql_for_test(text: str) -> str:
    """The query Grafana would send, for the fixture's time range and variables."""
    start_ms, end_ms = int(START.timestamp() * 1000), int(END.timestamp() * 1000)
    text = text.replace("$timeFilter", f"time >= {start_ms}ms AND time <= {end_ms}ms")
    text = text.replace("$__interval", "5m")
    for name, value in VARIABLES.items():
        text = text.replace(f"${name}", value)
    assert "$" not in text.replace("$/", "/").replace("^", ""), f"unfilled variable in {text}"
    return text


def test_generated_dashboards_are_up_to_date() -> None:
    rendered = render_all(SITE)
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in GENERATED.glob("*.json")}
    assert on_disk.keys() == rendered.keys()
    for name, text in rendered.items():
        assert on_disk[name] == text, f"{name} is stale: run python -m dashboards.build"
    assert main(["--check"]) == 0


def test_check_notices_a_stale_file(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--out", str(tmp_path), "--check"]) == 0
    victim = tmp_path / "plantroom-pumps.json"
    victim.write_text(victim.read_text(encoding="utf-8").replace("水泵", "水 泵"), "utf-8")
    assert main(["--out", str(tmp_path), "--check"]) == 1


def dashboards() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(GENERATED.glob("*.json"))]


def test_the_required_dashboards_exist_with_site_building_machine_variables() -> None:
    by_uid = {d["uid"]: d for d in dashboards()}
    assert set(by_uid) == {
        "plantroom-overview",
        "plantroom-pumps",
        "plantroom-elevators",
        "plantroom-tanks",
        "plantroom-fire",
        "plantroom-tickets",
    }
    for d in by_uid.values():
        names = [v["name"] for v in d["templating"]["list"]]
        assert names == ["site", "building", "machine"], d["uid"]


def test_panels_are_laid_out_with_unique_ids_and_known_datasources() -> None:
    for d in dashboards():
        ids = [p["id"] for p in d["panels"]]
        assert len(ids) == len(set(ids)), d["uid"]
        for p in d["panels"]:
            grid = p["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, (d["uid"], p["title"])
            for target in p.get("targets", []):
                assert target["datasource"]["uid"] in (INFLUX_UID, POSTGRES_UID)


def test_units_and_chinese_names_are_shown() -> None:
    pumps = next(d for d in dashboards() if d["uid"] == "plantroom-pumps")
    pressure = next(p for p in pumps["panels"] if p["title"] == "出口压力 (MPa)")
    assert pressure["fieldConfig"]["defaults"]["unit"] == "suffix: MPa"
    display = {
        o["matcher"]["options"]: o["properties"][0]["value"]
        for o in pressure["fieldConfig"]["overrides"]
    }
    assert display["pump-domestic-1"] == "生活变频泵1号 (pump-domestic-1)"
    catalogue = load_catalogue()
    text = json.dumps(dashboards(), ensure_ascii=False)
    for kind in catalogue.kinds.values():
        assert kind.name_zh in text
    for eq in SITE.equipment:
        assert eq.name in text
    # the raw file is UTF-8, not \\u escapes, so it reads well in review
    assert "生活水箱" in (GENERATED / "plantroom-tanks.json").read_text(encoding="utf-8")


INFLUX_QUERIES = [(uid, title, q) for uid, title, q in all_queries(SITE) if not q.sql]


@pytest.mark.parametrize(
    "query", [q for _, _, q in INFLUX_QUERIES], ids=[f"{u}:{t}" for u, t, _ in INFLUX_QUERIES]
)
def test_every_influxql_panel_returns_rows(plant_influx: LoadedInflux, query: Query) -> None:
    body = plant_influx.server.query(influxql_for_test(query.text), db=plant_influx.db)
    results = body["results"]
    assert isinstance(results, list)
    assert "error" not in results[0], results[0]
    rows = [row for series in results[0].get("series", []) for row in series.get("values", [])]
    assert rows, f"no rows for {query.text}"
    assert any(v is not None for row in rows for v in row[1:]), f"only nulls: {query.text}"


VARIABLE_QUERIES = sorted(
    {(d["uid"], v["name"], v["query"]) for d in dashboards() for v in d["templating"]["list"]}
)


@pytest.mark.parametrize(
    ("uid", "name", "text"), VARIABLE_QUERIES, ids=[f"{u}:{n}" for u, n, _ in VARIABLE_QUERIES]
)
def test_every_template_variable_finds_values(
    plant_influx: LoadedInflux, uid: str, name: str, text: str
) -> None:
    body = plant_influx.server.query(influxql_for_test(text), db=plant_influx.db)
    results = body["results"]
    assert isinstance(results, list)
    values = {row[1] for s in results[0].get("series", []) for row in s["values"]}
    measured = re.search(r'FROM "(\w+)"', text)
    machines = [e for e in SITE.equipment if measured is None or e.kind == measured[1]]
    expected = {
        "site": {SITE.site.id},
        "building": {e.building for e in machines},
        "machine": {e.id for e in machines},
    }[name]
    assert values == expected, uid
