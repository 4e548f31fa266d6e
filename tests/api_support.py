"""Helpers for API tests: the real app on a real records DB, and keys of each role."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from api import ApiContext, create_app
from storage import RecordsDB
from storage.api_keys import Role, create_key

LOOPBACK = ("127.0.0.1", 50000)
REMOTE = ("192.0.2.10", 50000)  # TEST-NET-1: never loopback


def new_key(records: RecordsDB, role: Role, name: str | None = None) -> str:
    with records.engine.begin() as conn:
        _key, clear = create_key(conn, role, name or f"test {role}", datetime.now(UTC))
    return clear


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def client_for(
    context: ApiContext, *, open_reads: bool = False, peer: tuple[str, int] = REMOTE
) -> httpx.AsyncClient:
    """The real app in-process (ASGI), as seen from ``peer``."""
    app = create_app(context, open_reads=open_reads)
    transport = httpx.ASGITransport(app=app, client=peer)
    return httpx.AsyncClient(transport=transport, base_url="http://plantroom.test")
