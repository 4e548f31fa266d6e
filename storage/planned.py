"""Planned work orders in the records DB (DESIGN §11), and the repository the API uses.

One row per due occurrence, unique on its ``occurrence`` key (machine, plan, start), so a
restarted scheduler or a second one never makes two. Each step is compare-and-set on the
status and goes into the hash-chained logbook in the same transaction; nothing is edited
afterwards (the result is written once, with the step that finishes the order).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from core.plans import Category
from core.workorders import (
    OPEN,
    STATUS_TEXT,
    Completion,
    OrderAction,
    OrderError,
    OrderSource,
    OrderStatus,
    PlannedOrder,
    escalation_level,
    occurrence_key,
    step,
)
from storage import logbook
from storage.records import metadata

planned_orders = sa.Table(
    "planned_orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("occurrence", sa.String(200), nullable=False),
    sa.Column("equipment", sa.String(64), nullable=False),
    sa.Column("plan", sa.String(64), nullable=False),
    sa.Column("name_zh", sa.String(100), nullable=False),
    sa.Column("category", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("due_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due_by", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("started_by", sa.String(128)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("finished_by", sa.String(128)),
    sa.Column("skip_reason", sa.Text),
    sa.Column("result", sa.Text),  # JSON: checklist, parts, notes, readings at completion
    sa.Column("escalation", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("occurrence", name="ux_planned_orders_occurrence"),
    sa.Index("ix_planned_orders_equipment_status", "equipment", "status"),
)


@dataclass(frozen=True, slots=True)
class DueOrder:
    """An occurrence the scheduler found due: what the order will be."""

    equipment: str
    plan: str
    name_zh: str
    category: Category
    source: OrderSource
    due_start: datetime
    due_by: datetime


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def order_of(row: RowMapping) -> PlannedOrder:
    due_start, due_by, created = _utc(row.due_start), _utc(row.due_by), _utc(row.created_at)
    assert due_start is not None and due_by is not None and created is not None
    return PlannedOrder(
        id=row.id,
        equipment=row.equipment,
        plan=row.plan,
        name_zh=row.name_zh,
        category=Category(row.category),
        source=OrderSource(row.source),
        due_start=due_start,
        due_by=due_by,
        status=OrderStatus(row.status),
        created_at=created,
        started_at=_utc(row.started_at),
        started_by=row.started_by,
        finished_at=_utc(row.finished_at),
        finished_by=row.finished_by,
        skip_reason=row.skip_reason,
        result=json.loads(row.result) if row.result else None,
    )


def schedule(conn: Connection, due: Iterable[DueOrder], now: datetime) -> list[PlannedOrder]:
    """Make an order of each due occurrence that has none yet; returns the new ones."""
    made: list[PlannedOrder] = []
    for d in due:
        key = occurrence_key(d.equipment, d.plan, d.due_start)
        if conn.execute(
            sa.select(planned_orders.c.id).where(planned_orders.c.occurrence == key)
        ).first():
            continue  # the common case, without a failed insert
        try:
            with conn.begin_nested():
                inserted = conn.execute(
                    planned_orders.insert().values(
                        occurrence=key,
                        equipment=d.equipment,
                        plan=d.plan,
                        name_zh=d.name_zh,
                        category=d.category.value,
                        source=d.source.value,
                        due_start=d.due_start.astimezone(UTC),
                        due_by=d.due_by.astimezone(UTC),
                        status=OrderStatus.SCHEDULED.value,
                        created_at=now.astimezone(UTC),
                    )
                ).inserted_primary_key
        except IntegrityError:
            continue  # another scheduler made it between the look and the insert
        assert inserted is not None
        order = get(conn, int(inserted[0]))
        assert order is not None
        logbook.append(
            conn,
            logbook.LogEntry(
                now,
                d.equipment,
                "planned",
                f"计划工单#{order.id} {d.name_zh} 已排期，"
                f"{d.due_start:%Y-%m-%d %H:%M}起，{d.due_by:%Y-%m-%d %H:%M}前完成",
                "system",
                {"order_id": order.id, "event": "scheduled", "plan": d.plan},
            ),
        )
        made.append(order)
    return made


def get(conn: Connection, order_id: int) -> PlannedOrder | None:
    row = (
        conn.execute(sa.select(planned_orders).where(planned_orders.c.id == order_id))
        .mappings()
        .first()
    )
    return None if row is None else order_of(row)


def find(
    conn: Connection,
    *,
    equipment: str | None = None,
    statuses: Iterable[OrderStatus] = (),
    due_from: datetime | None = None,
    due_to: datetime | None = None,
    limit: int = 500,
) -> list[PlannedOrder]:
    """Orders by due time (newest first), filtered."""
    query = sa.select(planned_orders)
    wanted = [s.value for s in statuses]
    if equipment is not None:
        query = query.where(planned_orders.c.equipment == equipment)
    if wanted:
        query = query.where(planned_orders.c.status.in_(wanted))
    if due_from is not None:
        query = query.where(planned_orders.c.due_by > due_from.astimezone(UTC))
    if due_to is not None:
        query = query.where(planned_orders.c.due_start < due_to.astimezone(UTC))
    query = query.order_by(planned_orders.c.due_start.desc(), planned_orders.c.id.desc())
    return [order_of(r) for r in conn.execute(query.limit(limit)).mappings()]


def latest_of_plan(conn: Connection, equipment: str, plan: str) -> PlannedOrder | None:
    found = (
        conn.execute(
            sa.select(planned_orders)
            .where(planned_orders.c.equipment == equipment, planned_orders.c.plan == plan)
            .order_by(planned_orders.c.due_start.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if found is None else order_of(found)


def act(
    conn: Connection,
    order_id: int,
    action: OrderAction,
    actor: str,
    now: datetime,
    *,
    completion: Completion | None = None,
    reason: str | None = None,
    readings: dict[str, Any] | None = None,
    contradictions: list[str] | None = None,
    test_run: dict[str, Any] | None = None,
) -> PlannedOrder:
    """Take one step; raises OrderError for an unknown order or a step it cannot take.
    ``contradictions``: the checklist answers the telemetry contradicts, flagged on the record."""
    order = get(conn, order_id)
    if order is None:
        raise OrderError(f"no planned order {order_id}")
    to = step(order, action, reason)
    values: dict[str, Any] = {"status": to.value}
    text = f"计划工单#{order.id} {order.name_zh} {STATUS_TEXT[to]}"
    data: dict[str, Any] = {"order_id": order.id, "event": action.value, "plan": order.plan}
    if action is OrderAction.START:
        values.update(started_at=now.astimezone(UTC), started_by=actor)
    else:
        values.update(finished_at=now.astimezone(UTC), finished_by=actor)
    if action is OrderAction.SKIP:
        values["skip_reason"] = (reason or "").strip()
        text += f"：{values['skip_reason']}"
        data["reason"] = values["skip_reason"]
    if action is OrderAction.DONE:
        done = completion or Completion()
        result = {
            "checklist": done.checklist,
            "parts": [asdict(p) for p in done.parts],
            "notes": done.notes,
            "readings": readings or {},
            "contradictions": contradictions or [],
        }
        if test_run is not None:  # a run seen in the telemetry, given as the test's record
            result["test_run"] = test_run
            text += f"；试运行记录 {test_run['minutes']} 分钟"

        values["result"] = json.dumps(result, ensure_ascii=False, sort_keys=True)
        data["result"] = result
        if not order.on_time and now >= order.due_by:
            text += "（逾期完成）"
        if contradictions:
            text += "；与遥测不符：" + "；".join(contradictions)
    changed = conn.execute(
        planned_orders.update()
        .where(planned_orders.c.id == order.id, planned_orders.c.status == order.status.value)
        .values(**values)
    ).rowcount
    if changed != 1:
        raise OrderError(f"planned order {order.id} changed meanwhile; look again")
    logbook.append(conn, logbook.LogEntry(now, order.equipment, "planned", text, actor, data))
    updated = get(conn, order.id)
    assert updated is not None
    return updated


def escalate(conn: Connection, now: datetime) -> list[tuple[PlannedOrder, int]]:
    """Raise the escalation of overdue orders to the level they reached (once per level,
    compare-and-set, so two schedulers escalate once); returns what changed."""
    raised: list[tuple[PlannedOrder, int]] = []
    rows = conn.execute(
        sa.select(planned_orders).where(
            planned_orders.c.status.in_([s.value for s in OPEN]),
            planned_orders.c.due_by <= now.astimezone(UTC),
        )
    ).mappings()
    for row in list(rows):
        order = order_of(row)
        level = escalation_level(order, now)
        if level <= row.escalation:
            continue
        changed = conn.execute(
            planned_orders.update()
            .where(planned_orders.c.id == order.id, planned_orders.c.escalation == row.escalation)
            .values(escalation=level)
        ).rowcount
        if changed != 1:
            continue
        to = "主管" if level == 1 else "经理"
        logbook.append(
            conn,
            logbook.LogEntry(
                now,
                order.equipment,
                "planned",
                f"计划工单#{order.id} {order.name_zh} 逾期未完成，升级至{to}",
                "system",
                {"order_id": order.id, "event": "escalated", "level": level},
            ),
        )
        raised.append((order, level))
    return raised


def machines_in_progress(conn: Connection) -> set[str]:
    """Machines with planned work in progress: their alerts page nobody (DESIGN §8)."""
    rows = conn.execute(
        sa.select(planned_orders.c.equipment)
        .where(planned_orders.c.status == OrderStatus.IN_PROGRESS.value)
        .distinct()
    )
    return {str(r[0]) for r in rows}


class PlannedRepository:
    """Planned work orders for the API: each method one transaction, typed rows out."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def find(self, **filters: Any) -> list[PlannedOrder]:
        with self._engine.connect() as conn:
            return find(conn, **filters)

    def get(self, order_id: int) -> PlannedOrder | None:
        with self._engine.connect() as conn:
            return get(conn, order_id)

    def act(
        self, order_id: int, action: OrderAction, actor: str, now: datetime, **kw: Any
    ) -> PlannedOrder:
        with self._engine.begin() as conn:
            return act(conn, order_id, action, actor, now, **kw)

    def schedule(self, due: Iterable[DueOrder], now: datetime) -> list[PlannedOrder]:
        with self._engine.begin() as conn:
            return schedule(conn, due, now)


__all__ = [
    "DueOrder",
    "OrderError",
    "PlannedRepository",
    "act",
    "escalate",
    "find",
    "machines_in_progress",
    "planned_orders",
    "schedule",
]
