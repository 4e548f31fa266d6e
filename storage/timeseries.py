"""The time-series seam: every backend (SQLite, InfluxDB) offers these few methods."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from core.readings import Reading


@dataclass(frozen=True, slots=True)
class Bucket:
    """Good values of one signal within [start, start + every), summarised."""

    start: datetime
    count: int
    mean: float
    min: float
    max: float
    last: float


@dataclass(frozen=True, slots=True)
class SeriesTags:
    """Where a machine sits: the tags of DESIGN §7 (measurement = kind)."""

    site: str
    building: str
    kind: str


class StoreError(Exception):
    """The store could not do what was asked; the message says which store and why."""


class TimeSeriesStore(Protocol):
    def write(self, readings: Sequence[Reading]) -> None:
        """Store a batch; writing the same (equipment, signal, ts) again replaces it."""

    def latest(self, equipment: Iterable[str]) -> dict[tuple[str, str], Reading]:
        """The newest reading of every signal of these machines."""

    def history(
        self,
        equipment: str,
        signal: str,
        start: datetime,
        end: datetime,
        every: timedelta | None = None,
        limit: int | None = None,
    ) -> list[Reading] | list[Bucket]:
        """Raw readings in [start, end), or good values summarised per ``every`` bucket.

        Raw readings come oldest first; ``limit`` returns only the first ``limit`` of them,
        counted in the backend's query, so a page of a long range never loads the range.
        Paging is by time: the next page starts at the time of the first reading not
        returned (a series holds one reading per millisecond). ``limit`` does not apply to
        buckets, whose number the caller bounds through ``every``.
        """

    def close(self) -> None: ...


__all__ = ["Bucket", "SeriesTags", "StoreError", "TimeSeriesStore"]
