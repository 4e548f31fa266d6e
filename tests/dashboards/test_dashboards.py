"""Dashboards as code: the committed JSON is current, and every query finds real data.

Each InfluxQL panel and variable query runs, with Grafana's template variables filled in,
against a real InfluxDB 1.6 loaded with simulator data through our own line protocol; each
must return rows, so no panel can silently name a field or measurement that does not exist.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
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
SITE_DIR = GENERATED / SITE.site.id


def influxql_for_test(text: str, **chosen: str) -> str:
    """The query Grafana would send, for the fixture's time range and variables (all values,
    unless ``chosen`` gives some)."""
    start_ms, end_ms = int(START.timestamp() * 1000), int(END.timestamp() * 1000)
    text = text.replace("$timeFilter", f"time >= {start_ms}ms AND time <= {end_ms}ms")
    text = text.replace("$__interval", "5m")
    for name, value in {**VARIABLES, **chosen}.items():
        text = text.replace(f"${name}", value)
    assert "$" not in text.replace("$/", "/").replace("^", ""), f"unfilled variable in {text}"
    return text


def test_generated_dashboards_are_up_to_date() -> None:
    rendered = render_all(SITE)
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in SITE_DIR.glob("*.json")}
    assert on_disk.keys() == rendered.keys()
    for name, text in rendered.items():
        assert on_disk[name] == text, f"{name} is stale: run python -m dashboards.build"
    assert main(["--check"]) == 0


def test_check_notices_a_stale_file(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--out", str(tmp_path), "--check"]) == 0
    victim = tmp_path / "lakeside" / "plantroom-lakeside-pumps.json"
    victim.write_text(victim.read_text(encoding="utf-8").replace("水泵", "水 泵"), "utf-8")
    assert main(["--out", str(tmp_path), "--check"]) == 1


def dashboards() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SITE_DIR.glob("*.json"))]


def test_the_required_dashboards_exist_with_site_building_machine_variables() -> None:
    by_uid = {d["uid"]: d for d in dashboards()}
    assert set(by_uid) == {
        "plantroom-lakeside-overview",
        "plantroom-lakeside-pumps",
        "plantroom-lakeside-elevators",
        "plantroom-lakeside-tanks",
        "plantroom-lakeside-fire",
        "plantroom-lakeside-power",
        "plantroom-lakeside-tickets",
    }
    for d in by_uid.values():
        variables = {v["name"]: v for v in d["templating"]["list"]}
        assert list(variables) == ["site", "building", "machine"], d["uid"]
        # the site is the dashboard's own; buildings are chosen by their names
        assert (variables["site"]["type"], variables["site"]["query"]) == ("constant", "lakeside")
        assert variables["building"]["query"] == "1号楼 : b1,2号楼 : b2"
        # times as the site lives them, whatever the browser's zone
        assert d["timezone"] == "Asia/Shanghai"
        assert d["title"].startswith("湖畔花园 · ")
        assert d["tags"] == ["plantroom", "site:lakeside"]


def test_several_sites_live_side_by_side(tmp_path: Path) -> None:
    other = (ROOT / "examples" / "site.yaml").read_text("utf-8")
    other = other.replace("id: lakeside", "id: riverside").replace("湖畔花园", "江畔花园")
    shutil.copytree(ROOT / "examples" / "maps", tmp_path / "maps")
    (tmp_path / "riverside.yaml").write_text(other, "utf-8")
    out = tmp_path / "dashboards"
    assert main(["--out", str(out)]) == 0
    assert main(["--site", str(tmp_path / "riverside.yaml"), "--out", str(out)]) == 0
    folders = {p.name: sorted(f.name for f in p.glob("*.json")) for p in out.iterdir()}
    assert set(folders) == {"lakeside", "riverside"}  # one Grafana folder per site
    uids = [json.loads(f.read_text("utf-8"))["uid"] for f in out.glob("*/*.json")]
    assert len(uids) == len(set(uids)) == 14  # seven dashboards each
    # regenerating one site leaves the other's alone
    assert main(["--out", str(out), "--check"]) == 0
    assert main(["--site", str(tmp_path / "riverside.yaml"), "--out", str(out), "--check"]) == 0


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
    pumps = next(d for d in dashboards() if d["uid"] == "plantroom-lakeside-pumps")
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
    assert "生活水箱" in (SITE_DIR / "plantroom-lakeside-tanks.json").read_text(encoding="utf-8")


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


def _rows(influx: LoadedInflux, text: str) -> list[list[Any]]:
    body = influx.server.query(text, db=influx.db)
    assert "error" not in body["results"][0], body["results"][0]
    return [
        [s.get("tags"), *row] for s in body["results"][0].get("series", []) for row in s["values"]
    ]


@pytest.mark.parametrize(
    "query", [q for _, _, q in INFLUX_QUERIES], ids=[f"{u}:{t}" for u, t, _ in INFLUX_QUERIES]
)
def test_every_variable_reaches_every_influxql_panel(
    plant_influx: LoadedInflux, query: Query
) -> None:
    """For each variable, some value of it changes what the panel's query returns (a count
    that is 0 everywhere changes only when the filter leaves nothing, hence "nosuch")."""
    everything = _rows(plant_influx, influxql_for_test(query.text))
    choices = {
        "site": ["elsewhere"],
        "building": [regex_of([b.id]) for b in SITE.buildings] + [regex_of(["nosuch"])],
        "machine": [regex_of([eq_id]) for eq_id in IDS] + [regex_of(["nosuch"])],
    }
    for name, values in choices.items():
        assert any(
            _rows(plant_influx, influxql_for_test(query.text, **{name: value})) != everything
            for value in values
        ), f"the {name} variable changes nothing in {query.text}"


def test_every_dashboard_fits_grafanas_own_models() -> None:
    """Each generated dashboard decodes into grafana-foundation-sdk's models (Grafana's schema,
    panel options and field config per panel type) and back without losing or changing a key."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard as GrafanaDashboard

    register_default_plugins()

    def lost(ours: Any, theirs: Any, path: str) -> list[str]:
        if isinstance(ours, dict):
            if not isinstance(theirs, dict):
                return [f"{path}: became {type(theirs).__name__}"]
            return [
                problem
                for key, value in ours.items()
                for problem in (
                    lost(value, theirs[key], f"{path}.{key}")
                    if key in theirs
                    else [f"{path}.{key}: not in Grafana's model"]
                )
            ]
        if isinstance(ours, list):
            if not isinstance(theirs, list) or len(ours) != len(theirs):
                return [f"{path}: list changed"]
            return [
                p
                for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
                for p in lost(a, b, f"{path}[{i}]")
            ]
        return [] if ours == theirs else [f"{path}: {ours!r} became {theirs!r}"]

    for d in dashboards():
        model = GrafanaDashboard.from_json(d)
        back = json.loads(json.dumps(model, cls=JSONEncoder))
        # the one known gap: the SDK types an annotation's target for Grafana's built-in
        # datasource only ("TODO: this should be a regular DataQuery", its models say), so an
        # SQL annotation's rawSql is not in it; the query itself is run in test_sql_panels
        known_gap = re.compile(r"\.annotations\.list\[\d+\]\.target\.")
        assert [p for p in lost(d, back, d["uid"]) if not known_gap.search(p)] == []
        assert len(d["annotations"]["list"]) == 1


def test_state_tables_show_stale_data_as_stale_not_as_the_last_good_value(
    plant_influx: LoadedInflux,
) -> None:
    # the fixture's sixth minute (index 5) is stale for every machine: a range that ends there
    # is a plant whose data went stale, and the state table must say so
    pumps = next(d for d in dashboards() if d["uid"] == "plantroom-lakeside-pumps")
    [state] = [p for p in pumps["panels"] if p["title"] == "当前状态 Current state"]
    text = influxql_for_test(state["targets"][0]["query"])
    stale_end = int((START + timedelta(minutes=5, seconds=30)).timestamp() * 1000)
    text = re.sub(r"time <= \d+ms", f"time <= {stale_end}ms", text)
    body = plant_influx.server.query(text, db=plant_influx.db)
    series = body["results"][0]["series"]
    assert {s["tags"]["equipment"] for s in series} == {
        eq.id for eq in SITE.equipment if eq.kind == "pump"
    }
    for s in series:
        [row] = [dict(zip(s["columns"], values, strict=True)) for values in s["values"]]
        assert row["quality"] == "stale", row
        assert row["running"] is None and row["outlet_pressure_mpa"] is None, row
    # a minute later the data is good again: values, and no quality marker
    good_end = int((START + timedelta(minutes=6, seconds=30)).timestamp() * 1000)
    text = re.sub(r"time <= \d+ms", f"time <= {good_end}ms", text)
    for s in plant_influx.server.query(text, db=plant_influx.db)["results"][0]["series"]:
        [row] = [dict(zip(s["columns"], values, strict=True)) for values in s["values"]]
        assert row["quality"] is None and row["running"] is not None, row
