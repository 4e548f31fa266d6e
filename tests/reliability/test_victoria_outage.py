"""VictoriaMetrics stopped for 30 s under load: the local buffer carries the gap, nothing is
lost or duplicated.

In process: ``plantroom collect`` opens ``influxdb://`` stores with the InfluxQL start-up
check, which VictoriaMetrics cannot answer (it has no ``/query``), so the test builds the same
pipeline the collect process runs (``ReadingSink`` + ``DiskBuffer`` +
``InfluxTimeSeriesStore``) with ``verify=False``. The server is real and really stopped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from collectors.sink import ReadingSink
from core.metrics import Metrics
from core.readings import Reading
from core.site import load_site
from storage import site_tags
from storage.buffer import DiskBuffer
from storage.influx_ts import InfluxConfig, InfluxTimeSeriesStore
from tests.reliability.harness import ROOT
from tests.servers.victoria import VictoriaMetrics, start_victoria

COUNT = 4000
INTERVAL = 0.01  # 100 readings a second: 40 s of traffic with a 30 s outage inside
EQUIPMENT = "pump-domestic-1"


def exported(server: VictoriaMetrics) -> list[int]:
    """Every stored value of the pump's ``starts`` field, repeats included."""
    httpx.get(f"{server.base_url}/internal/force_flush", timeout=30).raise_for_status()
    answer = httpx.post(
        f"{server.base_url}/api/v1/export",
        data={"match[]": f'pump_starts{{equipment="{EQUIPMENT}"}}'},
        timeout=30,
    )
    answer.raise_for_status()
    return [
        int(v)
        for line in answer.text.splitlines()
        if line.strip()
        for v in json.loads(line)["values"]
    ]


def producer(sink: ReadingSink, base: datetime, progress: list[int]) -> None:
    next_at = time.monotonic()
    for seq in range(1, COUNT + 1):
        sink.submit([Reading(EQUIPMENT, "starts", base + timedelta(milliseconds=seq), seq)])
        progress[0] = seq
        next_at += INTERVAL
        time.sleep(max(0.0, next_at - time.monotonic()))


def test_victoria_stopped_for_30_seconds_under_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="plantroom.sink")
    server = start_victoria(tmp_path / "victoria")
    site = load_site(ROOT / "examples" / "site.yaml")
    config = InfluxConfig.parse(f"influxdb://127.0.0.1:{server.port}?bucket=plantroom")
    store = InfluxTimeSeriesStore(config, site_tags(site), verify=False, timeout_s=2.0)
    buffer = DiskBuffer(tmp_path / "buffer.db")
    metrics = Metrics()
    sink = ReadingSink(store, metrics=metrics, buffer=buffer)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    progress = [0]

    async def scenario() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(sink.run(stop))
        feeder = threading.Thread(target=producer, args=(sink, base, progress), daemon=True)
        feeder.start()
        while progress[0] < 300:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(30)
        buffered_during_outage = buffer.depth
        await asyncio.to_thread(server.start)  # same port, same data directory
        await asyncio.to_thread(feeder.join, 60)
        deadline = time.monotonic() + 60
        while buffer.depth and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await runner
        assert buffered_during_outage > 1000  # the gap really went through the buffer

    try:
        asyncio.run(scenario())
        values = exported(server)
    finally:
        store.close()
        buffer.close()
        server.stop()
    counts = Counter(values)
    lost = len(set(range(1, COUNT + 1)) - set(counts))
    duplicated = sum(n - 1 for n in counts.values())
    print(f"victoria outage: stored={len(counts)} lost={lost} duplicated={duplicated}")
    assert (lost, duplicated) == (0, 0)
    assert buffer.depth == 0
    store_events = [
        r.getMessage()
        for r in caplog.records
        if r.name == "plantroom.sink" and getattr(r, "fields", {}).get("what") == "timeseries-store"
    ]
    assert store_events == ["failed", "recovered"]  # logged once, recovered once
