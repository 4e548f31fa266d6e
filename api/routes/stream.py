"""Server-sent events of alerts, incidents, ticket changes and logbook entries (DESIGN §9).

Each event is ``id``/``event``/``data`` (JSON, Chinese intact). A comment line every
``stream_keepalive`` seconds keeps proxies from closing an idle stream, and the subscription
is dropped as soon as the client goes away.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.auth import CurrentUser
from api.context import ContextDep, Subscription

router = APIRouter(tags=["stream"])


def sse(number: int, event: dict[str, Any]) -> str:
    """One event in the text/event-stream format; ``data`` is one line of JSON."""
    data = json.dumps(event, ensure_ascii=False, default=str, separators=(",", ":"))
    return f"id: {number}\nevent: {event.get('type', 'message')}\ndata: {data}\n\n"


async def _events(request: Request, sub: Subscription, keepalive: float) -> AsyncIterator[str]:
    number = 0
    try:
        yield "retry: 1000\n: connected\n\n"
        while True:
            try:
                event = await asyncio.wait_for(sub.get(), timeout=keepalive)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            number += 1
            yield sse(number, event)
    finally:
        sub.close()


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "events"}},
)
async def stream(request: Request, ctx: ContextDep, _user: CurrentUser) -> StreamingResponse:
    """Live events: ``alert``, ``incident``, ``ticket``, ``log`` (numbered per connection)."""
    sub = ctx.events.subscribe()
    return StreamingResponse(
        _events(request, sub, ctx.stream_keepalive),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
