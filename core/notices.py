"""The notice: what the webhook receives and the live stream (``GET /stream``) sends when an
alert, a ticket or an incident changes — one typed contract for both.

Every notice is a JSON object with ``type`` (``alert``, ``ticket`` or ``incident``) and
``event`` (what happened); the other fields are those of its class below. Fields that do not
apply to an event are left out, never sent as null. Times are ISO 8601 in UTC. ``text`` is the
Chinese wording shown to people; every other value is machine-readable English.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar


def _event(kind: str, notice: object) -> dict[str, Any]:
    fields = {k: v for k, v in asdict(notice).items() if v is not None}  # type: ignore[call-overload]
    return {"type": kind, **fields}


@dataclass(frozen=True, slots=True)
class TicketNotice:
    """A ticket event (``event`` is a ``core.tickets.TicketEvent`` value)."""

    type: ClassVar[str] = "ticket"
    event: str
    event_id: int
    ticket_id: int
    equipment: str
    ticket_class: str
    title: str
    status: str  # the ticket's status after the event
    cycle: int
    actor: str
    at: str
    message: str  # Chinese, as in the logbook
    text: str  # the event's Chinese name (接单, 到场 …)
    reason: str | None = None  # cancel, reopen, close with an unsatisfied callback
    episode: int | None = None  # the alert episode that opened or reopened it
    notify: str | None = None  # who is paged: duty_engineer, supervisor, manager
    deadline: str | None = None  # escalated: respond, on_site, resolve
    level: int | None = None  # escalated: 1 supervisor, 2 manager
    respond_by: str | None = None  # opened / reopened: the cycle's deadlines
    on_site_by: str | None = None
    resolve_by: str | None = None
    satisfied: bool | None = None  # callback
    source: str | None = None  # opened by a person: "manual"
    description: str | None = None
    flapping: bool | None = None

    def as_event(self) -> dict[str, Any]:
        return _event(self.type, self)


@dataclass(frozen=True, slots=True)
class AlertNotice:
    """An alert changed (``event``: pending, cancelled, firing, paged, flapping, resolved,
    acknowledged)."""

    type: ClassVar[str] = "alert"
    event: str
    fingerprint: str
    rule_id: str
    equipment: str  # the alert's subject: a machine id, ``gateway:…`` or ``site:…``
    title: str
    status: str
    episode: int
    at: str
    severity: str | None = None
    ticket_class: str | None = None
    suppressed: bool | None = None
    flapping: bool | None = None
    actor: str | None = None

    def as_event(self) -> dict[str, Any]:
        return _event(self.type, self)


@dataclass(frozen=True, slots=True)
class IncidentNotice:
    """An emergency incident (a fire alarm) ``started`` or ``ended``."""

    type: ClassVar[str] = "incident"
    event: str
    equipment: str
    rule_id: str
    title: str
    episode: int
    at: str
    severity: str | None = None

    def as_event(self) -> dict[str, Any]:
        return _event(self.type, self)


Notice = TicketNotice | AlertNotice | IncidentNotice
