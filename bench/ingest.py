"""Ingest benchmark: how fast the plantroom collector stores MQTT telemetry, beside a bare
paho-mqtt subscriber measured in the same run through the same mosquitto.

Two methods, both run every time:
- live: a publisher process sends N plantroom-convention messages at QoS 1 as fast as it can
  while the subscriber runs; we time first to last message received (bare) or stored
  (plantroom). This is the issue's method; the publisher's speed bounds both.
- backlog: the subscriber registers a persistent QoS 1 session and goes away; the same
  publisher queues N messages at the broker; the subscriber reconnects and we time how long it
  takes to drain the backlog. This measures capacity, independent of the publisher.
The bare subscriber receives and acknowledges; the collector receives, decodes, stores in
SQLite and only then acknowledges.

Run: ``make bench-ingest`` (``python -m bench.ingest --messages 20000``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt

from collectors.mqtt import MqttCollector, MqttCollectorSettings
from collectors.sink import ReadingSink
from core.endpoints import MqttEndpoint
from core.metrics import Metrics
from core.mqttclient import make_client
from core.site import Site, load_site
from storage import SqliteTimeSeriesStore, site_tags
from tests.servers.mosquitto import start_mosquitto

ROOT = Path(__file__).resolve().parent.parent
TOPIC = "plantroom/lakeside/b1/pump/pump-domestic-1/telemetry"


def backlog(endpoint: MqttEndpoint, count: int) -> None:
    client = make_client(endpoint, "bench-publisher", max_inflight=1000)
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    now_ms = int(datetime.now(UTC).timestamp() * 1000) - count
    infos = []
    for seq in range(count):
        values = {
            "running": True,
            "current_a": 12.5,
            "outlet_pressure_mpa": 0.41,
            "frequency_hz": 48.7,
            "starts": seq,
        }
        payload = json.dumps({"ts": now_ms + seq, "seq": seq, "values": values})
        infos.append(client.publish(TOPIC, payload, qos=1))
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


def bare_subscriber(endpoint: MqttEndpoint, count: int) -> float:
    """Messages per second drained by a bare paho subscriber (QoS 1, persistent session)."""
    received = 0
    done = threading.Event()

    def on_connect(c: mqtt.Client, _u: object, _f: object, _r: object, _p: object) -> None:
        c.subscribe(TOPIC, qos=1)

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    def session() -> mqtt.Client:
        client = make_client(endpoint, "bench-bare", clean_session=False, max_inflight=1000)
        client.on_connect = on_connect
        client.on_message = on_message
        return client

    client = session()
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    time.sleep(0.5)  # bench only: let the subscription register before going away
    client.disconnect()
    client.loop_stop()
    backlog(endpoint, count)
    client = session()
    started = time.perf_counter()
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    if not done.wait(300):
        raise RuntimeError(f"bare subscriber got {received}/{count}")
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return count / elapsed


async def collector_rate(endpoint: MqttEndpoint, site: Site, count: int, workdir: Path) -> float:
    """Messages per second drained and stored by the plantroom collector."""
    store = SqliteTimeSeriesStore(workdir / "ts.db", site_tags(site))
    settings = MqttCollectorSettings(endpoint, client_id="bench-collector", share_group="plantroom")

    async def run(wait_for: int | None) -> float:
        metrics = Metrics()
        sink = ReadingSink(store, metrics=metrics)
        collector = MqttCollector(site, sink, settings, metrics=metrics)
        stop = asyncio.Event()
        started = time.perf_counter()
        tasks = [asyncio.ensure_future(sink.run(stop)), asyncio.ensure_future(collector.run(stop))]
        await asyncio.wait_for(collector.connected.wait(), 15)
        if wait_for is not None:
            want = wait_for * 5  # five values per message
            while metrics.total("plantroom_readings_stored_total") < want:
                await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*tasks)
        return elapsed

    await run(None)  # register the persistent session
    await asyncio.to_thread(backlog, endpoint, count)
    elapsed = await run(count)
    store.close()
    return count / elapsed


def spawn_publisher(endpoint: MqttEndpoint, count: int) -> subprocess.Popen[bytes]:
    url = f"mqtt://{endpoint.host}:{endpoint.port}"
    return subprocess.Popen([sys.executable, "-m", "bench.ingest", "--publish", url, str(count)])


def bare_live(endpoint: MqttEndpoint, count: int) -> float:
    """Messages per second received by a bare paho subscriber from a live publisher."""
    stamps: list[float] = []
    done = threading.Event()
    subscribed = threading.Event()

    def on_connect(c: mqtt.Client, _u: object, _f: object, _r: object, _p: object) -> None:
        c.subscribe(TOPIC, qos=1)

    def on_subscribe(*_args: object) -> None:
        subscribed.set()

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        stamps.append(time.perf_counter())
        if len(stamps) == count:
            done.set()

    client = make_client(endpoint, "bench-bare-live", max_inflight=1000)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    subscribed.wait(10)
    publisher = spawn_publisher(endpoint, count)
    if not done.wait(300):
        raise RuntimeError(f"bare subscriber got {len(stamps)}/{count}")
    publisher.wait(60)
    client.disconnect()
    client.loop_stop()
    return (count - 1) / (stamps[-1] - stamps[0])


async def collector_live(endpoint: MqttEndpoint, site: Site, count: int, workdir: Path) -> float:
    """Messages per second stored by the plantroom collector from a live publisher."""
    store = SqliteTimeSeriesStore(workdir / "ts.db", site_tags(site))
    settings = MqttCollectorSettings(endpoint, client_id="bench-live", clean_session=True)
    metrics = Metrics()
    sink = ReadingSink(store, metrics=metrics)
    collector = MqttCollector(site, sink, settings, metrics=metrics)
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(sink.run(stop)), asyncio.ensure_future(collector.run(stop))]
    await asyncio.wait_for(collector.connected.wait(), 15)
    await asyncio.sleep(0.3)  # bench only: let the subscription register
    publisher = spawn_publisher(endpoint, count)
    while metrics.total("plantroom_mqtt_messages_total") == 0:
        await asyncio.sleep(0.001)
    first = time.perf_counter()
    while metrics.total("plantroom_readings_stored_total") < count * 5:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - first
    stop.set()
    await asyncio.gather(*tasks)
    await asyncio.to_thread(publisher.wait, 60)
    store.close()
    return count / elapsed


def _row(name: str, rate: float) -> str:
    return f"{name:<44}{rate:>10.0f}{rate * 5:>12.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--publish", nargs=2, metavar=("URL", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        backlog(MqttEndpoint.parse(args.publish[0]), int(args.publish[1]))
        return
    site = load_site(ROOT / "examples" / "site.yaml")
    results: dict[str, list[float]] = {
        k: [] for k in ("bare live", "ours live", "bare backlog", "ours backlog")
    }
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_mosquitto(Path(tmp) / "mosquitto")
        endpoint = MqttEndpoint.parse(broker.url)
        try:
            for round_no in range(args.rounds):
                workdir = Path(tmp) / f"round{round_no}"
                workdir.mkdir()
                results["bare live"].append(bare_live(endpoint, args.messages))
                results["ours live"].append(
                    asyncio.run(collector_live(endpoint, site, args.messages, workdir / "live"))
                )
                results["bare backlog"].append(bare_subscriber(endpoint, args.messages))
                results["ours backlog"].append(
                    asyncio.run(collector_rate(endpoint, site, args.messages, workdir))
                )
                print(
                    f"round {round_no + 1}: "
                    + "  ".join(f"{k} {v[-1]:.0f}/s" for k, v in results.items())
                )
        finally:
            broker.stop()
    best = {k: max(v) for k, v in results.items()}
    print()
    print(
        f"QoS 1 ingest through mosquitto: {args.messages} messages of 5 values, "
        f"best of {args.rounds} rounds"
    )
    print(f"{'subscriber':<44}{'msg/s':>10}{'values/s':>12}")
    print(_row("live: bare paho-mqtt (receive + ack)", best["bare live"]))
    print(_row("live: plantroom (decode + store + ack)", best["ours live"]))
    print(_row("backlog: bare paho-mqtt (receive + ack)", best["bare backlog"]))
    print(_row("backlog: plantroom (decode + store + ack)", best["ours backlog"]))
    print(f"ratio live:    {best['ours live'] / best['bare live']:.0%} (target >= 70%)")
    print(f"ratio backlog: {best['ours backlog'] / best['bare backlog']:.0%}")


if __name__ == "__main__":
    main()
