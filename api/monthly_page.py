"""The monthly report (月报) as people file it: Chinese labels, local times, one table per
section, the same sections in the CSV and on the printable page."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from api.printable import Document, Table, day_time, energy_table, local_time, number, pct
from api.report_rows import CLASS_ZH, STATUS_ZH, zh
from api.schemas_reports import KpiLine, MonthlyReportOut


def _yes_no(value: bool | None, yes: str = "是", no: str = "否") -> str:
    return "—" if value is None else (yes if value else no)


def _kpi_value(k: KpiLine) -> str:
    if k.value is None:
        return "无数据"
    return pct(k.value) if k.unit == "ratio" else f"{number(k.value, 2)} 小时"


def _target(k: KpiLine) -> str:
    if k.target is None:
        return "—"
    return ("≥ " if k.at_least else "≤ ") + pct(k.target, 0)


def document(report: MonthlyReportOut, made_at: datetime) -> Document:
    tz = ZoneInfo(report.timezone)
    ledger = Table(
        "一、维修台账",
        (
            "工单号",
            "设备",
            "楼栋",
            "类别",
            "内容",
            "报修",
            "接单",
            "到场",
            "完工",
            "回访关闭",
            "维修用时(小时)",
            "按时",
            "返修",
            "状态",
        ),
        [
            (
                t.id,
                t.equipment_name,
                t.building_name,
                zh(CLASS_ZH, t.ticket_class),
                t.title,
                day_time(t.opened_at, tz),
                day_time(t.acknowledged_at, tz),
                day_time(t.on_site_at, tz),
                day_time(t.resolved_at, tz),
                day_time(t.closed_at, tz),
                number(t.repair_hours, 2),
                _yes_no(t.on_time),
                _yes_no(t.repeat),
                zh(STATUS_ZH, t.status),
            )
            for t in report.ledger
        ],
        empty="本月无维修工单",
    )
    kpis = Table(
        "二、考核指标",
        ("指标", "本月", "分子", "分母", "目标", "达标", "口径"),
        [
            (
                k.name,
                _kpi_value(k),
                k.numerator,
                k.denominator,
                _target(k),
                _yes_no(k.on_target, "达标", "未达标"),
                k.definition,
            )
            for k in report.kpis
        ],
        notes=("工单按报修时间归入月份；误报取消的工单不计；通讯中断不计为设备故障。",),
    )
    callbacks = Table(
        "三、回访情况",
        ("工单号", "设备", "完工", "回访", "回访人", "满意", "回访记录", "一个工作日内"),
        [
            (
                c.ticket_id,
                c.equipment_name,
                day_time(c.resolved_at, tz),
                day_time(c.callback_at, tz) or "未回访",
                c.callback_by,
                _yes_no(c.satisfied, "满意", "不满意"),
                c.remarks,
                _yes_no(c.within_one_working_day),
            )
            for c in report.callbacks
        ],
        empty="本月无已完工的维修工单",
    )
    planned = Table(
        "四、巡检与保养完成率",
        ("项目", "应完成", "已完成", "完成率", "目标"),
        []
        if report.planned is None
        else [
            (
                "巡检",
                report.planned.inspections_due,
                report.planned.inspections_done,
                pct(_share(report.planned.inspections_done, report.planned.inspections_due)),
                "≥ 98%",
            ),
            (
                "保养",
                report.planned.maintenance_due,
                report.planned.maintenance_done,
                pct(_share(report.planned.maintenance_done, report.planned.maintenance_due)),
                "≥ 98%",
            ),
        ],
        empty="本月系统中无巡检、保养计划记录。",
    )
    failing = Table(
        "五、故障最多的设备",
        ("设备", "楼栋", "故障次数", "已修复", "平均修复时间(小时)"),
        [
            (
                m.equipment_name,
                m.building_name,
                m.failures,
                m.repairs,
                number(m.mttr_hours, 2),
            )
            for m in report.top_failing
        ],
        empty="本月无设备故障",
    )
    buildings = Table(
        "六、分楼栋统计",
        ("楼栋", "设备数", "工单数", "故障次数", "维修及时率", "平均修复时间(小时)"),
        [
            (
                b.building_name,
                b.machines,
                b.tickets,
                b.failures,
                pct(b.timeliness) or "无数据",
                number(b.mttr_hours, 2),
            )
            for b in report.buildings
        ],
    )
    period = f"{local_time(report.start, tz)} 至 {local_time(report.end, tz)}"
    return Document(
        title=f"工程部月报 {report.month}",
        lines=(
            f"{report.site_name}（{report.site}）  统计时段：{period}（{report.timezone}）"
            + ("" if report.complete else "  本月未结束，数据截至生成时"),
            f"生成时间：{local_time(made_at, tz)}",
        ),
        tables=(
            ledger,
            kpis,
            callbacks,
            planned,
            failing,
            buildings,
            energy_table(report.energy, "七、本月用能"),
        ),
        signatures=("编制：__________", "工程主管：__________", "项目经理：__________"),
    )


def _share(done: int, due: int) -> float | None:
    return done / due if due else None
