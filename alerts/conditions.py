"""Evaluating a rule's condition over one machine's latest readings and short history.

The answer is three-valued: True, False, or None when the data needed is not good and fresh
(a stale or comm_fault value is never evaluated as if it were current; the comms-loss rule,
a ``stale`` condition, is what reacts to missing data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from itertools import pairwise

from core.readings import Quality, Reading
from core.rules import (
    AllOf,
    AnyOf,
    Clock,
    Code,
    Condition,
    Count,
    Peers,
    Rate,
    Stale,
    State,
    Threshold,
)

Point = tuple[datetime, float]


@dataclass(frozen=True, slots=True)
class MachineView:
    """What the engine knows about one machine at ``now``."""

    latest: Mapping[str, Reading]
    history: Mapping[str, Sequence[Point]] = field(default_factory=dict)  # good values, by ts
    bool_signals: frozenset[str] = frozenset()
    watched_since: datetime | None = None  # when the engine started watching this machine
    max_age: timedelta = timedelta(minutes=2)
    peers: Mapping[str, MachineView] = field(default_factory=dict)  # the rest of its group
    tz: tzinfo = UTC  # the site's zone, for clock conditions


def _fresh_value(view: MachineView, signal: str, now: datetime) -> float | None:
    reading = view.latest.get(signal)
    if reading is None or reading.quality is not Quality.GOOD or reading.value is None:
        return None
    if now - reading.ts > view.max_age:
        return None
    return reading.value


def evaluate(condition: Condition, view: MachineView, now: datetime, active: bool) -> bool | None:
    """Is the condition true now? ``active`` selects the clear threshold of hysteresis."""
    if isinstance(condition, AllOf):
        parts = [evaluate(c, view, now, active) for c in condition.of]
        if any(p is False for p in parts):
            return False
        return None if any(p is None for p in parts) else True
    if isinstance(condition, AnyOf):
        parts = [evaluate(c, view, now, active) for c in condition.of]
        if any(p is True for p in parts):
            return True
        return None if any(p is None for p in parts) else False
    if isinstance(condition, Stale):
        return _stale(condition, view, now)
    if isinstance(condition, Rate):
        return _rate(condition, view, now)
    if isinstance(condition, Count):
        return _count(condition, view, now)
    if isinstance(condition, Clock):
        return _clock(condition, now.astimezone(view.tz).time())
    if isinstance(condition, Peers):
        return _peers(condition, view, now)
    value = _fresh_value(view, condition.signal, now)
    if value is None:
        return None
    if isinstance(condition, State):
        return (value != 0.0) == condition.is_
    if isinstance(condition, Code):
        return value in condition.in_
    return _threshold(condition, value, active)


def _clock(condition: Clock, local: time) -> bool:
    start, end = time.fromisoformat(condition.start), time.fromisoformat(condition.end)
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def _peers(condition: Peers, view: MachineView, now: datetime) -> bool | None:
    parts = [evaluate(condition.where, peer, now, False) for peer in view.peers.values()]
    if condition.match == "all":
        if any(p is False for p in parts):
            return False
        return None if any(p is None for p in parts) else True
    if any(p is True for p in parts):
        return condition.match == "any"
    if any(p is None for p in parts):
        return None  # a peer we cannot see may be the one running
    return condition.match == "none"


def _threshold(condition: Threshold, value: float, active: bool) -> bool:
    if condition.above is not None:
        limit = condition.clear if active and condition.clear is not None else condition.above
        return value > limit
    assert condition.below is not None
    limit = condition.clear if active and condition.clear is not None else condition.below
    return value < limit


def _stale(condition: Stale, view: MachineView, now: datetime) -> bool:
    if condition.signal is not None:
        one = view.latest.get(condition.signal)
        readings = [one] if one is not None else []
    else:
        readings = list(view.latest.values())
    if readings and all(r.quality is not Quality.GOOD for r in readings):
        return True  # the collector has declared the device unreachable or stale
    good = [r.ts for r in readings if r.quality is Quality.GOOD]
    # never claim "no data for `after`" about a time the engine was not watching
    seen = [*good, *([view.watched_since] if view.watched_since is not None else [])]
    if not seen:
        return True
    return now - max(seen) > condition.after


def _window(view: MachineView, signal: str, now: datetime, window: timedelta) -> list[Point]:
    points = view.history.get(signal, ())
    start = now - window
    inside = [p for p in points if start <= p[0] <= now]
    before = [p for p in points if p[0] < start]
    # the last value before the window is the baseline of the first change inside it
    return ([before[-1]] if before else []) + inside


def _rate(condition: Rate, view: MachineView, now: datetime) -> bool | None:
    points = _window(view, condition.signal, now, condition.window)
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        return None
    span = (points[-1][0] - points[0][0]).total_seconds()
    rate = (points[-1][1] - points[0][1]) / span * condition.per.total_seconds()
    if condition.above is not None:
        return rate > condition.above
    assert condition.below is not None
    return rate < condition.below


def _count(condition: Count, view: MachineView, now: datetime) -> bool | None:
    points = _window(view, condition.signal, now, condition.window)
    if not points:
        return None
    if condition.signal in view.bool_signals:
        increase: float = sum(1 for a, b in pairwise(points) if a[1] == 0 < b[1])
    else:
        # a counter: sum the increases, so a reset (drive replaced) does not count negative
        increase = sum((max(0.0, b[1] - a[1]) for a, b in pairwise(points)), 0.0)
    return increase > condition.above
