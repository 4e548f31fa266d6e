"""Readings: one value of one signal of one machine at one time, with its quality (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class Quality(StrEnum):
    GOOD = "good"
    STALE = "stale"  # no fresh value within the source's timeout
    COMM_FAULT = "comm_fault"  # the device or its gateway could not be reached
    INVALID = "invalid"  # the value failed decoding or a range check


@dataclass(slots=True)
class Reading:
    """A stored value. ``value`` is None only when the quality says there is no value.

    Treat it as immutable. It is not ``frozen`` because a frozen dataclass costs four times
    as much to build, and collectors build one per value at tens of thousands per second.
    """

    equipment: str
    signal: str
    ts: datetime
    value: float | None
    quality: Quality = Quality.GOOD
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError("Reading.ts must be timezone-aware")
        if self.value is None and self.quality is Quality.GOOD:
            raise ValueError(f"{self.equipment}.{self.signal}: a good reading needs a value")


def utc_from_ms(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC)


def ms_from_utc(ts: datetime) -> int:
    return round(ts.timestamp() * 1000)
