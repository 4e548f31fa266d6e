"""The plantroom Grafana dashboards, as code.

``python -m dashboards.build`` writes ``dashboards/generated/*.json`` (committed, provisioned
into Grafana by docker compose); ``--check`` exits non-zero when they are out of date;
``--site FILE`` names machines after that site file (default ``examples/site.yaml``), so a
property's dashboards show its own Chinese machine names.

Signals, units and Chinese signal names come from the catalogue; InfluxQL panels read the
DESIGN §7 layout (measurement = kind, tags site/building/equipment, one field per signal, good
values only), SQL panels the records database's alerts and tickets tables.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

from core.catalogue import SignalSpec, SignalType, load_catalogue
from core.kpis import KpiSqlParams, kpi_sql
from core.site import Site, load_site
from core.subjects import gateway_key, gateway_subject
from dashboards.grafana import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    RED,
    Annotation,
    Dashboard,
    Json,
    Panel,
    Query,
    Variable,
    bargauge,
    column_override,
    influxql,
    row,
    sql,
    stat,
    state_timeline,
    table,
    timeseries,
)

ROOT = Path(__file__).resolve().parent.parent
GENERATED = Path(__file__).resolve().parent / "generated"
DEFAULT_SITE = ROOT / "examples" / "site.yaml"

# catalogue units -> Grafana unit ids
UNITS = {
    "MPa": "suffix: MPa",
    "A": "amp",
    "Hz": "hertz",
    "h": "suffix: h",
    "°C": "celsius",
    "m": "lengthm",
    "%": "percent",
    "V": "volt",
    "kW": "kwatt",
    "kWh": "kwatth",
    "m³": "m3",
    "m³/h": "suffix: m³/h",
    "mg/L": "suffix: mg/L",
    "NTU": "suffix: NTU",
}

# how a boolean signal reads on a board: (when 0, when 1), each (text, colour)
BOOL_LABELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "running": (("停止", GREY), ("运行", GREEN)),
    "fault": (("正常", GREEN), ("故障", RED)),
    "auto_mode": (("手动", ORANGE), ("自动", GREEN)),
    "in_service": (("停用", RED), ("服务中", GREEN)),
    "moving": (("停靠", GREY), ("运行", BLUE)),
    "door_open": (("关门", GREY), ("开门", BLUE)),
    "inspection_mode": (("正常", GREEN), ("检修", ORANGE)),
    "alarm_button": (("—", GREEN), ("警铃", RED)),
    "high_level": (("—", GREEN), ("高液位", RED)),
    "low_level": (("—", GREEN), ("低液位", RED)),
    "inlet_valve_open": (("关", GREY), ("开", BLUE)),
    "fire_alarm": (("正常", GREEN), ("火警", RED)),
    "supervisory": (("正常", GREEN), ("监管", ORANGE)),
    "mains_fail": (("正常", GREEN), ("主电故障", RED)),
    "battery_fail": (("正常", GREEN), ("备电故障", RED)),
    "silenced": (("—", GREEN), ("已消音", ORANGE)),
    "overflow": (("—", GREEN), ("溢流", RED)),
    "water_detected": (("干", GREEN), ("水浸", RED)),
    "mains_ok": (("失电", RED), ("正常", GREEN)),
    "breaker_trip": (("合闸", GREEN), ("跳闸", RED)),
    "fire_recall": (("—", GREEN), ("消防迫降", RED)),
    "fire_pump_auto": (("手动", RED), ("自动", GREEN)),
    "power_fail": (("正常", GREEN), ("停电", RED)),
    "safety_circuit_open": (("闭合", GREEN), ("断开", RED)),
}
DEFAULT_BOOL = (("否", GREY), ("是", BLUE))
# a reading that is not good, as the store marks it (field <signal>_quality, DESIGN §5)
QUALITY_SUFFIX = "_quality"
QUALITY_LABELS = {
    "stale": ("数据过期", ORANGE),
    "comm_fault": ("离线", RED),
    "invalid": ("无效", RED),
}

FILTER = '"site" =~ /^$site$/ AND "building" =~ /^$building$/ AND "equipment" =~ /^$machine$/'


def _sql_text(text: str) -> str:
    """A name inside an SQL string literal (names are data: a quote must not end it)."""
    return text.replace("'", "''")


def bool_labels(signal: str) -> dict[str, tuple[str, str]]:
    off, on = BOOL_LABELS.get(signal, DEFAULT_BOOL)
    return {"0": off, "1": on}


def uid_for(site_id: str, name: str) -> str:
    """A dashboard uid unique per site (Grafana allows 40 characters), so several sites'
    dashboards live side by side in one Grafana."""
    uid = f"plantroom-{site_id}-{name}"
    if len(uid) <= 40:
        return uid
    return f"plantroom-{hashlib.sha256(site_id.encode()).hexdigest()[:8]}-{name}"


class Builder:
    """Dashboards for one site: machine names from the site file, signals from the catalogue."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.catalogue = load_catalogue()
        self.names = {eq.id: f"{eq.name} ({eq.id})" for eq in site.equipment}
        # SQL rows name a subject (a machine, or a gateway) but no building or site: this
        # table of the site's subjects lets the Site and Building variables reach them too
        scope: dict[tuple[str, str], None] = {}
        for eq in site.equipment:
            scope[(eq.id, eq.building)] = None
            gateway = gateway_key(eq)
            if gateway is not None:
                scope[(gateway_subject(gateway), eq.building)] = None
        self.sql_subjects = ", ".join(
            f"('{subject}', '{building}', '{site.site.id}')" for subject, building in scope
        )

    def sql_scope(self, column: str = "equipment") -> str:
        """The SQL condition that applies the Site, Building and Machine variables."""
        return (
            f"{column} ~ '^${{machine:regex}}$' AND {column} IN (SELECT subject FROM "
            f"(VALUES {self.sql_subjects}) AS site_subjects(subject, building, site) "
            "WHERE building ~ '^${building:regex}$' AND site = '${site}')"
        )

    # ---- pieces
    def kpi(self, select: str) -> Query:
        """A stat over the site's KPIs (``core.kpis``, the definitions ``/kpis`` runs too)
        for the dashboard's time range and machines."""
        params = KpiSqlParams(
            "postgresql",
            [(eq.id, eq.kind) for eq in self.site.equipment],
            start="CAST($__timeFrom() AS timestamptz)",
            end="CAST($__timeTo() AS timestamptz)",
            now="now()",
            machine_filter=self.sql_scope(),
        )
        return sql(f"SELECT {select} FROM ({kpi_sql(params)}) k WHERE grp = '*'")

    def spec(self, kind: str, signal: str) -> SignalSpec:
        return self.catalogue.signal(kind, signal)

    def label(self, kind: str, signal: str) -> str:
        spec = self.spec(kind, signal)
        unit = f" ({spec.unit})" if spec.unit else ""
        return f"{spec.name_zh or signal}{unit}"

    def unit(self, kind: str, signal: str) -> str:
        spec = self.spec(kind, signal)
        return UNITS.get(spec.unit or "", "none")

    def machine_overrides(self) -> list[Json]:
        """Series named by equipment id (alias $tag_equipment) shown with the site's names."""
        return [column_override(eq, {"displayName": name}) for eq, name in self.names.items()]

    def machine_column(self) -> Json:
        return column_override(
            "equipment",
            {
                "displayName": "设备 Machine",
                "mappings": [
                    {
                        "type": "value",
                        "options": {
                            eq: {"text": name, "index": i}
                            for i, (eq, name) in enumerate(self.names.items())
                        },
                    }
                ],
                "custom.width": 240,
            },
        )

    def variables(self, kind: str | None) -> list[Variable]:
        """Site (this dashboard's, fixed), Building (by name) and Machine (by name, of the
        chosen buildings: a query of the site's machines on the PostgreSQL datasource, which
        is how Grafana shows a name while filtering by the id)."""
        buildings = ",".join(f"{b.name} : {b.id}" for b in self.site.buildings)
        machines = ", ".join(
            f"('{_sql_text(eq.name)}', '{eq.id}', '{eq.building}')"
            for eq in self.site.equipment
            if kind is None or eq.kind == kind
        )
        return [
            Variable("site", "小区 Site", self.site.site.id, kind="constant"),
            Variable("building", "楼栋 Building", buildings, kind="custom"),
            Variable(
                "machine",
                "设备 Machine",
                f"SELECT name AS __text, id AS __value FROM (VALUES {machines}) "
                "AS machines(name, id, building) WHERE building ~ '^${building:regex}$' "
                "ORDER BY id",
                sql=True,
            ),
        ]

    def state_table(self, kind: str, signals: Sequence[str], title: str, height: int = 7) -> Panel:
        """Each machine's latest minute of data: its signals with Chinese labels and colours,
        the data's quality, and when that was. Quality-aware: when a machine's latest data is
        a stale or comm-fault marker, its values are empty and 数据 says 数据过期 or 离线 — never
        the last good value of hours ago (``last()`` over the whole range would show it)."""
        fields = ", ".join(f'last("{s}") AS "{s}"' for s in signals)
        quality = f'last("{signals[0]}{QUALITY_SUFFIX}") AS "quality"'
        # the newest minute with any data, per machine (a LIMIT on the grouped query itself
        # returns two rows on InfluxDB 1.x, hence the subquery)
        query = influxql(
            f'SELECT * FROM (SELECT {fields}, {quality} FROM "{kind}" WHERE {FILTER} '
            'AND $timeFilter GROUP BY time(1m), "equipment" fill(none)) '
            'GROUP BY "equipment" ORDER BY time DESC LIMIT 1',
            table=True,
        )
        overrides = [
            self.machine_column(),
            column_override(
                "quality",
                {
                    "displayName": "数据 Data",
                    "mappings": [
                        {
                            "type": "value",
                            "options": {
                                raw: {"text": text, "color": color, "index": i}
                                for i, (raw, (text, color)) in enumerate(QUALITY_LABELS.items())
                            },
                        },
                        {
                            "type": "special",
                            "options": {
                                "match": "null",
                                "result": {"text": "正常", "color": GREEN, "index": 9},
                            },
                        },
                    ],
                },
            ),
            column_override(
                "Time", {"displayName": "最后读数 Last data", "unit": "dateTimeFromNow"}
            ),
        ]
        for s in signals:
            props: dict[str, object] = {"displayName": self.label(kind, s)}
            if self.spec(kind, s).type is SignalType.BOOL:
                props["mappings"] = [
                    {
                        "type": "value",
                        "options": {
                            raw: {"text": text, "color": color, "index": i}
                            for i, (raw, (text, color)) in enumerate(bool_labels(s).items())
                        },
                    }
                ]
            else:
                props["unit"] = self.unit(kind, s)
            overrides.append(column_override(s, props))
        return table(title, query, overrides=overrides, height=height)

    def stats_table(self, kind: str, columns: Sequence[tuple[str, str, str]], title: str) -> Panel:
        """Per machine over the dashboard's time range: (function, signal, column title)."""
        fields = ", ".join(f'{fn}("{sig}") AS "{fn}_{sig}"' for fn, sig, _ in columns)
        query = influxql(
            f'SELECT {fields} FROM "{kind}" WHERE {FILTER} AND $timeFilter GROUP BY "equipment"',
            table=True,
        )
        overrides = [self.machine_column()]
        for fn, sig, label in columns:
            overrides.append(
                column_override(f"{fn}_{sig}", {"displayName": label, "unit": self.unit(kind, sig)})
            )
        return table(title, query, overrides=overrides, hide=["Time"], height=6)

    def trend(self, kind: str, signal: str, *, width: int = 12, step: bool = False) -> Panel:
        agg = "last" if step else "mean"
        query = influxql(
            f'SELECT {agg}("{signal}") FROM "{kind}" WHERE {FILTER} AND $timeFilter '
            'GROUP BY time($__interval), "equipment" fill(none)'
        )
        return timeseries(
            self.label(kind, signal),
            query,
            unit=self.unit(kind, signal),
            step=step,
            width=width,
            overrides=self.machine_overrides(),
        )

    def timeline(self, kind: str, signal: str, *, width: int = 24) -> Panel:
        query = influxql(
            f'SELECT last("{signal}") FROM "{kind}" WHERE {FILTER} AND $timeFilter '
            'GROUP BY time($__interval), "equipment" fill(previous)'
        )
        return state_timeline(
            self.label(kind, signal),
            query,
            bool_labels(signal),
            width=width,
            overrides=self.machine_overrides(),
        )

    def count_of(self, kind: str, signal: str, title: str, bad_at: float = 1) -> Panel:
        """How many machines of a kind have ``signal`` set now (sum of their last values)."""
        query = influxql(
            f'SELECT sum("last") FROM (SELECT last("{signal}") FROM "{kind}" WHERE {FILTER} '
            'AND $timeFilter GROUP BY "equipment")',
            table=True,
        )
        return stat(title, query, thresholds=[(None, GREEN), (bad_at, RED)])

    def quality(self, kind: str) -> Panel:
        query = influxql(
            f'SELECT count(/_quality$/) FROM "{kind}" WHERE {FILTER} AND $timeFilter '
            'GROUP BY time($__interval), "equipment" fill(none)',
            alias="$tag_equipment $col",
        )
        return timeseries(
            "数据质量 Readings not good (stale, comm fault, invalid)",
            query,
            width=24,
            description="Count of stale, comm_fault and invalid markers per signal and interval; "
            "empty when every reading was good.",
        )

    # ---- dashboards
    def overview(self) -> Dashboard:
        kinds = self.catalogue.kinds
        panels: list[Panel] = [
            row("概览 At a glance"),
            self.count_of("fire_panel", "fire_alarm", "火警 Fire alarms"),
            self.count_of("pump", "fault", "水泵故障 Pumps in fault"),
            self.count_of("elevator", "fault", "电梯故障 Elevators in fault"),
            self.count_of("water_tank", "low_level", "低液位 Tanks low"),
            self.count_of("flood_sensor", "water_detected", "水浸 Floods"),
            self.count_of("generator", "running", "发电机运行 Generators running"),
            stat(
                "告警 Firing alarms",
                sql(
                    "SELECT count(*) AS firing FROM alerts "
                    f"WHERE status = 'firing' AND {self.sql_scope('subject')}"
                ),
                thresholds=[(None, GREEN), (1, RED)],
                width=8,
            ),
            stat(
                "未完工单 Open tickets",
                sql(
                    "SELECT count(*) AS open FROM tickets "
                    f"WHERE status NOT IN ('closed', 'cancelled') AND {self.sql_scope()}"
                ),
                thresholds=[(None, GREEN), (1, ORANGE)],
                width=8,
            ),
            stat(
                "超时工单 Overdue tickets",
                sql(self.overdue_count()),
                thresholds=[(None, GREEN), (1, RED)],
                width=8,
            ),
            row("设备状态 Machine state"),
            self.building_rollup(),
            self.state_table(
                "pump",
                ["running", "auto_mode", "fault", "outlet_pressure_mpa", "frequency_hz"],
                f"{kinds['pump'].name_zh} Pumps",
            ),
            self.state_table(
                "elevator",
                ["in_service", "fault", "floor", "inspection_mode", "alarm_button"],
                f"{kinds['elevator'].name_zh} Elevators",
                height=6,
            ),
            self.state_table(
                "water_tank",
                ["level_pct", "level_m", "high_level", "low_level"],
                f"{kinds['water_tank'].name_zh} Water tanks and sumps",
                height=6,
            ),
            self.state_table(
                "fire_panel",
                ["fire_alarm", "fault", "supervisory", "mains_fail", "battery_fail"],
                f"{kinds['fire_panel'].name_zh} Fire panels",
                height=5,
            ),
            row("告警与工单 Alarms and tickets"),
            table(
                "告警 Firing and pending alarms",
                sql(
                    "SELECT firing_since AS since, subject AS equipment, title, severity, status, "
                    "ticket_class FROM alerts WHERE status IN ('firing', 'pending') "
                    f"AND {self.sql_scope('subject')} ORDER BY firing_since DESC NULLS LAST"
                ),
                width=12,
                overrides=[self.machine_column()],
            ),
            table(
                "工单 Open tickets",
                sql(
                    "SELECT id, equipment, title, status, opened_at, respond_by, on_site_by "
                    "FROM tickets WHERE status NOT IN ('closed', 'cancelled') "
                    f"AND {self.sql_scope()} ORDER BY opened_at DESC"
                ),
                width=12,
                overrides=[self.machine_column()],
            ),
        ]
        return Dashboard(
            "plantroom-overview",
            "设备房总览 Site overview",
            "Every machine's state at a glance, firing alarms and open tickets.",
            panels,
            self.variables(None),
        )

    def pumps(self) -> Dashboard:
        k = "pump"
        return Dashboard(
            "plantroom-pumps",
            "水泵 Pumps",
            "Pressure, current, frequency, run state, starts and faults of every pump.",
            [
                self.state_table(
                    k,
                    [
                        "running",
                        "auto_mode",
                        "fault",
                        "fault_code",
                        "outlet_pressure_mpa",
                        "current_a",
                        "frequency_hz",
                        "run_hours",
                        "starts",
                    ],
                    "当前状态 Current state",
                ),
                self.trend(k, "outlet_pressure_mpa"),
                self.trend(k, "current_a"),
                self.trend(k, "frequency_hz"),
                timeseries(
                    "启动次数 Starts per interval",
                    influxql(
                        'SELECT non_negative_difference(last("starts")) FROM "pump" '
                        f"WHERE {FILTER} AND $timeFilter "
                        'GROUP BY time($__interval), "equipment" fill(none)'
                    ),
                    overrides=self.machine_overrides(),
                    description="Short cycling shows as many starts in a short time.",
                ),
                timeseries(
                    "每小时启动次数 Starts per hour",
                    influxql(
                        'SELECT non_negative_difference(last("starts")) FROM "pump" '
                        f"WHERE {FILTER} AND $timeFilter "
                        'GROUP BY time(1h), "equipment" fill(none)'
                    ),
                    overrides=self.machine_overrides(),
                    description="A pump that starts more than a few times an hour is short "
                    "cycling (a failing pressure tank or a bad setpoint).",
                ),
                self.timeline(k, "running"),
                self.timeline(k, "fault"),
                self.stats_table(
                    k,
                    [
                        ("spread", "run_hours", "运行小时 Run hours"),
                        ("spread", "starts", "启动次数 Starts"),
                        ("min", "outlet_pressure_mpa", "最低压力 Min pressure"),
                        ("mean", "outlet_pressure_mpa", "平均压力 Mean pressure"),
                        ("max", "outlet_pressure_mpa", "最高压力 Max pressure"),
                        ("max", "current_a", "最大电流 Max current"),
                    ],
                    "运行统计 Operation over the time range (日报: pick a day)",
                ),
                self.quality(k),
            ],
            self.variables(k),
        )

    def elevators(self) -> Dashboard:
        k = "elevator"
        return Dashboard(
            "plantroom-elevators",
            "电梯 Elevators",
            "Service state, faults, floor, doors, alarm button and machine-room temperature.",
            [
                self.state_table(
                    k,
                    [
                        "in_service",
                        "fault",
                        "fault_code",
                        "floor",
                        "direction",
                        "moving",
                        "door_open",
                        "car_occupied",
                        "alarm_button",
                        "inspection_mode",
                        "machine_room_temp_c",
                        "overload",
                        "fire_recall",
                        "power_fail",
                        "safety_circuit_open",
                        "intercom_fault",
                    ],
                    "当前状态 Current state",
                ),
                self.trend(k, "floor", step=True),
                self.trend(k, "machine_room_temp_c"),
                self.timeline(k, "in_service"),
                self.timeline(k, "fault"),
                self.timeline(k, "inspection_mode"),
                self.timeline(k, "alarm_button"),
                self.timeline(k, "fire_recall", width=12),
                self.timeline(k, "safety_circuit_open", width=12),
                self.quality(k),
            ],
            self.variables(k),
        )

    def tanks(self) -> Dashboard:
        k = "water_tank"
        level = influxql(
            f'SELECT last("level_pct") FROM "{k}" WHERE {FILTER} AND $timeFilter '
            'GROUP BY "equipment"'
        )
        return Dashboard(
            "plantroom-tanks",
            "水箱与集水井 Water tanks and sumps",
            "Levels, high/low level switches and inlet valves of tanks, fire pools and sumps.",
            [
                bargauge(self.label(k, "level_pct"), level, unit="percent", minimum=0, maximum=100),
                self.state_table(
                    k,
                    [
                        "level_m",
                        "level_pct",
                        "high_level",
                        "low_level",
                        "overflow",
                        "inlet_valve_open",
                        "free_chlorine_mg_l",
                        "turbidity_ntu",
                    ],
                    "当前状态 Current state",
                    height=8,
                ),
                self.trend(k, "level_m", width=24),
                self.timeline(k, "high_level", width=12),
                self.timeline(k, "low_level", width=12),
                self.timeline(k, "inlet_valve_open", width=12),
                self.timeline(k, "overflow", width=12),
                self.trend(k, "free_chlorine_mg_l"),
                self.trend(k, "turbidity_ntu"),
                self.stats_table(
                    k,
                    [
                        ("min", "level_m", "最低液位 Min level"),
                        ("mean", "level_m", "平均液位 Mean level"),
                        ("max", "level_m", "最高液位 Max level"),
                        ("min", "level_pct", "最低 Min %"),
                        ("max", "level_pct", "最高 Max %"),
                    ],
                    "液位统计 Levels over the time range (日报: pick a day)",
                ),
                self.quality(k),
            ],
            self.variables(k),
        )

    def fire(self) -> Dashboard:
        k = "fire_panel"
        return Dashboard(
            "plantroom-fire",
            "消防报警主机 Fire alarm panels",
            "Fire alarms, faults, supervisory signals, power supplies and isolated points.",
            [
                self.count_of(k, "fire_alarm", "火警 Panels in fire alarm"),
                self.count_of(k, "fault", "故障 Panels in fault"),
                self.count_of(k, "mains_fail", "主电故障 Mains failed"),
                self.count_of(k, "battery_fail", "备电故障 Battery failed"),
                self.state_table(
                    k,
                    [
                        "fire_alarm",
                        "fault",
                        "supervisory",
                        "alarm_zone",
                        "alarm_zones",
                        "alarm_points",
                        "isolated_points",
                        "mains_fail",
                        "battery_fail",
                        "silenced",
                        "fire_pump_auto",
                    ],
                    "当前状态 Current state",
                    height=6,
                ),
                self.state_table(
                    k,
                    [f"alarm_point_{n}_zone" for n in range(1, 9)],
                    "报警点所在分区 Zones of the active alarm points (0: empty)",
                    height=5,
                ),
                self.state_table(
                    k,
                    [
                        "linkage_sounders",
                        "linkage_lift_recall",
                        "linkage_fire_pump",
                        "linkage_smoke_control",
                        "linkage_power_cutoff",
                    ],
                    "联动输出 Linkage outputs",
                    height=5,
                ),
                self.timeline(k, "fire_alarm"),
                self.timeline(k, "fault", width=12),
                self.timeline(k, "supervisory", width=12),
                self.trend(k, "isolated_points", step=True),
                self.trend(k, "alarm_zones", step=True),
                self.timeline(k, "fire_pump_auto"),
                table(
                    "火警记录 Fire incidents",
                    sql(
                        "SELECT started_at, ended_at, equipment, title, "
                        "extract(epoch FROM coalesce(ended_at, now()) - started_at) AS lasted "
                        f"FROM incidents WHERE $__timeFilter(started_at) AND {self.sql_scope()} "
                        "ORDER BY started_at DESC LIMIT 200"
                    ),
                    overrides=[
                        self.machine_column(),
                        column_override("started_at", {"displayName": "发生 Started"}),
                        column_override("ended_at", {"displayName": "结束 Ended"}),
                        column_override("lasted", {"displayName": "持续 Lasted", "unit": "s"}),
                    ],
                    description="Every fire alarm of the range, from the records database.",
                ),
                self.quality(k),
            ],
            self.variables(k),
        )

    def power(self) -> Dashboard:
        """The machines issue 16 added: supply and ATS, generator, meters, flood sensors."""
        kinds = self.catalogue.kinds
        return Dashboard(
            "plantroom-power",
            "配电、发电机、能耗与水浸 Power, generator, energy and flooding",
            "Mains and ATS position, phase voltages and currents; the standby generator's "
            "readiness (auto, battery, fuel, coolant); energy and water use; flood sensors.",
            [
                row(f"{kinds['power'].name_zh} Power supply"),
                self.state_table(
                    "power",
                    [
                        "mains_ok",
                        "ats_position",
                        "breaker_trip",
                        "voltage_l1_v",
                        "voltage_l2_v",
                        "voltage_l3_v",
                        "current_l1_a",
                        "current_l2_a",
                        "current_l3_a",
                    ],
                    "当前状态 Current state",
                    height=5,
                ),
                self.trend("power", "voltage_l1_v", width=8),
                self.trend("power", "voltage_l2_v", width=8),
                self.trend("power", "voltage_l3_v", width=8),
                self.timeline("power", "mains_ok", width=12),
                self.trend("power", "ats_position", width=12, step=True),
                row(f"{kinds['generator'].name_zh} Generator"),
                self.state_table(
                    "generator",
                    [
                        "running",
                        "auto_mode",
                        "fault",
                        "fault_code",
                        "battery_v",
                        "fuel_pct",
                        "coolant_temp_c",
                        "load_kw",
                        "run_hours",
                        "starts",
                    ],
                    "当前状态 Current state",
                    height=5,
                ),
                self.timeline("generator", "running"),
                self.trend("generator", "fuel_pct", width=8),
                self.trend("generator", "battery_v", width=8),
                self.trend("generator", "coolant_temp_c", width=8),
                row(f"{kinds['energy_meter'].name_zh} Energy and water use"),
                self.usage("energy_kwh", "用电量 Electricity used per interval (kWh)"),
                self.usage("volume_m3", "用水量 Water used per interval (m³)"),
                self.trend("energy_meter", "power_kw"),
                self.trend("energy_meter", "flow_m3h"),
                row(f"{kinds['flood_sensor'].name_zh} Flooding"),
                self.state_table("flood_sensor", ["water_detected"], "当前状态 Now", height=5),
                self.timeline("flood_sensor", "water_detected"),
            ],
            self.variables(None),
        )

    def usage(self, counter: str, title: str) -> Panel:
        """A meter's counter as use per interval (a counter reset counts as nothing)."""
        return timeseries(
            title,
            influxql(
                f'SELECT non_negative_difference(last("{counter}")) FROM "energy_meter" '
                f"WHERE {FILTER} AND $timeFilter "
                'GROUP BY time($__interval), "equipment" fill(none)'
            ),
            unit=self.unit("energy_meter", counter),
            overrides=self.machine_overrides(),
        )

    def tickets(self) -> Dashboard:
        return Dashboard(
            "plantroom-tickets",
            "维修工单与时限 Tickets and SLA",
            "Open and overdue tickets, response timeliness, repeat repairs and time to repair, "
            "from the records database (PostgreSQL).",
            [
                stat(
                    "未完工单 Open tickets",
                    sql(
                        "SELECT count(*) AS open FROM tickets "
                        f"WHERE status NOT IN ('closed', 'cancelled') AND {self.sql_scope()}"
                    ),
                    thresholds=[(None, GREEN), (1, ORANGE)],
                    width=4,
                ),
                stat(
                    "超时工单 Overdue now",
                    sql(self.overdue_count()),
                    thresholds=[(None, GREEN), (1, RED)],
                    width=4,
                ),
                stat(
                    "维修及时率 Repair timeliness",
                    self.kpi("100.0 * timely / NULLIF(timely_due, 0) AS timeliness"),
                    unit="percent",
                    thresholds=[(None, RED), (98, GREEN)],
                    width=4,
                    description="Repair cycles that met every deadline, of those whose "
                    "deadlines have all fallen due or been met (core/kpis.py; target ≥ 98 %).",
                ),
                stat(
                    "返修率 Repeat repairs",
                    self.kpi("100.0 * repeats / NULLIF(resolved, 0) AS repeat_pct"),
                    unit="percent",
                    thresholds=[(None, GREEN), (5, RED)],
                    width=4,
                    description="Resolved repair cycles followed within 30 days by a reopen or "
                    "a new ticket for the same fault on the same machine (target ≤ 5 %).",
                ),
                stat(
                    "平均修复时间 MTTR",
                    self.kpi("mttr_hours * 3600 AS mttr"),
                    unit="s",
                    width=4,
                    description="Mean of resolved − cycle start over resolved repair cycles.",
                ),
                stat(
                    "已升级 Escalated",
                    sql(
                        "SELECT count(*) AS escalated FROM tickets WHERE escalation_level > 0 "
                        f"AND status NOT IN ('closed', 'cancelled') AND {self.sql_scope()}"
                    ),
                    thresholds=[(None, GREEN), (1, RED)],
                    width=4,
                ),
                stat(
                    "回访率 Callbacks in time",
                    self.kpi("100.0 * called_back / NULLIF(callback_due, 0) AS callback_pct"),
                    unit="percent",
                    thresholds=[(None, RED), (95, GREEN)],
                    width=6,
                    description="Resolved repair cycles called back within one working day "
                    "(site calendar; target ≥ 95 %).",
                ),
                stat(
                    "满意率 Satisfaction",
                    self.kpi("100.0 * satisfied / NULLIF(callbacks, 0) AS satisfied_pct"),
                    unit="percent",
                    width=6,
                ),
                stat(
                    "完好率 Equipment in good order",
                    self.kpi(
                        "100.0 * (1 - down_hours / NULLIF(machine_hours, 0)) AS good_order_pct"
                    ),
                    unit="percent",
                    thresholds=[(None, RED), (98, GREEN)],
                    width=6,
                    description="Machine-hours without an open repair cycle (target ≥ 98 %).",
                ),
                stat(
                    "平均故障间隔 MTBF",
                    self.kpi("(machine_hours - down_hours) / NULLIF(failures, 0) AS mtbf"),
                    unit="h",
                    width=6,
                    description="Operating hours ÷ failures (trips, faults, entrapments).",
                ),
                table(
                    "未完工单 Open tickets by nearest deadline",
                    sql(
                        f"SELECT id, equipment, title, ticket_class, status, {NEXT_DUE} AS due, "
                        f"extract(epoch FROM {NEXT_DUE} - now()) AS time_left, "
                        "opened_at, escalation_level "
                        f"FROM tickets WHERE status NOT IN ('closed', 'cancelled') "
                        f"AND {self.sql_scope()} ORDER BY {NEXT_DUE} NULLS LAST, opened_at"
                    ),
                    overrides=[
                        self.machine_column(),
                        column_override("due", {"displayName": "下一时限 Next deadline"}),
                        column_override(
                            "time_left",
                            {
                                "displayName": "剩余 Time left (negative: overdue)",
                                "unit": "s",
                                "thresholds": {
                                    "mode": "absolute",
                                    "steps": [
                                        {"value": None, "color": RED},
                                        {"value": 0, "color": ORANGE},
                                        {"value": 600, "color": GREEN},
                                    ],
                                },
                            },
                        ),
                    ],
                    description="The deadline still to meet (respond, then on site, then "
                    "resolve), nearest first; negative time left is overdue.",
                ),
                timeseries(
                    "新开工单 Tickets opened per day",
                    sql(
                        "SELECT $__timeGroupAlias(opened_at, '1d'), ticket_class AS metric, "
                        f"count(*) AS opened FROM tickets WHERE $__timeFilter(opened_at) "
                        f"AND {self.sql_scope()} GROUP BY 1, 2 ORDER BY 1",
                        table=False,
                    ),
                    width=12,
                ),
                table(
                    "工单分类 Tickets by class and status",
                    sql(
                        "SELECT ticket_class, status, count(*) AS tickets FROM tickets "
                        f"WHERE $__timeFilter(opened_at) AND {self.sql_scope()} "
                        "GROUP BY 1, 2 ORDER BY 1, 2"
                    ),
                    width=12,
                ),
                table(
                    "工单记录 Ticket events (who and when)",
                    sql(
                        "SELECT e.ts, t.id AS ticket, t.equipment, e.type, e.from_status, "
                        "e.to_status, e.actor, e.message FROM ticket_events e "
                        "JOIN tickets t ON t.id = e.ticket_id "
                        f"WHERE $__timeFilter(e.ts) AND {self.sql_scope('t.equipment')} "
                        "ORDER BY e.ts DESC LIMIT 200"
                    ),
                    height=10,
                    overrides=[self.machine_column()],
                ),
            ],
            self.variables(None),
            time_from="now-30d",
            refresh="1m",
        )

    def alert_annotations(self) -> Annotation:
        """Each alarm of the filtered machines as a span on every trend: firing to resolved."""
        return Annotation(
            "告警 Alarms",
            sql(
                "SELECT firing_since AS time, resolved_at AS timeend, "
                "title || ' (' || severity || ')' AS text, rule_id AS tags FROM alerts "
                f"WHERE firing_since IS NOT NULL AND $__timeFilter(firing_since) "
                f"AND {self.sql_scope('subject')} ORDER BY firing_since"
            ),
        )

    def building_rollup(self) -> Panel:
        """Per building and kind: machines reporting and machines in fault."""
        kinds = [k for k in ("pump", "elevator", "fire_panel") if k in self.catalogue.kinds]
        sources = ", ".join(f'"{k}"' for k in kinds)
        query = influxql(
            'SELECT count("fault") AS "machines", sum("fault") AS "faults" FROM '
            f'(SELECT last("fault") AS "fault" FROM {sources} WHERE {FILTER} AND $timeFilter '
            'GROUP BY "equipment", "building") GROUP BY "building"',
            table=True,
        )
        building_names = column_override(
            "building",
            {
                "displayName": "楼栋 Building",
                "mappings": [
                    {
                        "type": "value",
                        "options": {
                            b.id: {"text": b.name, "index": i}
                            for i, b in enumerate(self.site.buildings)
                        },
                    }
                ],
            },
        )
        kind_names = column_override(
            "Series",
            {
                "displayName": "类别 Kind",
                "mappings": [
                    {
                        "type": "value",
                        "options": {
                            k: {"text": self.catalogue.kind(k).name_zh, "index": i}
                            for i, k in enumerate(kinds)
                        },
                    }
                ],
            },
        )
        return table(
            "楼栋汇总 By building",
            query,
            overrides=[
                building_names,
                kind_names,
                column_override("machines", {"displayName": "在线设备 Reporting"}),
                column_override(
                    "faults",
                    {
                        "displayName": "故障 In fault",
                        "thresholds": {
                            "mode": "absolute",
                            "steps": [{"value": None, "color": GREEN}, {"value": 1, "color": RED}],
                        },
                    },
                ),
            ],
            hide=["Time"],
            height=6,
        )

    def overdue_count(self) -> str:
        return (
            "SELECT count(*) AS overdue FROM tickets WHERE status NOT IN ('closed', 'cancelled') "
            "AND ((acknowledged_at IS NULL AND respond_by < now()) "
            "OR (on_site_at IS NULL AND on_site_by < now()) "
            f"OR (resolved_at IS NULL AND resolve_by < now())) AND {self.sql_scope()}"
        )

    def all(self) -> list[Dashboard]:
        """Every dashboard of the site: uids, tags and titles per site, in its time zone."""
        site = self.site.site
        out = []
        for d in (
            self.overview(),
            self.pumps(),
            self.elevators(),
            self.tanks(),
            self.fire(),
            self.power(),
            self.tickets(),
        ):
            d.uid = uid_for(site.id, d.uid.removeprefix("plantroom-"))
            d.title = f"{site.name} · {d.title}"
            d.timezone = site.timezone
            d.tags = ["plantroom", f"site:{site.id}"]  # the links list this site's only
            d.annotations = [self.alert_annotations()]
            out.append(d)
        return out


# a live ticket's next deadline: respond, then on site, then resolve (DESIGN §8)
NEXT_DUE = (
    "(CASE WHEN acknowledged_at IS NULL THEN respond_by "
    "WHEN on_site_at IS NULL THEN on_site_by ELSE resolve_by END)"
)


def render_all(site: Site) -> dict[str, str]:
    """File name (in the site's own folder) -> JSON text of every dashboard."""
    return {f"{d.uid}.json": d.render() for d in Builder(site).all()}


def all_queries(site: Site) -> list[tuple[str, str, Query]]:
    """(dashboard uid, panel or annotation title, query) for every query, for the tests."""
    out = []
    for d in Builder(site).all():
        out += [(d.uid, p.title, q) for p in d.panels for q in p.queries]
        out += [(d.uid, f"annotation {a.name}", a.query) for a in d.annotations]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__)
    parser.add_argument("--site", type=Path, default=DEFAULT_SITE)
    parser.add_argument("--out", type=Path, default=GENERATED)
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args(argv)
    site = load_site(args.site)
    rendered = render_all(site)
    # one folder per site (Grafana shows it as a folder): other sites' dashboards stay
    args.out = args.out / site.site.id
    stale = [
        name
        for name, text in rendered.items()
        if not (args.out / name).exists() or (args.out / name).read_text(encoding="utf-8") != text
    ]
    extra = sorted({p.name for p in args.out.glob("*.json")} - set(rendered))
    if args.check:
        for name in stale + extra:
            print(f"{args.out / name} is out of date: run python -m dashboards.build")
        return 1 if stale or extra else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (args.out / name).write_text(rendered[name], encoding="utf-8")
        print(f"wrote {args.out / name}")
    for name in extra:
        (args.out / name).unlink()
        print(f"removed {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
