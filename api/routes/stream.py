"""Server-sent events of alerts, incidents, ticket changes and logbook entries (DESIGN §9).

Each event is ``id``/``event``/``data`` (JSON, Chinese intact). A comment line every
``stream_keepalive`` seconds keeps proxies from closing an idle stream, and the subscription
is dropped as soon as the client goes away.

Ids are ``<epoch>-<number>`` of the process's event bus. A client that reconnects with the
last id it saw (the standard ``Last-Event-ID`` header, as EventSource sends it, or
``?last_event_id=``) gets what it missed first. When that cannot be done exactly (the id is
from an earlier run of the API, too old for the bus's history, or the client fell so far
behind that events were dropped) it gets a ``resync`` event: reload the state, then carry on.

The key is checked again every few seconds: once it is revoked, the stream sends a
``revoked`` event and ends (DESIGN §9), and the client's reconnection gets a 401.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.auth import CurrentUser, Principal
from api.context import ApiContext, ContextDep, EventFeed, Subscription
from storage.api_keys import is_active

router = APIRouter(tags=["stream"])


def sse(event_id: str, event: dict[str, Any]) -> str:
    """One event in the text/event-stream format; ``data`` is one line of JSON."""
    data = json.dumps(event, ensure_ascii=False, default=str, separators=(",", ":"))
    return f"id: {event_id}\nevent: {event.get('type', 'message')}\ndata: {data}\n\n"


def resync(reason: str) -> str:
    data = json.dumps({"type": "resync", "reason": reason}, ensure_ascii=False)
    return f"event: resync\ndata: {data}\n\n"


def _resume_point(feed: EventFeed, last_id: str | None) -> tuple[int | None, str | None]:
    """(number to resume after, or None; why resuming exactly is impossible, or None)."""
    if not last_id:
        return None, None
    epoch, _, number = last_id.strip().rpartition("-")
    if epoch != feed.epoch or not number.isdigit():
        return None, f"event id {last_id[:40]!r} is not from this run of the API"
    return int(number), None


def revoked() -> str:
    data = json.dumps({"type": "revoked", "reason": "the API key was revoked"})
    return f"event: revoked\ndata: {data}\n\n"


async def _events(
    request: Request,
    ctx: ApiContext,
    sub: Subscription,
    allowed: Callable[[], Awaitable[bool]],
    problem: str | None,
) -> AsyncIterator[str]:
    """The stream; it ends when the client goes or its key stops being valid (checked every
    ``ctx.stream_key_recheck`` seconds, however busy the stream is)."""
    loop = asyncio.get_running_loop()
    dropped = 0
    keepalive, recheck = ctx.stream_keepalive, ctx.stream_key_recheck
    try:
        yield "retry: 1000\n: connected\n\n"
        if problem is None and sub.gap:
            problem = "the events after that id are no longer kept"
        if problem is not None:
            yield resync(problem)
        sent = checked = loop.time()
        while True:
            now = loop.time()
            if now >= checked + recheck:
                if not await allowed():
                    yield revoked()
                    return
                checked = now
            if now >= sent + keepalive:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                sent = now
            wait = min(sent + keepalive, checked + recheck) - loop.time()
            try:
                number, event = await asyncio.wait_for(sub.get(), timeout=max(wait, 0.01))
            except TimeoutError:
                continue
            if sub.dropped > dropped:
                yield resync(f"{sub.dropped - dropped} events dropped: the client fell behind")
                dropped = sub.dropped
            yield sse(f"{ctx.events.epoch}-{number}", event)
            sent = loop.time()
    finally:
        sub.close()


def _key_check(ctx: ApiContext, user: Principal) -> Callable[[], Awaitable[bool]]:
    """Whether the stream's key is still valid; the demo's keyless local reader always is.

    A records DB that cannot answer keeps the stream (the check is repeated shortly): a
    database restart should not cut every monitoring screen."""

    def active() -> bool:
        assert user.key_id is not None
        try:
            with ctx.records.engine.connect() as conn:
                return is_active(conn, user.key_id)
        except SQLAlchemyError:
            return True

    async def allowed() -> bool:
        return user.key_id is None or await run_in_threadpool(active)

    return allowed


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "events"}},
)
async def stream(
    request: Request,
    ctx: ContextDep,
    user: CurrentUser,
    last_event_id: Annotated[str | None, Query(max_length=80)] = None,
    last_event_id_header: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=80)
    ] = None,
) -> StreamingResponse:
    """Live events: ``alert``, ``incident``, ``ticket``, ``log``; ``resync`` when the client
    must reload. Resumes after ``Last-Event-ID`` (header) or ``last_event_id`` (query)."""
    after, problem = _resume_point(ctx.events, last_event_id_header or last_event_id)
    sub = ctx.events.subscribe(after)
    return StreamingResponse(
        _events(request, ctx, sub, _key_check(ctx, user), problem),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
