"""Time parameters from the query string: aware, in range, and a clear 422 otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

from api.errors import bad_request

# far enough for any plant record, and far from datetime's limits, so arithmetic never overflows
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def utc(ts: datetime, name: str) -> datetime:
    """``ts`` in UTC (a time without offset is taken as UTC), or 422 when out of range."""
    try:
        aware = ts.astimezone(UTC) if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    except OverflowError:
        aware = LATEST if ts.year > 2000 else EARLIEST
    if not EARLIEST <= aware <= LATEST:
        raise bad_request(f"{name}: {ts.isoformat()} is outside {EARLIEST.year}..{LATEST.year}")
    return aware


def window(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    """Optional start and end, checked and in UTC; start must come before end."""
    lo = utc(start, "start") if start is not None else None
    hi = utc(end, "end") if end is not None else None
    if lo is not None and hi is not None and lo >= hi:
        raise bad_request(f"start ({lo.isoformat()}) must be before end ({hi.isoformat()})")
    return lo, hi
