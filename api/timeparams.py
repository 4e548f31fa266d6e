"""Time parameters from the query string: aware, in range, and a clear 422 otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from api.errors import bad_request

# far enough for any plant record, and far from datetime's limits, so arithmetic never overflows
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def utc(ts: datetime, name: str, zone: tzinfo = UTC) -> datetime:
    """``ts`` in UTC, or 422 when out of range. A time without offset is read in ``zone``,
    the site's time zone where a person types it (``start=2026-03-01`` is local midnight)."""
    try:
        local = ts if ts.tzinfo is not None else ts.replace(tzinfo=zone)
        aware = local.astimezone(UTC)
    except OverflowError:
        aware = LATEST if ts.year > 2000 else EARLIEST
    if not EARLIEST <= aware <= LATEST:
        raise bad_request(f"{name}: {ts.isoformat()} is outside {EARLIEST.year}..{LATEST.year}")
    return aware


def window(
    start: datetime | None, end: datetime | None, zone: tzinfo = UTC
) -> tuple[datetime | None, datetime | None]:
    """Optional start and end, checked and in UTC (without offset: in ``zone``); start must
    come before end."""
    lo = utc(start, "start", zone) if start is not None else None
    hi = utc(end, "end", zone) if end is not None else None
    if lo is not None and hi is not None and lo >= hi:
        raise bad_request(f"start ({lo.isoformat()}) must be before end ({hi.isoformat()})")
    return lo, hi
