"""Store-and-forward: the store goes away, readings wait on local disk, and come back in order."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collectors.sink import ReadingSink
from core.metrics import Metrics
from core.readings import Reading
from storage import SqliteTimeSeriesStore
from storage.buffer import DiskBuffer
from tests.mqtt_helpers import wait_until

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def level(seq: int) -> Reading:
    return Reading("tank-fire", "level_m", T0 + timedelta(seconds=seq), float(seq))


def stored(store: SqliteTimeSeriesStore) -> list[float | None]:
    rows = store.history("tank-fire", "level_m", T0, T0 + timedelta(days=1))
    return [r.value for r in rows if isinstance(r, Reading)]


async def test_readings_survive_a_locked_store_and_replay_in_order(tmp_path: Path) -> None:
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", busy_timeout_ms=50)
    buffer = DiskBuffer(tmp_path / "buffer.db")
    metrics = Metrics()
    sink = ReadingSink(store, metrics=metrics, buffer=buffer)
    acked: list[int] = []
    stop = asyncio.Event()
    task = asyncio.ensure_future(sink.run(stop))
    sink.submit([level(0)], lambda: acked.append(0))
    await wait_until(lambda: stored(store) == [0.0], what="first reading stored")

    locker = sqlite3.connect(tmp_path / "ts.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the file: the store is down
    for seq in range(1, 101):
        sink.submit([level(seq)], lambda seq=seq: acked.append(seq))  # type: ignore[misc]
    # acknowledged once durable in the local buffer, although the store is down
    await wait_until(lambda: len(acked) == 101, what="acks from the buffer")
    assert buffer.depth == 100
    assert metrics.value("plantroom_buffer_depth") == 100

    locker.execute("ROLLBACK")  # the store is back
    locker.close()
    await wait_until(lambda: buffer.depth == 0, what="replay")
    stop.set()
    await task
    assert stored(store) == [float(s) for s in range(101)]  # all, once, in order
    assert metrics.value("plantroom_buffer_depth") == 0
    store.close()
    buffer.close()


async def test_full_buffer_stops_acknowledging_and_loses_nothing(tmp_path: Path) -> None:
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", busy_timeout_ms=50)
    buffer = DiskBuffer(tmp_path / "buffer.db", capacity=10)
    metrics = Metrics()
    sink = ReadingSink(store, metrics=metrics, buffer=buffer)
    acked: list[int] = []
    locker = sqlite3.connect(tmp_path / "ts.db", isolation_level=None)
    store.write([level(0)])
    locker.execute("BEGIN EXCLUSIVE")
    stop = asyncio.Event()
    task = asyncio.ensure_future(sink.run(stop))
    for seq in range(1, 11):
        sink.submit([level(seq)], lambda seq=seq: acked.append(seq))  # type: ignore[misc]
    await wait_until(lambda: len(acked) == 10, what="ten buffered")
    for seq in range(11, 16):
        sink.submit([level(seq)], lambda seq=seq: acked.append(seq))  # type: ignore[misc]
    await wait_until(lambda: metrics.value("plantroom_buffer_full_total") == 1, what="full")
    assert len(acked) == 10  # the policy: no acknowledgement while full
    locker.execute("ROLLBACK")
    locker.close()
    await wait_until(lambda: len(acked) == 15, what="acks after recovery")
    await wait_until(lambda: len(stored(store)) == 16, what="everything stored")
    stop.set()
    await task
    assert stored(store) == [float(s) for s in range(16)]
    store.close()
    buffer.close()


def test_buffer_is_durable_across_restarts(tmp_path: Path) -> None:
    buffer = DiskBuffer(tmp_path / "buffer.db")
    buffer.append([level(1), level(2)])
    buffer.close()
    reopened = DiskBuffer(tmp_path / "buffer.db")
    assert reopened.depth == 2
    last_id, readings = reopened.peek(10)
    assert [r.value for r in readings] == [1.0, 2.0]
    reopened.drop(last_id)
    assert reopened.depth == 0
    reopened.close()


async def test_a_full_sink_holds_back_the_broker_thread_and_drops_nothing(tmp_path: Path) -> None:
    store = SqliteTimeSeriesStore(tmp_path / "ts.db")
    sink = ReadingSink(store, metrics=Metrics(), max_pending=10, linger=0.05)
    stop = asyncio.Event()
    task = asyncio.ensure_future(sink.run(stop))
    await wait_until(lambda: sink._loop_thread is not None, what="sink running")
    acked: list[int] = []

    def broker_thread() -> None:  # as paho's network thread submits, with acknowledgements
        for seq in range(500):
            sink.submit([level(seq)], lambda seq=seq: acked.append(seq))  # type: ignore[misc]

    await asyncio.to_thread(broker_thread)
    await wait_until(lambda: len(acked) == 500, what="all acknowledged")
    stop.set()
    await task
    assert stored(store) == [float(s) for s in range(500)]
    store.close()


async def test_a_long_replay_shows_progress_and_its_whole_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqliteTimeSeriesStore(tmp_path / "ts.db", busy_timeout_ms=50)
    buffer = DiskBuffer(tmp_path / "buffer.db")
    sink = ReadingSink(store, buffer=buffer)
    sink.progress_every = 0.0  # a line per chunk, so that a short replay shows several
    store.write([level(0)])
    locker = sqlite3.connect(tmp_path / "ts.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    caplog.set_level(logging.INFO, logger="plantroom.sink")
    stop = asyncio.Event()
    task = asyncio.ensure_future(sink.run(stop))
    total = 12_000  # more than two replay chunks of 5,000
    for start in range(1, total + 1, 100):
        sink.submit([level(seq) for seq in range(start, start + 100)])
    await wait_until(lambda: buffer.depth == total, what="everything buffered")
    locker.execute("ROLLBACK")
    locker.close()
    await wait_until(lambda: buffer.depth == 0, what="replay")
    stop.set()
    await task
    fields = [getattr(r, "fields", {}) for r in caplog.records]
    progress = [(f["replayed"], f["left"]) for f, r in zip(fields, caplog.records, strict=True)
                if r.getMessage() == "replaying buffer"]  # fmt: skip
    assert progress == [(5000, 7000), (10000, 2000)]
    recovered = [f for f, r in zip(fields, caplog.records, strict=True)
                 if r.getMessage() == "recovered"]  # fmt: skip
    assert [(f["what"], f["replayed"]) for f in recovered] == [("timeseries-store", total)]
    assert len(stored(store)) == total + 1
    store.close()
    buffer.close()
