"""The maintenance ticket lifecycle and its cycles (DESIGN §8), as data and pure functions.

``open → acknowledged (接单) → on_site (到场) → resolved (完工) → closed (回访确认)``, plus
``reopened`` and ``cancelled`` (false alarm, with a reason). Whether the fault itself is still
present is a separate fact on the ticket (``fault_active``): recovery of the signal marks the
ticket "recovered, awaiting verification"; only people resolve and close tickets.

A ticket lives through one or more **cycles**: the first starts when the fault began, and
every reopening — by the alert engine when the fault recurs, or by a person — starts a new
one with :func:`reopen`: fresh deadlines from the reopen time, escalation back to level 0,
the earlier cycle kept as it was. Which recorded time meets which deadline (an entrapment's
first deadline is met by staff arriving, not by an acknowledgement) is :func:`met_at`, the one
rule that timeliness, escalation, overdue flags and the KPIs all use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.calendar import Calendar, one_working_day_after
from core.rules import AlertsConfig, Deadlines, TicketClass


class TicketStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ON_SITE = "on_site"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    CANCELLED = "cancelled"


FINAL = frozenset({TicketStatus.CLOSED, TicketStatus.CANCELLED})
LIVE = frozenset(TicketStatus) - FINAL
AWAITING_RESPONSE = frozenset({TicketStatus.OPEN, TicketStatus.REOPENED})
NOT_ON_SITE = AWAITING_RESPONSE | {TicketStatus.ACKNOWLEDGED}

STATUS_TEXT: dict[TicketStatus, str] = {
    TicketStatus.OPEN: "待接单",
    TicketStatus.ACKNOWLEDGED: "已接单",
    TicketStatus.ON_SITE: "已到场",
    TicketStatus.RESOLVED: "已完工",
    TicketStatus.CLOSED: "已回访关闭",
    TicketStatus.REOPENED: "返修中",
    TicketStatus.CANCELLED: "已取消",
}

CLASS_TEXT: dict[TicketClass, str] = {
    TicketClass.ENTRAPMENT: "困人",
    TicketClass.ELEVATOR_FAULT: "电梯故障",
    TicketClass.URGENT: "急修",
    TicketClass.GENERAL: "一般维修",
    TicketClass.COMMS: "通讯中断",
    TicketClass.EMERGENCY: "紧急事件",
    TicketClass.NONE: "仅记录",
}


class TicketEvent(StrEnum):
    """The type of a ticket event (machine-readable; ``EVENT_TEXT`` is what people read)."""

    OPENED = "opened"
    ACK = "ack"
    STAFF_ON_SITE = "staff_on_site"
    ON_SITE = "on_site"
    RELEASE = "release"
    RESOLVE = "resolve"
    CALLBACK = "callback"
    CLOSE = "close"
    REOPEN = "reopen"  # by a person
    REOPENED = "reopened"  # by the alert engine: the fault came back
    RECURRED = "recurred"  # the fault came back on a ticket still being worked
    RECOVERED = "recovered"  # the signal recovered; awaiting verification on site
    ESCALATED = "escalated"
    CANCEL = "cancel"


EVENT_TEXT: dict[TicketEvent, str] = {
    TicketEvent.OPENED: "开单",
    TicketEvent.ACK: "接单",
    TicketEvent.STAFF_ON_SITE: "物业人员到场",
    TicketEvent.ON_SITE: "维修人员到场",
    TicketEvent.RELEASE: "被困人员已解救",
    TicketEvent.RESOLVE: "完工",
    TicketEvent.CALLBACK: "回访",
    TicketEvent.CLOSE: "回访确认，关单",
    TicketEvent.REOPEN: "重开",
    TicketEvent.REOPENED: "故障复发，重开",
    TicketEvent.RECURRED: "故障再次出现",
    TicketEvent.RECOVERED: "信号已恢复，待现场确认",
    TicketEvent.ESCALATED: "超时升级",
    TicketEvent.CANCEL: "取消（误报）",
}


class DeadlineKind(StrEnum):
    RESPOND = "respond"
    ON_SITE = "on_site"
    RESOLVE = "resolve"


def deadline_text(kind: DeadlineKind, ticket_class: str) -> str:
    """What a deadline is called on screen: an entrapment's two arrivals have their own names."""
    if ticket_class == TicketClass.ENTRAPMENT:
        return {
            DeadlineKind.RESPOND: "物业人员到场",
            DeadlineKind.ON_SITE: "维修人员到场救援",
            DeadlineKind.RESOLVE: "完工",
        }[kind]
    return {
        DeadlineKind.RESPOND: "接单",
        DeadlineKind.ON_SITE: "到场",
        DeadlineKind.RESOLVE: "完工",
    }[kind]


# escalation ladder: the duty engineer gets the ticket; each level of breach goes one higher
ESCALATION = ("duty_engineer", "supervisor", "manager")
ESCALATION_TEXT = {"duty_engineer": "值班工程师", "supervisor": "工程主管", "manager": "工程经理"}


@dataclass(frozen=True, slots=True)
class Action:
    """A transition a person makes. ``to`` None keeps the status (a time is recorded);
    ``classes`` limits it to some ticket classes (None: every class)."""

    name: TicketEvent
    to: TicketStatus | None
    allowed_from: frozenset[TicketStatus]
    stamp: str | None = None  # the cycle's time this action records
    needs_reason: bool = False
    classes: frozenset[str] | None = None


_S = TicketStatus
_ENTRAPMENT = frozenset({TicketClass.ENTRAPMENT.value})
_WORKING = frozenset({_S.OPEN, _S.REOPENED, _S.ACKNOWLEDGED, _S.ON_SITE})
ACTIONS: dict[str, Action] = {
    a.name.value: a
    for a in (
        Action(TicketEvent.ACK, _S.ACKNOWLEDGED, AWAITING_RESPONSE, "acknowledged_at"),
        Action(
            TicketEvent.STAFF_ON_SITE,
            _S.ACKNOWLEDGED,
            NOT_ON_SITE,
            "staff_on_site_at",
            classes=_ENTRAPMENT,
        ),
        Action(TicketEvent.ON_SITE, _S.ON_SITE, NOT_ON_SITE, "on_site_at"),
        Action(TicketEvent.RELEASE, None, _WORKING, "released_at", classes=_ENTRAPMENT),
        Action(TicketEvent.RESOLVE, _S.RESOLVED, _WORKING, "resolved_at"),
        Action(TicketEvent.CLOSE, _S.CLOSED, frozenset({_S.RESOLVED}), "closed_at"),
        Action(TicketEvent.REOPEN, _S.REOPENED, frozenset({_S.RESOLVED, _S.CLOSED})),
        Action(TicketEvent.CANCEL, _S.CANCELLED, LIVE, needs_reason=True),
    )
}


def allowed_actions(status: TicketStatus, ticket_class: str) -> list[str]:
    """The transitions a person may make on a ticket in this status, in lifecycle order."""
    return [
        name
        for name, a in ACTIONS.items()
        if status in a.allowed_from and (a.classes is None or ticket_class in a.classes)
    ]


@dataclass(frozen=True, slots=True)
class Due:
    respond_by: datetime | None
    on_site_by: datetime | None
    resolve_by: datetime | None


def due_times(start: datetime, deadlines: Deadlines) -> Due:
    def plus(span: timedelta | None) -> datetime | None:
        return None if span is None else start + span

    return Due(plus(deadlines.respond), plus(deadlines.on_site), plus(deadlines.resolve))


@dataclass(frozen=True, slots=True)
class Cycle:
    """One cycle of a ticket: when it started, its deadlines and what was done by when."""

    number: int
    start: datetime
    respond_by: datetime | None = None
    on_site_by: datetime | None = None
    resolve_by: datetime | None = None
    acknowledged_at: datetime | None = None
    staff_on_site_at: datetime | None = None
    on_site_at: datetime | None = None
    released_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    escalation_level: int = 0
    callback_by: datetime | None = None  # one working day after resolving (site calendar)

    def due(self, kind: DeadlineKind) -> datetime | None:
        return {
            DeadlineKind.RESPOND: self.respond_by,
            DeadlineKind.ON_SITE: self.on_site_by,
            DeadlineKind.RESOLVE: self.resolve_by,
        }[kind]


def first_cycle(start: datetime, due: Due) -> Cycle:
    return Cycle(1, start, due.respond_by, due.on_site_by, due.resolve_by)


def reopen(cycle: Cycle, now: datetime, deadlines: Deadlines) -> Cycle:
    """The cycle a reopening starts — the one rule for every reopen path (engine or person):
    fresh deadlines from ``now``, nothing done yet, escalation back to level 0."""
    due = due_times(now, deadlines)
    return Cycle(cycle.number + 1, now, due.respond_by, due.on_site_by, due.resolve_by)


def _first(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


# Which of a cycle's times meets each deadline, earliest first (the one rule; the SQL of the
# KPIs and the tickets list is built from it too). Responding is acknowledging, arriving or
# resolving — except for an entrapment, whose 5 minutes are for property staff to be on
# site: an acknowledgement from the control room frees nobody. Being on site is the
# technician's arrival, or the repair itself when it needed nobody on site.
MET_BY: dict[DeadlineKind, tuple[str, ...]] = {
    DeadlineKind.RESPOND: ("acknowledged_at", "staff_on_site_at", "on_site_at", "resolved_at"),
    DeadlineKind.ON_SITE: ("on_site_at", "resolved_at"),
    DeadlineKind.RESOLVE: ("resolved_at",),
}
MET_BY_ENTRAPMENT: dict[DeadlineKind, tuple[str, ...]] = {
    **MET_BY,
    DeadlineKind.RESPOND: ("staff_on_site_at", "on_site_at", "resolved_at"),
}


def met_by(kind: DeadlineKind, ticket_class: str) -> tuple[str, ...]:
    """The cycle's time fields any of which meets ``kind``'s deadline."""
    table = MET_BY_ENTRAPMENT if ticket_class == TicketClass.ENTRAPMENT else MET_BY
    return table[kind]


def met_at(cycle: Cycle, kind: DeadlineKind, ticket_class: str) -> datetime | None:
    """When the cycle did what ``kind``'s deadline asks, or None (not yet)."""
    return _first(*(getattr(cycle, f) for f in met_by(kind, ticket_class)))


def judge(cycle: Cycle, kind: DeadlineKind, ticket_class: str, now: datetime) -> bool | None:
    """True met, False missed (done late, or not done and past due), None not judged yet
    (no such deadline, or not due and not done)."""
    due = cycle.due(kind)
    if due is None:
        return None
    done = met_at(cycle, kind, ticket_class)
    if done is not None:
        return done <= due
    return False if now > due else None


def missed_now(cycle: Cycle, ticket_class: str, now: datetime) -> list[DeadlineKind]:
    """Deadlines past and still not met (what makes a live ticket overdue)."""
    return [
        kind
        for kind in DeadlineKind
        if (due := cycle.due(kind)) is not None
        and now > due
        and met_at(cycle, kind, ticket_class) is None
    ]


def next_deadline(cycle: Cycle, ticket_class: str) -> tuple[DeadlineKind, datetime] | None:
    """The first deadline still to meet: respond, then on site, then resolve."""
    for kind in DeadlineKind:
        due = cycle.due(kind)
        if due is not None and met_at(cycle, kind, ticket_class) is None:
            return kind, due
    return None


def escalation_levels(
    cycle: Cycle, ticket_class: str, now: datetime
) -> list[tuple[DeadlineKind, int]]:
    """(deadline, level) for every escalation level this cycle has reached: a deadline
    breached goes to level 1 (supervisor); still unmet after as long again, level 2 (manager).
    Measured from the cycle's own start, so a reopened ticket starts again at level 0."""
    out: list[tuple[DeadlineKind, int]] = []
    for kind in missed_now(cycle, ticket_class, now):
        due = cycle.due(kind)
        assert due is not None
        out.append((kind, 1))
        if now > due + (due - cycle.start):
            out.append((kind, 2))
    return out


@dataclass(frozen=True, slots=True)
class TicketPolicy:
    """What a site's tickets follow: its deadlines (``alerts.deadlines``), its time zone and
    its calendar (for the callback's one working day)."""

    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    timezone: str = "Asia/Shanghai"
    calendar: Calendar = field(default_factory=Calendar)

    def deadlines_for(self, ticket_class: str) -> Deadlines:
        return self.alerts.deadlines_for(TicketClass(ticket_class))

    def callback_due(self, resolved_at: datetime) -> datetime:
        return one_working_day_after(resolved_at, ZoneInfo(self.timezone), self.calendar)


@dataclass(frozen=True, slots=True)
class Callback:
    """A callback (回访) of a resolved cycle: who called, when, and what they were told."""

    ticket_id: int
    cycle: int
    by: str
    at: datetime
    satisfied: bool
    remarks: str


@dataclass(frozen=True, slots=True)
class Ticket:
    """A ticket as the records hold it, with its current cycle."""

    id: int
    fingerprint: str
    rule_id: str
    equipment: str
    ticket_class: str
    title: str
    severity: str
    status: TicketStatus
    fault_active: bool
    opened_at: datetime
    cycle: Cycle
    recovered_at: datetime | None = None
    category: str | None = None  # a manual ticket's fault category
    version: int = 1

    @property
    def manual(self) -> bool:
        return self.rule_id == MANUAL_RULE

    @property
    def fault(self) -> str:
        """What "the same fault" means for repeat repairs: the same rule, or for a ticket
        reported by a person the same fault category (its title when it has none)."""
        if self.manual:
            return f"{MANUAL_RULE}:{self.category or self.title}"
        return self.rule_id

    @property
    def live(self) -> bool:
        return self.status not in FINAL

    def overdue(self, now: datetime) -> bool:
        return self.live and bool(missed_now(self.cycle, self.ticket_class, now))

    def allowed(self) -> list[str]:
        return allowed_actions(self.status, self.ticket_class)


MANUAL_RULE = "manual"
