"""Fault-injection harness: sequence-numbered traffic, plantroom processes, loss accounting.

Every reliability test publishes messages numbered 1..N (the `starts` counter of one pump
carries the number), breaks something on the way, and ends by counting, in the store, the
numbers that never arrived (lost) and the numbers stored more than once (duplicated).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.endpoints import MqttEndpoint
from core.mqttclient import make_client

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "plantroom/lakeside/b1/pump/pump-domestic-1/telemetry"


class SequencePublisher(threading.Thread):
    """Publishes N numbered QoS 1 messages at a steady rate over a persistent session, as a
    device with store-and-forward does: it keeps publishing through broker outages."""

    def __init__(self, endpoint: MqttEndpoint, count: int, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.endpoint = endpoint
        self.count = count
        self.interval = interval
        self.published = 0
        self.published_at: dict[int, float] = {}  # seq -> time.monotonic() when published
        self.base_ms = int(datetime.now(UTC).timestamp() * 1000) - 60_000

    def run(self) -> None:
        client = make_client(
            self.endpoint, "reliability-publisher", clean_session=False, max_inflight=100
        )
        acked: set[int] = set()

        def on_publish(_c: object, _u: object, mid: int, _r: object, _p: object) -> None:
            acked.add(mid)

        client.on_publish = on_publish
        client.connect_async(self.endpoint.host, self.endpoint.port)
        client.loop_start()
        next_at = time.monotonic()
        for seq in range(1, self.count + 1):
            payload = {"ts": self.base_ms + seq, "seq": seq, "values": {"starts": seq}}
            # while the broker is away paho keeps the message and sends it on reconnect
            self.published_at[seq] = time.monotonic()
            client.publish(TOPIC, json.dumps(payload), qos=1)
            self.published = seq
            next_at += self.interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        deadline = time.monotonic() + 120
        while len(acked) < self.count and time.monotonic() < deadline:
            time.sleep(0.05)
        client.disconnect()
        client.loop_stop()


@dataclass
class Loss:
    lost: int
    duplicated: int
    stored: int


def account(ts_path: Path, count: int) -> Loss:
    """How many of 1..count are missing from, or repeated in, the store."""
    with sqlite3.connect(f"file:{ts_path}?mode=ro", uri=True) as db:
        values = [
            int(v)
            for (v,) in db.execute(
                "SELECT s.value FROM samples s JOIN series r ON r.id = s.series_id "
                "WHERE r.equipment = 'pump-domestic-1' AND r.signal = 'starts' "
                "AND s.quality = 'good'"
            )
        ]
    distinct = set(values)
    return Loss(
        lost=len(set(range(1, count + 1)) - distinct),
        duplicated=len(values) - len(distinct),
        stored=len(distinct),
    )


def wait_for_all(ts_path: Path, count: int, timeout: float = 90.0) -> Loss:
    """Wait until every number is stored (or the timeout), then account."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ts_path.exists():
            try:
                loss = account(ts_path, count)
            except sqlite3.OperationalError:
                loss = Loss(count, 0, 0)
            if loss.lost == 0:
                return loss
        time.sleep(0.2)
    return account(ts_path, count)


@dataclass
class PlantroomProcess:
    """One `plantroom …` process with its environment; kill -9 and restart at will."""

    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "plantroom.cli", *self.args],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "ab"),  # noqa: SIM115 - closed with the process
        )

    def wait_subscribed(self, times: int = 1, timeout: float = 60.0) -> None:
        """Wait until the log shows the ``times``-th subscription (the session exists)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.exists() and self.log.read_text().count(" subscribed ") >= times:
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.args} did not subscribe within {timeout}s")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def freeze(self) -> None:
        """SIGSTOP: its connections stay open but silent, as when its machine hangs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def collector_env(tmp_path: Path, mqtt_url: str, client_id: str) -> dict[str, str]:
    return {
        **os.environ,
        "PLANTROOM_MQTT_URL": mqtt_url,
        "PLANTROOM_MQTT_SHARE_GROUP": "plantroom",
        "PLANTROOM_MQTT_CLIENT_ID": client_id,
        "PLANTROOM_TSDB_URL": f"sqlite:///{tmp_path / 'ts.db'}",
        "PLANTROOM_DB_URL": f"sqlite:///{tmp_path / 'records.db'}",
        "PLANTROOM_BUFFER_PATH": str(tmp_path / f"buffer-{client_id}.db"),
        "PLANTROOM_SITE": str(ROOT / "examples" / "site.yaml"),
        # the broker's queue limit is probed with 2,000 messages, not 10,000: still above
        # mosquitto's default 1,000, and light on this small machine
        "PLANTROOM_MQTT_QUEUE_PROBE": "2000",
    }


class ArrivalMonitor(threading.Thread):
    """Notes when each number first shows up in the store (polling every 50 ms), so a test
    can tell how late each reading was stored after it was published."""

    def __init__(self, ts_path: Path) -> None:
        super().__init__(daemon=True)
        self.ts_path = ts_path
        self.seen_at: dict[int, float] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.05):
            if not self.ts_path.exists():
                continue
            now = time.monotonic()
            try:
                with sqlite3.connect(f"file:{self.ts_path}?mode=ro", uri=True) as db:
                    values = db.execute(
                        "SELECT s.value FROM samples s JOIN series r ON r.id = s.series_id "
                        "WHERE r.equipment = 'pump-domestic-1' AND r.signal = 'starts' "
                        "AND s.quality = 'good'"
                    ).fetchall()
            except sqlite3.OperationalError:
                continue  # the store is being created
            for (value,) in values:
                self.seen_at.setdefault(int(value), now)

    def stop(self) -> None:
        self._done.set()
        self.join(5)

    def delays(self, published_at: dict[int, float]) -> dict[int, float]:
        """Seconds from publishing to storing, for each number stored."""
        return {
            seq: self.seen_at[seq] - t for seq, t in published_at.items() if seq in self.seen_at
        }


def wait_published(publisher: SequencePublisher, seq: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while publisher.published < seq:
        if time.monotonic() > deadline:
            raise AssertionError(f"publisher stuck at {publisher.published}")
        time.sleep(0.01)


def missing(ts_path: Path, count: int) -> list[tuple[int, int]]:
    """Missing numbers as (first, last) ranges, for failure messages."""
    with sqlite3.connect(f"file:{ts_path}?mode=ro", uri=True) as db:
        have = {
            int(v)
            for (v,) in db.execute(
                "SELECT s.value FROM samples s JOIN series r ON r.id = s.series_id "
                "WHERE r.equipment = 'pump-domestic-1' AND r.signal = 'starts' "
                "AND s.value IS NOT NULL"
            )
        }
    ranges: list[tuple[int, int]] = []
    for seq in range(1, count + 1):
        if seq in have:
            continue
        if ranges and ranges[-1][1] == seq - 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges
