"""Which time each MQTT reading is stored at, so that a device's clock cannot make a stale
machine look fresh or a fresh one look stale (DESIGN §5, issue 11).

Every store's latest view is the reading with the greatest timestamp. Staleness is judged by
arrival (the collector's monotonic clock), and its marks must reach the latest view, so the
collector keeps, per machine, the times on that machine's own time line:

- a device time within ``max_skew`` of arrival is kept as the measurement's time (it also makes
  a redelivered message land on the same row: writes are idempotent per timestamp);
- a device time further off is not trusted: the reading is stored at its arrival time
  (strictly after the machine's previous one, so two in one millisecond do not collide), and
  the skew is reported (counted, logged, exported per machine). A message delivered late by
  more than ``max_skew`` (queued at the broker while every collector was down) is
  indistinguishable from a device clock that is behind, and is treated the same way;
- a stale or offline mark is stamped "now" on the machine's time line: the newest stored time
  plus the time since it arrived, so it sorts after everything the machine sent, even from a
  clock that runs ahead;
- the first reading after a mark sorts after it, even from a clock that runs behind.

All of this is pure bookkeeping, called from the MQTT thread (readings) and the event loop
(marks), hence the one lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_MAX_SKEW = timedelta(minutes=2)
_TICK = timedelta(milliseconds=1)  # the stores' time resolution


@dataclass(frozen=True, slots=True)
class Stamp:
    """The time a message's readings are stored at, and what was seen of the device clock."""

    ts: datetime
    skew: float | None = None  # device time minus arrival, seconds; None without a device time
    skewed: bool = False  # beyond max_skew: stored at arrival time instead


@dataclass(slots=True)
class _Timeline:
    newest: datetime | None = None  # greatest stored time of this machine's readings
    newest_arrived: datetime | None = None  # when the reading stored at ``newest`` arrived
    mark: datetime | None = None  # a stale/offline mark not yet followed by a reading


class Timekeeper:
    """Per-machine time lines; see the module docstring for the rules."""

    def __init__(self, max_skew: timedelta = DEFAULT_MAX_SKEW) -> None:
        if max_skew <= timedelta(0):
            raise ValueError("max clock skew must be positive")
        self.max_skew = max_skew
        self._max_skew_s = max_skew.total_seconds()
        self._lines: dict[str, _Timeline] = {}
        self._lock = threading.Lock()

    def stamp(self, equipment: str, device_ts: datetime | None, received_at: datetime) -> Stamp:
        """The stored time of readings of ``equipment`` that arrived at ``received_at``."""
        skew: float | None = None
        skewed = False
        if device_ts is None:
            ts = _to_ms(received_at)
        else:
            skew = (device_ts - received_at).total_seconds()
            skewed = abs(skew) > self._max_skew_s
            ts = _to_ms(received_at) if skewed else device_ts
        with self._lock:
            line = self._lines.get(equipment)
            if line is None:
                line = self._lines[equipment] = _Timeline()
            if line.mark is not None:
                if ts <= line.mark:
                    ts = line.mark + _TICK  # a fresh value must not sort before the stale mark
                line.mark = None
            elif (device_ts is None or skewed) and line.newest is not None and ts <= line.newest:
                ts = line.newest + _TICK  # arrival-stamped: never two at one millisecond
            if line.newest is None or ts >= line.newest:
                line.newest, line.newest_arrived = ts, received_at
        return Stamp(ts, skew, skewed)

    def mark(self, equipment: str, now: datetime) -> datetime:
        """The time of a stale or offline mark of ``equipment`` detected at ``now``."""
        with self._lock:
            line = self._lines.get(equipment)
            if line is None:
                line = self._lines[equipment] = _Timeline()
            ts = _to_ms(now)
            if line.newest is not None and line.newest_arrived is not None:
                ts = max(_to_ms(line.newest + (now - line.newest_arrived)), line.newest + _TICK)
            line.mark = line.newest = ts
            line.newest_arrived = now
        return ts


def _to_ms(ts: datetime) -> datetime:
    """Down to the stores' resolution, so that "one tick later" is a different row."""
    return ts.replace(microsecond=ts.microsecond - ts.microsecond % 1000)
