"""The maintenance ticket lifecycle (DESIGN §8), as data: statuses and who may move them where.

``open → acknowledged (接单) → on_site (到场) → resolved (完工) → closed (回访确认)``, plus
``reopened`` and ``cancelled`` (false alarm, with a reason). Whether the fault itself is still
present is a separate fact on the ticket (``fault_active``): recovery of the signal marks the
ticket "recovered, awaiting verification"; only people resolve and close tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.rules import Deadlines


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


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    to: TicketStatus
    allowed_from: frozenset[TicketStatus]
    needs_reason: bool = False


_S = TicketStatus
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("ack", _S.ACKNOWLEDGED, frozenset({_S.OPEN, _S.REOPENED})),
        Action("on_site", _S.ON_SITE, frozenset({_S.OPEN, _S.REOPENED, _S.ACKNOWLEDGED})),
        Action(
            "resolve",
            _S.RESOLVED,
            frozenset({_S.OPEN, _S.REOPENED, _S.ACKNOWLEDGED, _S.ON_SITE}),
        ),
        Action("close", _S.CLOSED, frozenset({_S.RESOLVED})),
        Action("reopen", _S.REOPENED, frozenset({_S.RESOLVED, _S.CLOSED})),
        Action("cancel", _S.CANCELLED, LIVE, needs_reason=True),
    )
}


@dataclass(frozen=True, slots=True)
class Due:
    respond_by: datetime | None
    on_site_by: datetime | None
    resolve_by: datetime | None


def due_times(start: datetime, deadlines: Deadlines) -> Due:
    def plus(span: timedelta | None) -> datetime | None:
        return None if span is None else start + span

    return Due(plus(deadlines.respond), plus(deadlines.on_site), plus(deadlines.resolve))


# escalation ladder: the duty engineer gets the ticket; each level of breach goes one higher
ESCALATION = ("duty_engineer", "supervisor", "manager")
