"""A machine's history of one signal: raw readings in pages, buckets, or a streamed CSV export.

Raw readings are never loaded whole (DESIGN §9: every range is bounded). A JSON answer holds at
most ``limit`` readings, counted by the store's own query; when more remain it says so
(``truncated``), links the next page and suggests an ``every=`` that fits the whole range in
one answer. A CSV export streams the range page by page, so its size costs time, not memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.context import ApiContext, ContextDep
from api.csvout import CSV_TYPE, csv_stream
from api.errors import bad_request, not_found
from api.lookup import machine_or_404
from api.schemas import BucketOut, Point, ReadingsOut
from api.timeparams import utc
from core.catalogue import SignalSpec
from core.readings import Reading
from core.site import parse_duration
from storage.timeseries import Bucket

router = APIRouter(tags=["equipment"])

MAX_POINTS = 10_000  # raw readings per JSON page, and buckets per answer
CSV_PAGE = 5_000  # raw readings fetched per step of a CSV export
DEFAULT_SPAN = timedelta(hours=1)
# the widths suggested to a client whose raw range does not fit one page
_SUGGESTED = (
    ("1s", 1),
    ("10s", 10),
    ("1m", 60),
    ("5m", 300),
    ("15m", 900),
    ("1h", 3600),
    ("6h", 6 * 3600),
    ("1d", 86400),
    ("7d", 7 * 86400),
    ("30d", 30 * 86400),
    ("365d", 365 * 86400),
)


def suggested_every(start: datetime, end: datetime) -> str:
    """The narrowest usual ``every=`` that summarises [start, end) in at most MAX_POINTS."""
    span = (end - start).total_seconds()
    for name, seconds in _SUGGESTED:
        if span / seconds <= MAX_POINTS:
            return name
    return _SUGGESTED[-1][0]


def _width(every: str | None, start: datetime, end: datetime) -> timedelta | None:
    if every is None:
        return None
    try:
        parsed = parse_duration(every)
    except ValueError as err:
        raise bad_request(f"every: {err}") from None
    if not isinstance(parsed, timedelta) or parsed.total_seconds() < 1:
        raise bad_request("every: must be at least 1s")
    if (end - start) / parsed > MAX_POINTS:
        raise bad_request(
            f"every: {every} gives more than {MAX_POINTS} buckets; widen it "
            f"(e.g. every={suggested_every(start, end)})"
        )
    return parsed


def _raw_page(
    ctx: ApiContext, out: ReadingsOut, spec: SignalSpec, limit: int, request: Request
) -> None:
    rows = ctx.store.history(out.equipment, out.signal, out.start, out.end, limit=limit + 1)
    readings = [r for r in rows if isinstance(r, Reading)]
    out.points = [
        Point(ts=r.ts, value=spec.present(r.value), quality=r.quality.value)
        for r in readings[:limit]
    ]
    if len(readings) > limit:
        # the cursor is the time of the first reading left out: a series holds one per ms
        after = readings[limit].ts
        out.truncated = True
        out.next_start = after
        query = request.url.include_query_params(
            start=after.isoformat(), end=out.end.isoformat(), limit=limit
        ).query
        out.next = f"{request.url.path}?{query}"
        out.hint = (
            f"more than {limit} raw readings in this range: follow `next` for the next page, "
            f"or ask for every={suggested_every(out.start, out.end)} to summarise it in one answer"
        )


@router.get(
    "/equipment/{equipment_id}/readings",
    response_model=ReadingsOut,
    responses={200: {"content": {CSV_TYPE: {}}, "description": "JSON page, or CSV export"}},
)
def get_readings(
    equipment_id: str,
    ctx: ContextDep,
    request: Request,
    signal: Annotated[str, Query(min_length=1, max_length=64)],
    start: datetime | None = None,
    end: datetime | None = None,
    every: Annotated[
        str | None, Query(max_length=32, description="bucket width: 30s, 5m, 1h")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_POINTS, description="raw readings per page")
    ] = MAX_POINTS,
    format: Literal["json", "csv"] = "json",
) -> ReadingsOut | Response:
    """One signal's readings in [start, end) (default: the last hour), oldest first.

    Raw readings come in pages of ``limit``; ``truncated`` and ``next`` say when more remain.
    ``every`` summarises good values per bucket instead. ``format=csv`` streams the whole range.
    """
    eq = machine_or_404(ctx, equipment_id)
    spec = ctx.catalogue.kind(eq.kind).signals.get(signal)
    if spec is None:
        raise not_found(f"equipment '{eq.id}' ({eq.kind}) has no signal '{signal}'")
    zone = ZoneInfo(ctx.site.site.timezone)  # a time without offset is the site's local time
    hi = utc(end, "end", zone) if end is not None else ctx.clock.now()
    lo = utc(start, "start", zone) if start is not None else hi - DEFAULT_SPAN
    if lo >= hi:
        raise bad_request(f"start ({lo.isoformat()}) must be before end ({hi.isoformat()})")
    width = _width(every, lo, hi)
    if format == "csv":
        return _csv_export(ctx, eq.id, signal, spec, lo, hi, width)
    out = ReadingsOut(
        equipment=eq.id,
        signal=signal,
        unit=spec.unit,
        start=lo,
        end=hi,
        every_seconds=width.total_seconds() if width else None,
    )
    if width is None:
        _raw_page(ctx, out, spec, limit, request)
    else:
        r = spec.rounded  # to the signal's precision, as people read it
        out.buckets = [
            BucketOut(
                ts=b.start,
                count=b.count,
                mean=r(b.mean),
                min=r(b.min),
                max=r(b.max),
                last=r(b.last),
            )
            for b in ctx.store.history(eq.id, signal, lo, hi, width)
            if isinstance(b, Bucket)
        ]
    return out


RAW_HEADER = ("time", "time_utc", "value", "quality", "reason")
BUCKET_HEADER = ("time", "time_utc", "count", "mean", "min", "max", "last")


def _csv_export(
    ctx: ApiContext,
    equipment: str,
    signal: str,
    spec: SignalSpec,
    start: datetime,
    end: datetime,
    width: timedelta | None,
) -> Response:
    tz = ZoneInfo(ctx.site.site.timezone)

    def local(ts: datetime) -> str:
        return ts.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    def raw_pages() -> Iterator[list[tuple[object, ...]]]:
        after = start
        while True:
            rows = ctx.store.history(equipment, signal, after, end, limit=CSV_PAGE + 1)
            readings = [r for r in rows if isinstance(r, Reading)]
            yield [
                (local(r.ts), r.ts.isoformat(), spec.present(r.value), r.quality.value, r.reason)
                for r in readings[:CSV_PAGE]
            ]
            if len(readings) <= CSV_PAGE:
                return
            after = readings[CSV_PAGE].ts

    def bucket_pages() -> Iterator[list[tuple[object, ...]]]:
        assert width is not None
        r = spec.rounded
        yield [
            (local(b.start), b.start.isoformat(), b.count, r(b.mean), r(b.min), r(b.max), r(b.last))
            for b in ctx.store.history(equipment, signal, start, end, width)
            if isinstance(b, Bucket)
        ]

    name = f"{equipment}-{signal}.csv"
    if width is None:
        return csv_stream(name, RAW_HEADER, raw_pages())
    return csv_stream(name, BUCKET_HEADER, bucket_pages())
