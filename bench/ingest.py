"""Ingest benchmark: how fast the plantroom collector stores MQTT telemetry, beside a bare
paho-mqtt subscriber measured in the same run through the same kind of broker.

Every round starts a fresh mosquitto and uses client ids of its own, so no session or queued
message of an earlier round or phase can be counted (an earlier version reused persistent
sessions across rounds: the bare subscriber found its target already queued and printed
47 million msg/s). Each subject's round is checked and discarded, with the reason printed, if
it received or stored anything but exactly the messages published; valid rounds are
summarised as min / median / max, with the load average of the machine.

Two methods:
- backlog (always): the subscriber registers a persistent QoS 1 session (waiting for the
  broker's SUBACK) and goes away; a publisher queues N messages at the broker; the subscriber
  reconnects and we time from its connect to the last message received (bare) or stored
  (plantroom). This measures capacity, independent of the publisher.
- live (``--live``): a publisher process sends N messages as fast as it can while the
  subscriber runs; first to last message. The publisher's speed bounds both subjects.
The bare subscriber receives and acknowledges; the collector receives, decodes, stores in
SQLite and only then acknowledges.

Run: ``make bench-ingest`` (``python -m bench.ingest --messages 40000 --rounds 3``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt

from bench.rounds import Discard, Series, load_average, ratio, report
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
VALUES_PER_MESSAGE = 5
SETTLE_S = 0.5  # how long we keep listening after the target, to catch extra messages


def payloads(count: int) -> list[bytes]:
    """``count`` plantroom-convention messages of five values, numbered by ``seq``/``starts``."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000) - count
    out = []
    for seq in range(count):
        values = {
            "running": True,
            "current_a": 12.5,
            "outlet_pressure_mpa": 0.41,
            "frequency_hz": 48.7,
            "starts": seq,
        }
        out.append(json.dumps({"ts": now_ms + seq, "seq": seq, "values": values}).encode())
    return out


def publish(endpoint: MqttEndpoint, count: int, client_id: str = "bench-publisher") -> None:
    """Publish ``count`` messages at QoS 1 and wait until the broker has acknowledged each."""
    client = make_client(endpoint, client_id, max_inflight=1000)
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    infos = [client.publish(TOPIC, p, qos=1) for p in payloads(count)]
    for info in infos:
        info.wait_for_publish(120)
        if not info.is_published():
            raise Discard(f"publisher: message {info.mid} not acknowledged by the broker")
    client.disconnect()
    client.loop_stop()


class BareSubscriber:
    """A paho subscriber that only counts and acknowledges (paho's automatic QoS 1 ack)."""

    def __init__(self, endpoint: MqttEndpoint, client_id: str, clean_session: bool) -> None:
        self.endpoint = endpoint
        self.received = 0
        self.target = 0
        self.subscribed = threading.Event()
        self.done = threading.Event()
        self.first_at = 0.0
        self.last_at = 0.0
        self.client = make_client(
            endpoint, client_id, clean_session=clean_session, max_inflight=1000
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.on_message = self._on_message

    def _on_connect(self, c: mqtt.Client, _u: object, _f: object, _r: object, _p: object) -> None:
        c.subscribe(TOPIC, qos=1)

    def _on_message(self, _c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        self.received += 1
        if self.received == 1:
            self.first_at = now
        if self.received == self.target:
            self.last_at = now
            self.done.set()

    def start(self, target: int) -> float:
        self.target = target
        started = time.perf_counter()
        self.client.connect(self.endpoint.host, self.endpoint.port)
        self.client.loop_start()
        if not self.subscribed.wait(15):
            raise Discard("bare: no SUBACK within 15 s")
        return started

    def finish(self, timeout: float = 300) -> None:
        if not self.done.wait(timeout):
            raise Discard(f"bare: received {self.received} of {self.target}")
        time.sleep(SETTLE_S)
        self.client.disconnect()
        self.client.loop_stop()
        if self.received != self.target:
            raise Discard(f"bare: received {self.received}, published {self.target}")


def bare_backlog(endpoint: MqttEndpoint, count: int) -> float:
    """Messages per second a bare paho subscriber drains from a backlog at the broker."""
    register = BareSubscriber(endpoint, "bench-bare", clean_session=False)
    register.start(0)
    register.client.disconnect()
    register.client.loop_stop()
    publish(endpoint, count)
    drain = BareSubscriber(endpoint, "bench-bare", clean_session=False)
    started = drain.start(count)
    drain.finish()
    return count / (drain.last_at - started)


def bare_live(endpoint: MqttEndpoint, count: int) -> float:
    """Messages per second a bare paho subscriber receives from a live publisher."""
    sub = BareSubscriber(endpoint, "bench-bare-live", clean_session=True)
    sub.start(count)
    publisher = spawn_publisher(endpoint, count)
    sub.finish()
    if publisher.wait(120) != 0:
        raise Discard(f"publisher exited {publisher.returncode}")
    return (count - 1) / (sub.last_at - sub.first_at)


def stored_check(db_path: Path, count: int) -> None:
    """Discard the round unless the store holds exactly the published values, once each."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
        seqs = db.execute(
            "SELECT COUNT(DISTINCT value), MIN(value), MAX(value) FROM samples "
            "JOIN series ON series.id = samples.series_id WHERE series.signal = 'starts'"
        ).fetchone()
    if rows != count * VALUES_PER_MESSAGE:
        raise Discard(f"plantroom: stored {rows} values, published {count * VALUES_PER_MESSAGE}")
    if tuple(seqs) != (count, 0, count - 1):
        raise Discard(f"plantroom: message numbers stored {seqs}, expected {count} distinct")


class Ours:
    """The plantroom collector and sink on a fresh SQLite store, as ``plantroom collect``."""

    def __init__(self, endpoint: MqttEndpoint, site: Site, workdir: Path, client_id: str) -> None:
        self.db_path = workdir / "ts.db"
        self.store = SqliteTimeSeriesStore(self.db_path, site_tags(site))
        self.site = site
        self.settings = MqttCollectorSettings(endpoint, client_id=client_id)

    async def run(self, until_stored: int, publisher: bool = False) -> tuple[float, float]:
        """Run until ``until_stored`` values are stored: (connect time, time of the last)."""
        metrics = Metrics()
        sink = ReadingSink(self.store, metrics=metrics)
        collector = MqttCollector(self.site, sink, self.settings, metrics=metrics)
        stop = asyncio.Event()
        started = time.perf_counter()
        tasks = [asyncio.ensure_future(sink.run(stop)), asyncio.ensure_future(collector.run(stop))]
        try:
            await asyncio.wait_for(collector.connected.wait(), 15)
            await asyncio.sleep(0.3)  # bench only: the SUBACK is not observable from here
            proc = spawn_publisher(self.settings.endpoint, until_stored) if publisher else None
            first = 0.0
            deadline = time.perf_counter() + 120
            while metrics.total("plantroom_readings_stored_total") < until_stored * 5:
                if not first and metrics.total("plantroom_mqtt_messages_total"):
                    first = time.perf_counter()
                if time.perf_counter() > deadline:
                    stored = metrics.total("plantroom_readings_stored_total")
                    raise Discard(f"plantroom: stored {stored:.0f} values in 120 s")
                await asyncio.sleep(0.002)
            last = time.perf_counter()
            if proc is not None and await asyncio.to_thread(proc.wait, 120) != 0:
                raise Discard(f"publisher exited {proc.returncode}")
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        return (first if publisher else started), last

    def close(self, count: int) -> None:
        self.store.close()
        stored_check(self.db_path, count)


def ours_backlog(endpoint: MqttEndpoint, site: Site, count: int, workdir: Path) -> float:
    ours = Ours(endpoint, site, workdir, "bench-collector")
    asyncio.run(ours.run(0))  # register the persistent session
    publish(endpoint, count)
    started, last = asyncio.run(ours.run(count))
    ours.close(count)
    return count / (last - started)


def ours_live(endpoint: MqttEndpoint, site: Site, count: int, workdir: Path) -> float:
    ours = Ours(endpoint, site, workdir, "bench-live")
    first, last = asyncio.run(ours.run(count, publisher=True))
    ours.close(count)
    return count / (last - first)


def spawn_publisher(endpoint: MqttEndpoint, count: int) -> subprocess.Popen[bytes]:
    url = f"mqtt://{endpoint.host}:{endpoint.port}"
    return subprocess.Popen([sys.executable, "-m", "bench.ingest", "--publish", url, str(count)])


def measure(series: Series, round_no: int, run: Callable[[], float]) -> None:
    """Run one subject's round, adding its rate or discarding it with the reason."""
    try:
        series.add(run())
        print(f"  {series.name}: {series.values[-1]:,.0f} {series.unit}  ({load_average()})")
    except Discard as why:
        series.discard(round_no, str(why))
        print(f"  {series.name}: discarded: {why}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--live", action="store_true", help="also run the live-publisher method")
    parser.add_argument("--publish", nargs=2, metavar=("URL", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        publish(MqttEndpoint.parse(args.publish[0]), int(args.publish[1]))
        return
    site = load_site(ROOT / "examples" / "site.yaml")
    count = args.messages
    names = ["backlog: bare paho-mqtt (receive + ack)", "backlog: plantroom (store, then ack)"]
    if args.live:
        names += ["live: bare paho-mqtt (receive + ack)", "live: plantroom (store, then ack)"]
    series = [Series(n) for n in names]
    print(f"{count:,} QoS 1 messages of {VALUES_PER_MESSAGE} values; {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(1, args.rounds + 1):
            print(f"round {round_no}")
            workdir = Path(tmp) / f"round{round_no}"
            runs: list[Callable[[MqttEndpoint, Path], float]] = [
                lambda ep, _wd: bare_backlog(ep, count),
                lambda ep, wd: ours_backlog(ep, site, count, wd),
                lambda ep, _wd: bare_live(ep, count),
                lambda ep, wd: ours_live(ep, site, count, wd),
            ]
            for i, (s, run) in enumerate(zip(series, runs, strict=False)):
                # a fresh broker for every subject and round: no queued message carries over
                subject_dir = workdir / f"subject{i}"
                broker = start_mosquitto(subject_dir / "mosquitto")
                endpoint = MqttEndpoint.parse(broker.url)
                try:
                    measure(s, round_no, lambda run=run, ep=endpoint, wd=subject_dir: run(ep, wd))
                finally:
                    broker.stop()
    print()
    print(f"QoS 1 ingest through mosquitto, {count:,} messages, {args.rounds} rounds")
    report(series)
    print(f"backlog: plantroom / bare (medians) {ratio(series[1], series[0])} (target >= 60%)")
    if args.live:
        print(f"live: plantroom / bare (medians) {ratio(series[3], series[2])}")
    print(load_average())


if __name__ == "__main__":
    main()
