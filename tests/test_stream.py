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
from storage.api_keys import Role, revoke_key
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

    def subscribe(self, after: int | None = None) -> Subscription:
        sub = super().subscribe(after)
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
    context = ApiContext(
        site, ts_store, records, events=bus, stream_keepalive=0.2, stream_key_recheck=0.2
    )
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
    served: tuple[str, CountingBus, dict[str, str]],
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
                f"id: {bus.epoch}-1",
                "event: incident",
                'data: {"type":"incident","event":"started","title":"火警"}',
            ]
            assert block[3:5] == [f"id: {bus.epoch}-2", "event: ticket"]
            assert json.loads(block[5].removeprefix("data: ")) == {"type": "ticket", "ticket_id": 7}
            while await anext(lines) != ": keep-alive":
                pass
        # the client went away: the server drops its subscription
        await _until(lambda: bus.subscribers == 0)


async def _blocks(lines: AsyncIterator[str], count: int) -> list[dict[str, str]]:
    """The next ``count`` events (comments skipped) as {"id", "event", "data"} dicts."""
    out: list[dict[str, str]] = []
    block: dict[str, str] = {}
    while len(out) < count:
        line = await anext(lines)
        if not line:
            if "data" in block:
                out.append(block)
            block = {}
        elif not line.startswith(":") and ": " in line:
            field, _, value = line.partition(": ")
            block[field] = value
    return out


async def test_a_client_that_reconnects_gets_what_it_missed_once(
    served: tuple[str, CountingBus, dict[str, str]],
) -> None:
    base, bus, viewer = served
    async with httpx.AsyncClient(timeout=5) as client:
        async with client.stream("GET", f"{base}/api/v1/stream", headers=viewer) as response:
            lines = response.aiter_lines()
            await _until(lambda: bus.subscribers == 1)
            bus.publish({"type": "alert", "n": 1})
            (first,) = await _blocks(lines, 1)
        await _until(lambda: bus.subscribers == 0)
        for n in (2, 3):  # while the client is away
            bus.publish({"type": "alert", "n": n})
        resume = {**viewer, "Last-Event-ID": first["id"]}
        async with client.stream("GET", f"{base}/api/v1/stream", headers=resume) as response:
            lines = response.aiter_lines()
            await _until(lambda: bus.subscribers == 1)
            bus.publish({"type": "alert", "n": 4})
            got = await _blocks(lines, 3)
    assert [json.loads(b["data"])["n"] for b in got] == [2, 3, 4]
    assert [b["id"] for b in got] == [f"{bus.epoch}-{n}" for n in (2, 3, 4)]
    assert {b["event"] for b in got} == {"alert"}


@pytest.mark.parametrize(
    ("last_id", "reason"),
    [
        ("0badc0de-1", "not from this run of the API"),  # the API restarted since
        ("garbage", "not from this run of the API"),
        (None, "no longer kept"),  # filled in below: an id older than the bus's history
    ],
)
async def test_a_resume_that_cannot_be_exact_says_resync_first(
    served: tuple[str, CountingBus, dict[str, str]], last_id: str | None, reason: str
) -> None:
    base, bus, viewer = served
    bus._history = type(bus._history)(maxlen=2)
    for n in range(5):
        bus.publish({"type": "alert", "n": n})
    query = {"last_event_id": last_id or f"{bus.epoch}-1"}  # 1 is gone; 4 and 5 are kept
    async with (
        httpx.AsyncClient(timeout=5) as client,
        client.stream("GET", f"{base}/api/v1/stream", headers=viewer, params=query) as response,
    ):
        lines = response.aiter_lines()
        (first,) = await _blocks(lines, 1)
        assert first["event"] == "resync"
        assert "id" not in first
        assert reason in json.loads(first["data"])["reason"]
        if last_id is None:  # what the bus still has follows
            kept = await _blocks(lines, 2)
            assert [json.loads(b["data"])["n"] for b in kept] == [3, 4]


async def test_a_client_that_fell_behind_is_told_to_resync(
    served: tuple[str, CountingBus, dict[str, str]],
) -> None:
    base, bus, viewer = served
    bus.maxsize = 2  # a client's queue holds two events; the replay below overflows it
    for n in range(5):
        bus.publish({"type": "alert", "n": n})
    query = {"last_event_id": f"{bus.epoch}-0"}
    async with (
        httpx.AsyncClient(timeout=5) as client,
        client.stream("GET", f"{base}/api/v1/stream", headers=viewer, params=query) as response,
    ):
        got = await _blocks(response.aiter_lines(), 3)
    assert got[0]["event"] == "resync"
    assert json.loads(got[0]["data"])["reason"].startswith("3 events dropped")
    assert [json.loads(b["data"])["n"] for b in got[1:]] == [3, 4]


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


async def test_a_revoked_key_ends_its_open_stream(
    served: tuple[str, CountingBus, dict[str, str]], records: RecordsDB
) -> None:
    base, bus, viewer = served  # the server's records DB is this test's ``records``
    key_id = viewer["Authorization"].split("_")[1]
    busy = True

    async def publish_all_along() -> None:  # a busy stream is checked all the same
        n = 0
        while busy:
            bus.publish({"type": "alert", "n": n})
            n += 1
            await asyncio.sleep(0.01)

    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("GET", f"{base}/api/v1/stream", headers=viewer) as response:
            lines = response.aiter_lines()
            await _until(lambda: bus.subscribers == 1)
            publisher = asyncio.ensure_future(publish_all_along())
            (first,) = await _blocks(lines, 1)
            assert first["event"] == "alert"
            with records.engine.begin() as conn:
                revoke_key(conn, key_id, datetime.now(UTC))
            ends: list[str] = []
            async for line in lines:  # the stream must end by itself
                ends.append(line)
            busy = False
            await publisher
        assert "event: revoked" in ends and ends[-2].startswith("data: ")
        await _until(lambda: bus.subscribers == 0)
        again = await client.get(f"{base}/api/v1/stream", headers=viewer)
        assert again.status_code == 401
