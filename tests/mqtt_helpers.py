"""Test helpers: a publishing client, a running collector, and waiting for conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import paho.mqtt.client as mqtt

from collectors.mqtt import MqttCollector, MqttCollectorSettings
from collectors.sink import ReadingSink
from core.clock import Clock
from core.endpoints import MqttEndpoint
from core.metrics import Metrics
from core.mqttclient import make_client
from core.site import Site
from storage import RecordsDB, TimeSeriesStore


@contextmanager
def publisher(endpoint: MqttEndpoint, client_id: str = "test-publisher") -> Iterator[mqtt.Client]:
    client = make_client(endpoint, client_id)
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def publish_all(
    client: mqtt.Client, messages: list[tuple[str, bytes]], retain: bool = False
) -> None:
    infos = [client.publish(topic, payload, qos=1, retain=retain) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(10)


async def publish(endpoint: MqttEndpoint, messages: list[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 from a worker thread, so an in-process broker keeps running."""

    def work() -> None:
        with publisher(endpoint) as client:
            publish_all(client, messages)

    await asyncio.to_thread(work)


async def wait_until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Poll ``condition`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running_collector(
    site: Site,
    store: TimeSeriesStore,
    records: RecordsDB | None,
    settings: MqttCollectorSettings,
    metrics: Metrics | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[MqttCollector]:
    metrics = metrics or Metrics()
    sink = ReadingSink(store, records, metrics=metrics)
    collector = MqttCollector(site, sink, settings, clock=clock, metrics=metrics)
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(sink.run(stop)), asyncio.ensure_future(collector.run(stop))]
    try:
        await asyncio.wait_for(collector.connected.wait(), 15)
        yield collector
    finally:
        stop.set()
        await asyncio.gather(*tasks)
