"""GET /stream over a real HTTP server: events in order, keep-alives, and a clean disconnect."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest

from api import ApiContext
from api.feed import LogbookFeed
from core.events import EventBus, Subscription
from core.site import Site
from plantroom.processes import api_task
from storage import RecordsDB, SqliteTimeSeriesStore, logbook
from storage.api_keys import Role
from tests.api_support import auth, new_key
from tests.servers.ports import free_port


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


class CountingBus(EventBus):
    """The real bus, counting open subscriptions so the test sees a disconnect land."""

    def __init__(self) -> None:
        super().__init__()
        self.subscribers = 0

    def subscribe(self) -> Subscription:
        sub = super().subscribe()
        self.subscribers += 1
        close = sub.close

        def closing() -> None:
            self.subscribers -= 1
            close()

        sub.close = closing  # type: ignore[method-assign]
        return sub


@pytest.fixture
async def served(
    site: Site, ts_store: SqliteTimeSeriesStore, records: RecordsDB
) -> AsyncIterator[tuple[str, CountingBus, dict[str, str]]]:
    bus = CountingBus()
    context = ApiContext(site, ts_store, records, events=bus, stream_keepalive=0.2)
    port = free_port()
    stop = asyncio.Event()
    server = asyncio.ensure_future(api_task(context, "127.0.0.1", port)(stop))
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(f"{base}/api/v1/health")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.02)
    yield base, bus, auth(new_key(records, Role.VIEWER))
    stop.set()
    await asyncio.wait_for(server, 10)


async def test_events_keepalives_and_disconnect(
    served: tuple[str, EventBus, dict[str, str]],
) -> None:
    base, bus, viewer = served
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.get(f"{base}/api/v1/stream")).status_code == 401
        async with client.stream("GET", f"{base}/api/v1/stream", headers=viewer) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            assert await anext(lines) == "retry: 1000"
            await _until(lambda: bus.subscribers == 1)
            bus.publish({"type": "incident", "event": "started", "title": "火警"})
            bus.publish({"type": "ticket", "ticket_id": 7})
            seen: list[str] = []
            while len([line for line in seen if line.startswith("data:")]) < 2:
                seen.append(await anext(lines))
            block = [line for line in seen if line and not line.startswith(":")]
            assert block[:3] == [
                "id: 1",
                "event: incident",
                'data: {"type":"incident","event":"started","title":"火警"}',
            ]
            assert block[3:5] == ["id: 2", "event: ticket"]
            assert json.loads(block[5].removeprefix("data: ")) == {"type": "ticket", "ticket_id": 7}
            while await anext(lines) != ": keep-alive":
                pass
        # the client went away: the server drops its subscription
        await _until(lambda: bus.subscribers == 0)


def test_logbook_feed_announces_entries_written_by_other_processes(records: RecordsDB) -> None:
    published: list[dict[str, object]] = []
    feed = LogbookFeed(records, published.append, {"tank-fire": "消防水池"})
    with records.engine.begin() as conn:
        logbook.append(conn, logbook.LogEntry(datetime.now(UTC), "tank-fire", "state", "低液位"))
    assert feed.poll() == []  # the first poll only finds where the logbook ends
    with records.engine.begin() as conn:
        for message in ("低液位恢复", "进水阀关闭"):
            logbook.append(conn, logbook.LogEntry(datetime.now(UTC), "tank-fire", "state", message))
    fresh = feed.poll()
    assert [s.entry.message for s in fresh] == ["低液位恢复", "进水阀关闭"]
    assert feed.poll() == []
