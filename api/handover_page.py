"""The handover sheet (交接班记录) to print and file: the drafted content and both signatures."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from api.printable import Document, Table, energy_table, local_time, minutes, number
from api.report_rows import CLASS_ZH, SEVERITY_ZH, STATUS_ZH, zh
from api.schemas_reports import DeadlineLeft, HandoverOut, PlannedLine, TicketLine

DEADLINE_ZH = {"respond": "响应", "on_site": "到场", "resolve": "完工"}


def _left(mins: float) -> str:
    span = timedelta(minutes=abs(mins))
    return f"已超时{minutes(span)}" if mins < 0 else f"剩{minutes(span)}"


def _deadline(d: DeadlineLeft, tz: ZoneInfo) -> str:
    return f"{zh(DEADLINE_ZH, d.kind)} {local_time(d.due_at, tz)}（{_left(d.minutes_left)}）"


def _planned(title: str, lines: list[PlannedLine], tz: ZoneInfo, empty: str) -> Table:
    return Table(
        title,
        ("设备", "类别", "项目", "应完成", "状态", "完成/跳过", "执行人", "跳过原因"),
        [
            (
                p.equipment_name,
                p.category_name,
                p.name,
                local_time(p.due_by, tz),
                p.status_name,
                local_time(p.finished_at, tz),
                p.finished_by,
                p.skip_reason,
            )
            for p in lines
        ],
        empty=empty,
    )


def _tickets(title: str, lines: list[TicketLine], tz: ZoneInfo, empty: str) -> Table:
    return Table(
        title,
        ("工单号", "设备", "类别", "内容", "状态", "报修时间", "完工时间"),
        [
            (
                t.id,
                t.equipment_name,
                zh(CLASS_ZH, t.ticket_class),
                t.title,
                zh(STATUS_ZH, t.status),
                local_time(t.opened_at, tz),
                local_time(t.resolved_at, tz),
            )
            for t in lines
        ],
        empty=empty,
    )


def document(h: HandoverOut) -> Document:
    c = h.content
    tz = ZoneInfo(c.timezone)
    alarms = Table(
        "本班告警",
        ("设备", "告警", "级别", "开始", "结束", "持续"),
        [
            (
                a.equipment_name,
                a.title,
                zh(SEVERITY_ZH, a.severity),
                local_time(a.started_at, tz),
                local_time(a.ended_at, tz) if a.ended_at else "交班时未恢复",
                minutes(timedelta(minutes=a.duration_minutes)),
            )
            for a in c.alarms
        ],
        empty="本班无告警",
    )
    carried = Table(
        "遗留工单（交接给下一班）",
        ("工单号", "设备", "类别", "内容", "状态", "待完成时限（交班时剩余）"),
        [
            (
                t.id,
                t.equipment_name,
                zh(CLASS_ZH, t.ticket_class),
                t.title,
                zh(STATUS_ZH, t.status),
                "；".join(_deadline(d, tz) for d in t.deadlines) or "—",
            )
            for t in c.tickets_carried
        ],
        empty="无遗留工单",
    )
    attention = Table(
        "停用或无数据的设备",
        ("设备", "楼栋", "情况"),
        [(m.equipment_name, m.building_name, m.detail) for m in c.machines_attention],
        empty="全部设备在线、无停用",
    )
    readings = Table(
        "交班时关键读数",
        ("设备", "参数", "读数", "时间"),
        [
            (
                r.equipment_name,
                r.signal_name,
                "无数据" if r.value is None else f"{number(r.value, 2)} {r.unit or ''}".strip(),
                local_time(r.at, tz),
            )
            for r in c.key_readings
        ],
        empty="无",
    )
    remarks = Table(
        "交班备注",
        ("备注",),
        [(h.remarks,)] if h.remarks else [],
        empty="（未填写）" if h.outgoing_at is None else "无",
    )
    outgoing = (
        f"交班人：{h.outgoing_by}  {local_time(h.outgoing_at, tz)}"
        if h.outgoing_by
        else "交班人：（未签字）"
    )
    incoming = (
        f"接班人：{h.incoming_by}  {local_time(h.incoming_at, tz)}"
        if h.incoming_by
        else "接班人：（未签字）"
    )
    return Document(
        title=f"交接班记录 #{h.id}",
        lines=(
            f"{c.site_name}（{c.site}）  {c.shift.name} "
            f"{local_time(c.shift.start, tz)} 至 {local_time(c.shift.end, tz)}（{c.timezone}）",
            f"状态：{h.status_name}  生成：{local_time(h.drafted_at, tz)}  "
            f"内容校验：{h.content_sha256[:16]} "
            + ("与交接班日志一致" if h.intact else "与日志不符：" + "；".join(h.problems)),
        ),
        tables=(
            alarms,
            _tickets("本班新开工单", c.tickets_opened, tz, "本班无新开工单"),
            _tickets("本班关闭工单", c.tickets_closed, tz, "本班无关闭工单"),
            carried,
            attention,
            _planned("本班完成的巡检与保养", c.planned_done, tz, "本班无完成的巡检、保养"),
            _planned("本班到期未完成的巡检与保养", c.planned_missed, tz, "无"),
            readings,
            energy_table(c.energy, "本班用能"),
            remarks,
        ),
        signatures=(outgoing, incoming),
    )
