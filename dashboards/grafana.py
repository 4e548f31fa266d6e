"""A small typed builder for Grafana dashboard JSON: panels, queries, variables, layout.

Only what our dashboards use, emitted in Grafana's dashboard model (schemaVersion 39, Grafana
10 and 11). Everything is plain data: a dashboard is built by calling these functions, and
``Dashboard.to_json`` is deterministic so the generated files can be committed and compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

INFLUX_UID = "plantroom-influxdb"
POSTGRES_UID = "plantroom-postgres"
INFLUX = {"type": "influxdb", "uid": INFLUX_UID}
POSTGRES = {"type": "grafana-postgresql-datasource", "uid": POSTGRES_UID}

GREEN, RED, ORANGE, BLUE, GREY = "green", "red", "orange", "blue", "text"


@dataclass(frozen=True)
class Query:
    """One panel query: InfluxQL (``sql=False``) or PostgreSQL SQL."""

    text: str
    table: bool = False  # table result instead of time series
    alias: str = ""
    sql: bool = False

    @property
    def datasource(self) -> Json:
        return POSTGRES if self.sql else INFLUX

    def target(self, ref: str) -> Json:
        if self.sql:
            return {
                "refId": ref,
                "datasource": POSTGRES,
                "editorMode": "code",
                "format": "table" if self.table else "time_series",
                "rawQuery": True,
                "rawSql": self.text,
            }
        out: Json = {
            "refId": ref,
            "datasource": INFLUX,
            "query": self.text,
            "rawQuery": True,
            "resultFormat": "table" if self.table else "time_series",
        }
        if self.alias:
            out["alias"] = self.alias
        return out


def influxql(text: str, *, table: bool = False, alias: str = "$tag_equipment") -> Query:
    return Query(text, table=table, alias="" if table else alias)


def sql(text: str, *, table: bool = True) -> Query:
    return Query(text, table=table, sql=True)


def value_mappings(labels: dict[str, tuple[str, str]]) -> list[Json]:
    """Value mappings: raw value -> (text, colour)."""
    if not labels:
        return []
    return [
        {
            "type": "value",
            "options": {
                raw: {"text": text, "color": color, "index": i}
                for i, (raw, (text, color)) in enumerate(labels.items())
            },
        }
    ]


@dataclass
class Panel:
    type: str
    title: str
    queries: list[Query]
    width: int = 12
    height: int = 8
    description: str = ""
    defaults: Json = field(default_factory=dict)
    overrides: list[Json] = field(default_factory=list)
    options: Json = field(default_factory=dict)
    transformations: list[Json] = field(default_factory=list)

    def to_json(self, panel_id: int, x: int, y: int) -> Json:
        out: Json = {
            "id": panel_id,
            "type": self.type,
            "title": self.title,
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "datasource": self.queries[0].datasource,
            "targets": [q.target(chr(ord("A") + i)) for i, q in enumerate(self.queries)],
            "fieldConfig": {"defaults": self.defaults, "overrides": self.overrides},
            "options": self.options,
        }
        if self.description:
            out["description"] = self.description
        if self.transformations:
            out["transformations"] = self.transformations
        return out


def row(title: str) -> Panel:
    return Panel("row", title, [], width=24, height=1)


def timeseries(
    title: str,
    query: Query,
    *,
    unit: str = "none",
    step: bool = False,
    width: int = 12,
    overrides: list[Json] | None = None,
    description: str = "",
) -> Panel:
    custom: Json = {"lineWidth": 1, "fillOpacity": 10, "spanNulls": False, "showPoints": "never"}
    if step:
        custom["lineInterpolation"] = "stepAfter"
    return Panel(
        "timeseries",
        title,
        [query],
        width=width,
        description=description,
        defaults={"unit": unit, "custom": custom},
        overrides=overrides or [],
        options={
            "legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "none"},
        },
    )


def state_timeline(
    title: str,
    query: Query,
    labels: dict[str, tuple[str, str]],
    *,
    width: int = 24,
    overrides: list[Json] | None = None,
) -> Panel:
    return Panel(
        "state-timeline",
        title,
        [query],
        width=width,
        defaults={"mappings": value_mappings(labels), "color": {"mode": "thresholds"}},
        overrides=overrides or [],
        options={"showValue": "never", "mergeValues": True, "rowHeight": 0.8},
    )


def stat(
    title: str,
    query: Query,
    *,
    unit: str = "none",
    width: int = 6,
    height: int = 4,
    thresholds: list[tuple[float | None, str]] | None = None,
    description: str = "",
) -> Panel:
    steps = thresholds or [(None, GREEN)]
    return Panel(
        "stat",
        title,
        [query],
        width=width,
        height=height,
        description=description,
        defaults={
            "unit": unit,
            "color": {"mode": "thresholds"},
            "thresholds": {
                "mode": "absolute",
                "steps": [{"value": v, "color": c} for v, c in steps],
            },
        },
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "textMode": "value",
        },
    )


def bargauge(
    title: str, query: Query, *, unit: str, minimum: float, maximum: float, width: int = 12
) -> Panel:
    return Panel(
        "bargauge",
        title,
        [query],
        width=width,
        defaults={
            "unit": unit,
            "min": minimum,
            "max": maximum,
            "color": {"mode": "thresholds"},
            "thresholds": {
                "mode": "absolute",
                "steps": [
                    {"value": None, "color": RED},
                    {"value": 15, "color": ORANGE},
                    {"value": 30, "color": GREEN},
                    {"value": 95, "color": RED},
                ],
            },
        },
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "horizontal",
            "displayMode": "gradient",
        },
    )


def table(
    title: str,
    query: Query,
    *,
    width: int = 24,
    height: int = 8,
    overrides: list[Json] | None = None,
    rename: dict[str, str] | None = None,
    hide: list[str] | None = None,
    description: str = "",
) -> Panel:
    transformations: list[Json] = []
    if rename or hide:
        transformations.append(
            {
                "id": "organize",
                "options": {
                    "excludeByName": {name: True for name in hide or []},
                    "renameByName": rename or {},
                },
            }
        )
    return Panel(
        "table",
        title,
        [query],
        width=width,
        height=height,
        description=description,
        defaults={"custom": {"align": "auto", "cellOptions": {"type": "color-text"}}},
        overrides=overrides or [],
        options={"showHeader": True, "cellHeight": "sm"},
        transformations=transformations,
    )


def column_override(column: str, properties: dict[str, Any]) -> Json:
    return {
        "matcher": {"id": "byName", "options": column},
        "properties": [{"id": k, "value": v} for k, v in properties.items()],
    }


@dataclass(frozen=True)
class Variable:
    """A template variable: an InfluxQL query (``kind="query"``), a fixed list of
    ``text : value`` options (``kind="custom"``, so buildings show their names), or a hidden
    constant (``kind="constant"``, the site a dashboard belongs to)."""

    name: str
    label: str
    query: str
    multi: bool = True
    sql: bool = False
    kind: str = "query"

    def to_json(self) -> Json:
        out: Json = {"name": self.name, "label": self.label, "type": self.kind, "query": self.query}
        if self.kind == "constant":
            return {**out, "hide": 2, "current": {"text": self.query, "value": self.query}}
        if self.kind == "query":
            out["datasource"] = POSTGRES if self.sql else INFLUX
            out["refresh"] = 2  # on time range change
            out["sort"] = 1
        return {
            **out,
            "multi": self.multi,
            "includeAll": self.multi,
            **({"allValue": ".*"} if self.multi else {}),
            "current": {},
            "options": [],
            "hide": 0,
        }


@dataclass(frozen=True)
class Annotation:
    """Events drawn on every time axis of a dashboard, from an SQL query returning ``time``,
    ``timeend``, ``text`` and ``tags`` (Grafana's PostgreSQL annotation format)."""

    name: str
    query: Query
    color: str = "red"

    def to_json(self) -> Json:
        return {
            "name": self.name,
            "datasource": self.query.datasource,
            "enable": True,
            "hide": False,
            "iconColor": self.color,
            "target": self.query.target("Anno"),
        }


@dataclass
class Dashboard:
    uid: str
    title: str
    description: str
    panels: list[Panel]
    variables: list[Variable] = field(default_factory=list)
    time_from: str = "now-6h"
    refresh: str = "30s"
    timezone: str = "browser"  # the site's IANA zone: times read as the site lives them
    tags: list[str] = field(default_factory=lambda: ["plantroom"])
    annotations: list[Annotation] = field(default_factory=list)

    def to_json(self) -> Json:
        laid: list[Json] = []
        x = y = row_height = 0
        for panel_id, panel in enumerate(self.panels, start=1):
            if x + panel.width > 24 or panel.type == "row":
                x, y, row_height = 0, y + row_height, 0
            if panel.type == "row":
                laid.append(
                    {
                        "id": panel_id,
                        "type": "row",
                        "title": panel.title,
                        "collapsed": False,
                        "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                        "panels": [],
                    }
                )
                y += 1
                continue
            laid.append(panel.to_json(panel_id, x, y))
            x += panel.width
            row_height = max(row_height, panel.height)
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "timezone": self.timezone,
            "schemaVersion": 39,
            "version": 1,
            "editable": False,
            "graphTooltip": 1,
            "time": {"from": self.time_from, "to": "now"},
            "refresh": self.refresh,
            "annotations": {"list": [a.to_json() for a in self.annotations]},
            "links": [
                {
                    "type": "dashboards",
                    "tags": self.tags,
                    "asDropdown": True,
                    "title": "plantroom",
                    "includeVars": True,
                    "keepTime": True,
                }
            ],
            "templating": {"list": [v.to_json() for v in self.variables]},
            "panels": laid,
        }

    def render(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def queries_of(dashboard: Json) -> list[tuple[str, Json]]:
    """Every (panel title, target) of a dashboard's JSON, for tests and tools."""
    return [
        (panel["title"], target)
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]
