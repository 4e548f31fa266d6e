"""The body guard: who may send a body is known before a byte of it is read (DESIGN §9).

FastAPI reads and parses a request's body before it runs the dependencies that check the
key, so without this an anonymous client could make the process hold a body of any size
(a 300 MB POST grew it by some 600 MB before its 422). This ASGI middleware stands in front:

- a request that carries a body (``Content-Length`` above 0, or ``Transfer-Encoding``) needs
  a valid, unrevoked key, checked from the headers alone: 401 without one;
- a declared length above the cap is a 413 at once; a body sent without a length is read up
  to the cap and refused with 413 past it; at most the cap is ever held;
- the body that passes is handed to the app as it was received.

Roles are still checked by the routes; the guard only decides whether a body is read at all.
Refusals close the connection, since the unread body makes it unusable.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import ApiContext
from core.logs import event
from storage.api_keys import authenticate

log = logging.getLogger("plantroom.api")


def _key(headers: Headers) -> str | None:
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return headers.get("x-api-key") or None


class BodyGuard:
    """ASGI middleware: key first, then at most ``context.max_body`` bytes of body."""

    def __init__(self, app: ASGIApp, context: ApiContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        streamed = "transfer-encoding" in headers
        if not streamed and declared in (None, "0"):
            await self.app(scope, receive, send)
            return
        refusal = await self._refusal(headers, declared)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nothing to answer
            body += message.get("body", b"")
            if len(body) > self.context.max_body:
                await _answer(send, 413, self._too_large())
                return
            more = message.get("more_body", False)
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refusal(self, headers: Headers, declared: str | None) -> tuple[int, str] | None:
        clear = _key(headers)
        if clear is None:
            return 401, "an API key is needed to send a request body"
        try:
            known = await run_in_threadpool(self._known, clear)
        except DBAPIError as err:
            event(
                log, "request failed", logging.WARNING, what="records-db", error=type(err).__name__
            )
            return 503, "records database unavailable: cannot check the API key"
        if not known:
            return 401, "invalid or revoked API key"
        if declared is not None and not declared.isdigit():
            return 400, "invalid Content-Length"
        if declared is not None and int(declared) > self.context.max_body:
            return 413, self._too_large()
        return None

    def _known(self, clear: str) -> bool:
        with self.context.records.engine.connect() as conn:
            return authenticate(conn, clear) is not None

    def _too_large(self) -> str:
        return f"request body larger than {self.context.max_body} bytes"


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would

    return replay
