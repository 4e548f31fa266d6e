"""Maintenance KPIs over a period (DESIGN §8 targets), as a pure function of ticket facts.

Definitions (the numbers a supervisor can recompute by hand):
- A ticket belongs to the period when it was opened in ``[start, end)``; cancelled tickets
  (false alarms) count nowhere except ``cancelled``.
- **Responded** is the first of acknowledged, on site, resolved; **on site** the first of on
  site, resolved (a fault fixed remotely needed nobody on site). A deadline is *met* when that
  happened by it, *missed* when it happened later or has not happened and the deadline is
  past ``now``, and *pending* (left out) otherwise. Timeliness = met / (met + missed) over both
  deadlines of every ticket; target ≥ 98 %.
- **Repeat repair**: a ticket that was reopened (the fault came back within the reopen
  window), or one opened within ``repeat_window`` (30 days) after an earlier ticket of the
  same machine and class was opened. Rate = repeats / tickets; target ≤ 5 %.
- **Callback**: closed (回访确认) within one working day (Monday-Friday in the site's time
  zone) of being resolved; target ≥ 95 %.
- **MTTR** (hours): mean of resolved − start of its last cycle, over tickets of the period
  that are resolved (or closed). **MTBF** (hours): (period length − repair time within the
  period) / failures, per machine, summed over machines for a kind; comms-loss tickets are not
  equipment failures. None when there were no failures.
- **Open / overdue**: tickets not closed or cancelled at ``now``; overdue when a deadline
  not yet met has passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.plans import Category
from core.workorders import PlannedOrder

TARGET_TIMELINESS = 0.98
TARGET_REPEAT = 0.05
TARGET_CALLBACK = 0.95
TARGET_PLANNED = 0.98  # 巡检完成率 and 保养完成率
REPEAT_WINDOW = timedelta(days=30)
NOT_FAILURES = frozenset({"comms"})
FINAL = frozenset({"closed", "cancelled"})


@dataclass(frozen=True, slots=True)
class TicketFacts:
    id: int
    equipment: str
    ticket_class: str
    status: str
    opened_at: datetime
    cycle: int = 1
    cycle_start: datetime | None = None
    respond_by: datetime | None = None
    on_site_by: datetime | None = None
    resolve_by: datetime | None = None
    acknowledged_at: datetime | None = None
    on_site_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def responded_at(self) -> datetime | None:
        return _first(self.acknowledged_at, self.on_site_at, self.resolved_at)

    @property
    def arrived_at(self) -> datetime | None:
        return _first(self.on_site_at, self.resolved_at)

    @property
    def started(self) -> datetime:
        return self.cycle_start or self.opened_at


@dataclass(frozen=True, slots=True)
class Ratio:
    met: int
    total: int
    target: float
    at_least: bool = True  # True: the ratio should be >= target; False: <= target

    @property
    def value(self) -> float | None:
        return self.met / self.total if self.total else None

    @property
    def on_target(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.target if self.at_least else self.value <= self.target


@dataclass(frozen=True, slots=True)
class Reliability:
    tickets: int
    failures: int
    repairs: int
    mttr_hours: float | None
    mtbf_hours: float | None


@dataclass(frozen=True, slots=True)
class Kpis:
    start: datetime
    end: datetime
    tickets: int
    cancelled: int
    respond_on_time: Ratio
    on_site_on_time: Ratio
    timeliness: Ratio
    repeat_repairs: Ratio
    callback_on_time: Ratio
    open_now: int
    overdue_now: int
    by_kind: dict[str, Reliability] = field(default_factory=dict)
    by_equipment: dict[str, Reliability] = field(default_factory=dict)


def _first(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


def _judge(done: datetime | None, due: datetime | None, now: datetime) -> bool | None:
    """True met, False missed, None not judged (no deadline, or not due yet)."""
    if due is None:
        return None
    if done is not None:
        return done <= due
    return False if now > due else None


def overdue(t: TicketFacts, now: datetime) -> bool:
    """A live ticket with a deadline passed and not met."""
    if t.status in FINAL:
        return False
    pending = (
        (t.respond_by, t.responded_at),
        (t.on_site_by, t.arrived_at),
        (t.resolve_by, t.resolved_at),
    )
    return any(due is not None and done is None and now > due for due, done in pending)


def deadlines_met(t: TicketFacts, now: datetime) -> bool | None:
    """One ticket as timeliness counts it: True when every judged deadline (respond, on site)
    was met, False when one was missed, None when none is judged yet (for the ledger)."""
    judged = [
        j
        for j in (
            _judge(t.responded_at, t.respond_by, now),
            _judge(t.arrived_at, t.on_site_by, now),
        )
        if j is not None
    ]
    return all(judged) if judged else None


def callback_met(t: TicketFacts, now: datetime, tz: ZoneInfo) -> bool | None:
    """One ticket as the callback KPI counts it (None: not resolved, or not due yet)."""
    return _callback(t, now, tz)


def _callback(t: TicketFacts, now: datetime, tz: ZoneInfo) -> bool | None:
    if t.resolved_at is None:
        return None
    return _judge(t.closed_at, next_working_day_end(t.resolved_at, tz), now)


def next_working_day_end(ts: datetime, tz: ZoneInfo) -> datetime:
    """One working day after ``ts``: the same time on the next Monday-Friday day."""
    local = ts.astimezone(tz)
    step = local + timedelta(days=1)
    while step.weekday() >= 5:
        step += timedelta(days=1)
    return step


def is_repeat(t: TicketFacts, earlier: Iterable[TicketFacts], window: timedelta) -> bool:
    if t.cycle > 1:
        return True
    return any(
        e.id != t.id
        and e.equipment == t.equipment
        and e.ticket_class == t.ticket_class
        and e.status != "cancelled"
        and timedelta(0) < t.opened_at - e.opened_at <= window
        for e in earlier
    )


def _reliability(
    mine: Sequence[TicketFacts], machines: int, start: datetime, end: datetime
) -> Reliability:
    resolved = [t for t in mine if t.resolved_at is not None]
    repair_hours = [
        (t.resolved_at - t.started).total_seconds() / 3600
        for t in resolved
        if t.resolved_at is not None
    ]
    failures = [t for t in mine if t.ticket_class not in NOT_FAILURES]
    down = timedelta(0)
    for t in failures:
        lo = max(t.started, start)
        hi = min(t.resolved_at or end, end)
        if hi > lo:
            down += hi - lo
    period_hours = machines * (end - start).total_seconds() / 3600
    up_hours = period_hours - down.total_seconds() / 3600
    return Reliability(
        tickets=len(mine),
        failures=len(failures),
        repairs=len(resolved),
        mttr_hours=sum(repair_hours) / len(repair_hours) if repair_hours else None,
        mtbf_hours=up_hours / len(failures) if failures else None,
    )


def compute_kpis(
    tickets: Sequence[TicketFacts],
    kinds: Mapping[str, str],
    start: datetime,
    end: datetime,
    now: datetime,
    tz: ZoneInfo,
    repeat_window: timedelta = REPEAT_WINDOW,
) -> Kpis:
    """KPIs of the tickets opened in ``[start, end)``; ``tickets`` may hold earlier ones too
    (for repeat repairs) and ``kinds`` maps every machine of the site to its kind."""
    period = [t for t in tickets if start <= t.opened_at < end]
    counted = [t for t in period if t.status != "cancelled"]
    respond = [_judge(t.responded_at, t.respond_by, now) for t in counted]
    on_site = [_judge(t.arrived_at, t.on_site_by, now) for t in counted]
    callbacks = [_callback(t, now, tz) for t in counted]
    repeats = [is_repeat(t, tickets, repeat_window) for t in counted]

    def ratio(judged: Iterable[bool | None], target: float, at_least: bool = True) -> Ratio:
        known = [j for j in judged if j is not None]
        return Ratio(sum(known), len(known), target, at_least)

    live = [t for t in tickets if t.status not in FINAL]
    by_machine: dict[str, list[TicketFacts]] = {eq: [] for eq in kinds}
    for t in counted:
        by_machine.setdefault(t.equipment, []).append(t)
    by_kind: dict[str, list[TicketFacts]] = {}
    machines_of_kind: dict[str, int] = {}
    for eq, mine in by_machine.items():
        kind = kinds.get(eq, "other")
        by_kind.setdefault(kind, []).extend(mine)
        machines_of_kind[kind] = machines_of_kind.get(kind, 0) + 1
    return Kpis(
        start=start,
        end=end,
        tickets=len(counted),
        cancelled=len(period) - len(counted),
        respond_on_time=ratio(respond, TARGET_TIMELINESS),
        on_site_on_time=ratio(on_site, TARGET_TIMELINESS),
        timeliness=ratio([*respond, *on_site], TARGET_TIMELINESS),
        repeat_repairs=Ratio(sum(repeats), len(repeats), TARGET_REPEAT, at_least=False),
        callback_on_time=ratio(callbacks, TARGET_CALLBACK),
        open_now=len(live),
        overdue_now=sum(1 for t in live if overdue(t, now)),
        by_kind={
            k: _reliability(v, machines_of_kind[k], start, end) for k, v in sorted(by_kind.items())
        },
        by_equipment={eq: _reliability(v, 1, start, end) for eq, v in sorted(by_machine.items())},
    )


def planned_completion(
    orders: Iterable[PlannedOrder], start: datetime, end: datetime, now: datetime
) -> dict[Category, Ratio]:
    """巡检完成率 and 保养完成率 (DESIGN §8): of the planned orders whose window closed in
    [start, end) by ``now``, those done within their window (``PlannedOrder.on_time``)."""
    until = min(end, now)
    due = [o for o in orders if start <= o.due_by < until]
    return {
        category: Ratio(
            sum(1 for o in due if o.category is category and o.on_time),
            sum(1 for o in due if o.category is category),
            TARGET_PLANNED,
        )
        for category in Category
    }
