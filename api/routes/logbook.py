"""The equipment logbook (设备运行记录): read, export, add a note, verify the chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.auth import RequireEngineer
from api.context import ApiContext, ContextDep
from api.csvout import CSV_TYPE, csv_stream
from api.errors import bad_request
from api.lookup import display_name, machine_or_404
from api.schemas import LogEntryOut, LogPage, NoteIn, VerifyOut
from api.timeparams import window
from storage import logbook
from storage.logbook_query import (
    UNREADABLE_TS,
    LogQuery,
    StoredEntry,
    UnknownCursor,
    log_event,
    read_entry,
    read_page,
)

router = APIRouter(tags=["logbook"])

LogType = Literal["state", "alert", "ticket", "comms", "note", "silenced"]
CSV_PAGE = 1000  # entries read per step of a CSV export
CSV_HEADER = (
    "seq",
    "time",
    "time_utc",
    "equipment",
    "equipment_name",
    "type",
    "message",
    "actor",
    "data",
    "hash",
    "problem",
)


def entry_out(ctx: ApiContext, stored: StoredEntry) -> LogEntryOut:
    e = stored.entry
    return LogEntryOut(
        seq=stored.seq,
        ts=None if e.ts == UNREADABLE_TS else e.ts,
        equipment=e.equipment,
        equipment_name=display_name(ctx, e.equipment),
        type=e.type,
        message=e.message,
        actor=e.actor,
        data=e.data,
        hash=stored.hash,
        problem=stored.problem,
    )


def csv_row(ctx: ApiContext, stored: StoredEntry, tz: ZoneInfo) -> tuple[object, ...]:
    e = stored.entry
    known = e.ts != UNREADABLE_TS
    return (
        stored.seq,
        e.ts.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if known else "",
        e.ts.isoformat() if known else "",
        e.equipment,
        display_name(ctx, e.equipment),
        e.type,
        e.message,
        e.actor,
        json.dumps(e.data, ensure_ascii=False, sort_keys=True) if e.data else "",
        stored.hash,
        stored.problem or "",
    )


@router.get(
    "/equipment/{equipment_id}/log",
    response_model=LogPage,
    responses={200: {"content": {CSV_TYPE: {}}, "description": "JSON page, or CSV export"}},
)
def get_log(
    equipment_id: str,
    ctx: ContextDep,
    start: datetime | None = None,
    end: datetime | None = None,
    type: Annotated[list[LogType] | None, Query(description="repeat to combine")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[int | None, Query(ge=1, le=2**62, description="next_cursor")] = None,
    order: Literal["asc", "desc"] = "asc",
    format: Literal["json", "csv"] = "json",
) -> LogPage | Response:
    """The machine's logbook, time-ordered; CSV exports every matching entry (UTF-8, BOM)."""
    eq = machine_or_404(ctx, equipment_id)
    lo, hi = window(start, end, ZoneInfo(ctx.site.site.timezone))
    query = LogQuery(eq.id, lo, hi, tuple(type or ()), descending=order == "desc")
    if format == "csv":
        return _csv_export(ctx, eq.id, query)
    with ctx.records.engine.connect() as conn:
        try:
            page = read_page(conn, query, limit + 1, cursor)
        except UnknownCursor as err:
            raise bad_request(f"cursor: {err}") from None
    more = len(page) > limit
    entries = [entry_out(ctx, s) for s in page[:limit]]
    return LogPage(equipment=eq.id, entries=entries, next_cursor=entries[-1].seq if more else None)


def _csv_export(ctx: ApiContext, equipment: str, query: LogQuery) -> Response:
    """Every matching entry, streamed a page at a time (one short read each)."""
    tz = ZoneInfo(ctx.site.site.timezone)

    def pages() -> Iterator[list[tuple[object, ...]]]:
        after: int | None = None
        while True:
            with ctx.records.engine.connect() as conn:
                page = read_page(conn, query, CSV_PAGE, after)
            yield [csv_row(ctx, s, tz) for s in page]
            if len(page) < CSV_PAGE:
                return
            after = page[-1].seq

    return csv_stream(f"{equipment}-logbook.csv", CSV_HEADER, pages())


@router.post("/equipment/{equipment_id}/log", response_model=LogEntryOut, status_code=201)
def add_note(
    equipment_id: str, note: NoteIn, ctx: ContextDep, user: RequireEngineer
) -> LogEntryOut:
    """An engineer's note in the machine's logbook (e.g. 更换机械密封); it can never be edited."""
    eq = machine_or_404(ctx, equipment_id)
    entry = logbook.LogEntry(ctx.clock.now(), eq.id, "note", note.message, user.actor)
    with ctx.records.engine.begin() as conn:
        stored = read_entry(conn, logbook.append(conn, entry))
    ctx.events.publish(log_event(stored, eq.name))
    return entry_out(ctx, stored)


@router.get("/logbook/verify", response_model=VerifyOut)
def verify_logbook(ctx: ContextDep) -> VerifyOut:
    """Recompute the hash chain: ``ok`` is false when any entry was altered or removed."""
    with ctx.records.engine.connect() as conn:
        report = logbook.verify(conn)
    return VerifyOut(
        ok=report.ok,
        checked=report.checked,
        problems=report.problems,
        keyed=report.keyed,
        unkeyed=report.unkeyed,
    )
