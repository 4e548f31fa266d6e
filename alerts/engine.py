"""The alert state machine per (rule, subject): a pure function of (state, inputs, now).

``inactive → pending → firing → resolved``; the fingerprint of rule and subject is the
identity, so evaluating twice with the same inputs changes nothing. Pending alerts never page.
A condition that changes more than N times within the flapping window becomes one firing
``flapping`` alert held until the condition has been steady for a whole window, so a chattering
float switch makes one ticket, not a storm.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from core.rules import Flapping


class Status(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class Change(StrEnum):
    PENDING = "pending"
    CANCELLED = "cancelled"  # pending, then the condition went away before ``for``
    FIRING = "firing"
    PAGED = "paged"  # firing while suppressed, and the suppression ended
    FLAPPING = "flapping"
    RESOLVED = "resolved"


def fingerprint(rule_id: str, subject: str) -> str:
    return hashlib.sha256(f"{rule_id}\x00{subject}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class AlertState:
    fingerprint: str
    rule_id: str
    subject: str  # an equipment id, ``gateway:HOST:PORT`` or ``site:ID``
    status: Status = Status.INACTIVE
    episode: int = 0
    pending_since: datetime | None = None
    firing_since: datetime | None = None
    resolved_at: datetime | None = None
    condition: bool | None = None
    flips: tuple[datetime, ...] = ()
    flapping: bool = False
    paged: bool = False
    suppressed: bool = False
    version: int = 0  # the records DB's compare-and-set counter; the engine never changes it

    @classmethod
    def new(cls, rule_id: str, subject: str) -> AlertState:
        return cls(fingerprint(rule_id, subject), rule_id, subject)

    @property
    def active(self) -> bool:
        return self.status in (Status.PENDING, Status.FIRING)


_DEFAULT_FLAPPING = Flapping()


@dataclass(frozen=True, slots=True)
class Inputs:
    condition: bool | None  # None: the data is not good and fresh, hold the current state
    hold_for: timedelta = timedelta(0)
    suppressed: bool = False
    flapping: Flapping = _DEFAULT_FLAPPING
    # when the readings the condition was judged on were taken: an alert's time is its
    # cause's time, not the moment the engine got round to it (None: no reading, use now)
    observed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    change: Change
    at: datetime
    state: AlertState  # the state after the change

    @property
    def pages(self) -> bool:
        """Does this change notify someone (open a ticket, send a webhook)?"""
        return self.change in (Change.FIRING, Change.PAGED) and not self.state.suppressed


def evaluate(
    state: AlertState, inputs: Inputs, now: datetime
) -> tuple[AlertState, list[Transition]]:
    """The next state and the transitions that led to it."""
    window_start = now - inputs.flapping.window
    flips = tuple(t for t in state.flips if t > window_start)
    if (
        inputs.condition is not None
        and state.condition is not None
        and inputs.condition != state.condition
    ):
        flips += (now,)
    condition = state.condition if inputs.condition is None else inputs.condition
    state = replace(state, flips=flips, condition=condition, suppressed=inputs.suppressed)
    out: list[Transition] = []

    if not state.flapping and len(flips) > inputs.flapping.changes:
        state = replace(state, flapping=True)
        if state.status is not Status.FIRING:
            state = _fire(state, now)
            out.append(Transition(Change.FLAPPING, now, state))
            out.append(Transition(Change.FIRING, now, state))
        else:
            out.append(Transition(Change.FLAPPING, now, state))
        return state, out
    if state.flapping:
        if flips:
            return _maybe_page(state, now, out)
        state = replace(state, flapping=False)  # steady for a whole window: judge it normally

    # the cause's time; the engine may see a reading stamped a moment ahead of its own clock
    at = inputs.observed_at or now
    latest = max(now, at)
    if inputs.condition is True:
        if state.status in (Status.INACTIVE, Status.RESOLVED):
            state = replace(state, status=Status.PENDING, pending_since=at)
            if inputs.hold_for > timedelta(0):
                out.append(Transition(Change.PENDING, at, state))
        if state.status is Status.PENDING:
            assert state.pending_since is not None
            if latest - state.pending_since >= inputs.hold_for:
                # it fired when the condition had held for hold_for, which may be before now
                fired = state.pending_since + inputs.hold_for if inputs.hold_for else at
                state = _fire(state, fired)
                out.append(Transition(Change.FIRING, fired, state))
            return state, out
        return _maybe_page(state, now, out)
    if inputs.condition is False:
        if state.status is Status.PENDING:
            state = replace(state, status=Status.INACTIVE, pending_since=None)
            out.append(Transition(Change.CANCELLED, at, state))
        elif state.status is Status.FIRING:
            state = replace(state, status=Status.RESOLVED, resolved_at=at)
            out.append(Transition(Change.RESOLVED, at, state))
        return state, out
    if state.status is Status.FIRING:
        return _maybe_page(state, now, out)
    return state, out


def _fire(state: AlertState, now: datetime) -> AlertState:
    return replace(
        state,
        status=Status.FIRING,
        episode=state.episode + 1,
        pending_since=state.pending_since or now,
        firing_since=now,
        resolved_at=None,
        paged=not state.suppressed,
    )


def _maybe_page(
    state: AlertState, now: datetime, out: list[Transition]
) -> tuple[AlertState, list[Transition]]:
    """A firing alert recorded under suppression pages once the suppression ends."""
    if state.status is Status.FIRING and not state.paged and not state.suppressed:
        state = replace(state, paged=True)
        out.append(Transition(Change.PAGED, now, state))
    return state, out
