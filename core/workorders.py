"""Planned work orders (计划工单, DESIGN §11): one per due occurrence of a plan, as data and
pure functions.

``scheduled → in_progress → done`` (checklist answers, parts, notes, and the machine's
readings at that time) or ``skipped`` (with a reason). An order is due from ``due_start``
until ``due_by``; past ``due_by`` and not finished it is overdue and escalates like a
ticket's deadline: level 1 (supervisor) at ``due_by``, level 2 (manager) when it is still
open as long again as its window. Done within the window counts in 保养完成率/巡检完成率.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from core.plans import Category


class OrderStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    SKIPPED = "skipped"


class OrderAction(StrEnum):
    START = "start"
    DONE = "done"
    SKIP = "skip"


class OrderSource(StrEnum):
    """Why the order exists."""

    PLAN = "plan"  # a due occurrence of a maintenance or inspection plan
    CERTIFICATE = "certificate"  # a ledger certificate nearing its expiry


STATUS_TEXT = {
    OrderStatus.SCHEDULED: "待执行",
    OrderStatus.IN_PROGRESS: "执行中",
    OrderStatus.DONE: "已完成",
    OrderStatus.SKIPPED: "已跳过",
}
OPEN = frozenset({OrderStatus.SCHEDULED, OrderStatus.IN_PROGRESS})
ALLOWED_FROM: dict[OrderAction, frozenset[OrderStatus]] = {
    OrderAction.START: frozenset({OrderStatus.SCHEDULED}),
    OrderAction.DONE: OPEN,
    OrderAction.SKIP: OPEN,
}
RESULT_OF = {
    OrderAction.START: OrderStatus.IN_PROGRESS,
    OrderAction.DONE: OrderStatus.DONE,
    OrderAction.SKIP: OrderStatus.SKIPPED,
}
MAX_TEXT = 4000


class OrderError(ValueError):
    """A step the order cannot take (wrong status, missing reason)."""


@dataclass(frozen=True, slots=True)
class PartUsed:
    name: str
    quantity: float


@dataclass(frozen=True, slots=True)
class Completion:
    """What the technician records when the work is done."""

    checklist: dict[str, str] = field(default_factory=dict)  # item → answer
    parts: tuple[PartUsed, ...] = ()
    notes: str = ""


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    """A planned work order as the records hold it."""

    id: int
    equipment: str
    plan: str
    name_zh: str
    category: Category
    source: OrderSource
    due_start: datetime
    due_by: datetime
    status: OrderStatus
    created_at: datetime
    started_at: datetime | None = None
    started_by: str | None = None
    finished_at: datetime | None = None
    finished_by: str | None = None
    skip_reason: str | None = None
    result: dict[str, Any] | None = None  # checklist, parts, notes, readings at completion

    @property
    def open(self) -> bool:
        return self.status in OPEN

    def overdue(self, now: datetime) -> bool:
        return self.open and now >= self.due_by

    @property
    def on_time(self) -> bool:
        """Done within its window (what the completion rates count)."""
        return (
            self.status is OrderStatus.DONE
            and self.finished_at is not None
            and self.finished_at < self.due_by
        )

    def allowed(self) -> list[str]:
        return [a.value for a, sources in ALLOWED_FROM.items() if self.status in sources]


def step(order: PlannedOrder, action: OrderAction, reason: str | None = None) -> OrderStatus:
    """The status ``action`` takes ``order`` to, or OrderError saying why it cannot."""
    if order.status not in ALLOWED_FROM[action]:
        raise OrderError(
            f"planned order {order.id} is {order.status.value} ({STATUS_TEXT[order.status]}); "
            f"cannot {action.value}"
        )
    if action is OrderAction.SKIP and not (reason or "").strip():
        raise OrderError("skipping a planned order needs a reason")
    return RESULT_OF[action]


def escalation_level(order: PlannedOrder, now: datetime) -> int:
    """0 until the order is overdue; 1 (supervisor) from ``due_by``; 2 (manager) when it is
    still open after as long again as its window."""
    if not order.overdue(now):
        return 0
    return 2 if now >= order.due_by + (order.due_by - order.due_start) else 1


def occurrence_key(equipment: str, plan: str, due_start: datetime) -> str:
    """The identity of one occurrence (unique in the records): the same occurrence scheduled
    by a restarted or a second scheduler is the same order."""
    return f"{equipment}:{plan}:{int(due_start.timestamp())}"


MIN_TEST_RUN = timedelta(minutes=5)  # shorter runs are starts, not a test run


@dataclass(frozen=True, slots=True)
class RunSeen:
    """A run of the machine seen in the telemetry (``running`` true from start to end)."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


def runs_seen(
    samples: Sequence[tuple[datetime, bool]], now: datetime, shortest: timedelta = MIN_TEST_RUN
) -> list[RunSeen]:
    """The runs of at least ``shortest`` in time-ordered ``running`` samples: each from the
    first true to the first false after it (or the last sample, when it is still running)."""
    out: list[RunSeen] = []
    began: datetime | None = None
    last: datetime | None = None
    for ts, running in samples:
        if running and began is None:
            began = ts
        elif not running and began is not None:
            if ts - began >= shortest:
                out.append(RunSeen(began, ts))
            began = None
        last = ts
    if began is not None and last is not None and last - began >= shortest:
        out.append(RunSeen(began, min(last, now)))
    return out
